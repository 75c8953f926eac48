"""harness.pki: a test PKI for provisioning servers and phones (trustme-style).

    ca = ServerCA()
    cert = build_server_cert(ca, "prov.example.test", variant="wrong-cn")  # variants.py
    cert.configure_cert(server_ctx); ca.configure_trust(client_ctx)
    dev = DeviceCA().issue_client_cert("CP-8831-3PCC", "88012BA01234", "000e08abcdef")

The server-certificate matrix is `SERVER_CERT_VARIANTS`. No sockets here.
"""

from harness.pki.blobs import Blob, PrivateKeyBlob
from harness.pki.ca import CA, Certificate, DeviceCA, ServerCA, generic_client_cert
from harness.pki.subject import name_to_dict, peercert_subject, subject_of
from harness.pki.variants import SERVER_CERT_VARIANTS, build_server_cert, other_host

__all__ = [
    "CA",
    "SERVER_CERT_VARIANTS",
    "Blob",
    "Certificate",
    "DeviceCA",
    "PrivateKeyBlob",
    "ServerCA",
    "build_server_cert",
    "generic_client_cert",
    "name_to_dict",
    "other_host",
    "peercert_subject",
    "subject_of",
]
