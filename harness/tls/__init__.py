"""harness.tls: sans-I/O TLS wire analysis (records, handshake, certificates, fingerprints).

Layout: tables.py (protocol facts as data), fields.py (bounds-checked reader + field kinds),
records.py (record layer, handshake reassembly), handshake.py (message layouts and parsers),
fingerprint.py (JA3, JA4), x509_summary.py (DER -> TlsCertificate), conversation.py (one
connection, both directions), server_chain.py (a captured server chain -> harness.pki
variant name), keylog.py (NSS key log files), decrypt.py (record decryption with a key
log). No sockets, no clock, no judgement of a device anywhere in here.
"""

from harness.tls.conversation import TlsConversation
from harness.tls.fields import TlsParseError
from harness.tls.fingerprint import ja3_hash, ja3_string, ja4
from harness.tls.handshake import ClientHello, ServerHello, parse_client_hello
from harness.tls.records import HandshakeReassembler, RecordStream
from harness.tls.tables import alert_name, version_name
from harness.tls.x509_summary import summarize_certificate

__all__ = [
    "ClientHello",
    "HandshakeReassembler",
    "RecordStream",
    "ServerHello",
    "TlsConversation",
    "TlsParseError",
    "alert_name",
    "ja3_hash",
    "ja3_string",
    "ja4",
    "parse_client_hello",
    "summarize_certificate",
    "version_name",
]
