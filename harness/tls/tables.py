"""TLS protocol facts as data: versions, record/handshake types, alerts, extensions, sigalgs.

These are protocol facts (IANA registries, RFC 5246 / 8446), not provisioning-spec facts;
cipher-suite names and GREASE/signalling detection live in `harness.spec.ciphers`.
Only tables and tiny lookups here: no parsing, no I/O.
"""

from __future__ import annotations

from harness.spec.ciphers import is_grease

# All 16-bit GREASE values, derived once from the spec's rule (both bytes equal, 0x?a).
GREASE_VALUES: frozenset[int] = frozenset(b * 0x101 for b in range(256) if is_grease(b * 0x101))

VERSION_NAMES: dict[int, str] = {
    0x0002: "SSL2.0",
    0x0300: "SSL3.0",
    0x0301: "TLS1.0",
    0x0302: "TLS1.1",
    0x0303: "TLS1.2",
    0x0304: "TLS1.3",
    0xFEFF: "DTLS1.0",
    0xFEFD: "DTLS1.2",
    0xFEFC: "DTLS1.3",
}

# Versions a legacy_version field implies (highest first): a client that sends 0x0303
# without supported_versions offers TLS 1.2 and, as far as the wire shows, 1.1 and 1.0.
LEGACY_VERSION_LADDER: tuple[int, ...] = (0x0303, 0x0302, 0x0301)

# JA4's two-character version codes.
JA4_VERSION_CODES: dict[int, str] = {
    0x0304: "13",
    0x0303: "12",
    0x0302: "11",
    0x0301: "10",
    0x0300: "s3",
    0x0002: "s2",
    0xFEFF: "d1",
    0xFEFD: "d2",
    0xFEFC: "d3",
}

# Record-layer content types (RFC 8446 section 5.1, RFC 6520).
CHANGE_CIPHER_SPEC = 20
ALERT = 21
HANDSHAKE = 22
APPLICATION_DATA = 23
HEARTBEAT = 24
CONTENT_TYPES: dict[int, str] = {
    CHANGE_CIPHER_SPEC: "change_cipher_spec",
    ALERT: "alert",
    HANDSHAKE: "handshake",
    APPLICATION_DATA: "application_data",
    HEARTBEAT: "heartbeat",
}
SSL2_CLIENT_HELLO = 0x80  # pseudo content type for an SSLv2-compatible ClientHello record

MAX_RECORD_LENGTH = (1 << 14) + 2048  # TLSCiphertext limit (RFC 5246 section 6.2.3)

# Handshake message types (RFC 8446 section 4, RFC 5246 section 7.4).
CLIENT_HELLO = 1
SERVER_HELLO = 2
NEW_SESSION_TICKET = 4
CERTIFICATE = 11
CERTIFICATE_REQUEST = 13
HANDSHAKE_TYPES: dict[int, str] = {
    0: "hello_request",
    CLIENT_HELLO: "client_hello",
    SERVER_HELLO: "server_hello",
    3: "hello_verify_request",
    NEW_SESSION_TICKET: "new_session_ticket",
    5: "end_of_early_data",
    8: "encrypted_extensions",
    CERTIFICATE: "certificate",
    12: "server_key_exchange",
    CERTIFICATE_REQUEST: "certificate_request",
    14: "server_hello_done",
    15: "certificate_verify",
    16: "client_key_exchange",
    20: "finished",
    22: "certificate_status",
    24: "key_update",
    254: "message_hash",
}

# ServerHello.random of a HelloRetryRequest (RFC 8446 section 4.1.3).
HELLO_RETRY_REQUEST_RANDOM = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
)

ALERT_LEVELS: dict[int, str] = {1: "warning", 2: "fatal"}
ALERT_DESCRIPTIONS: dict[int, str] = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    21: "decryption_failed",
    22: "record_overflow",
    30: "decompression_failure",
    40: "handshake_failure",
    41: "no_certificate",
    42: "bad_certificate",
    43: "unsupported_certificate",
    44: "certificate_revoked",
    45: "certificate_expired",
    46: "certificate_unknown",
    47: "illegal_parameter",
    48: "unknown_ca",
    49: "access_denied",
    50: "decode_error",
    51: "decrypt_error",
    60: "export_restriction",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    100: "no_renegotiation",
    109: "missing_extension",
    110: "unsupported_extension",
    111: "certificate_unobtainable",
    112: "unrecognized_name",
    113: "bad_certificate_status_response",
    114: "bad_certificate_hash_value",
    115: "unknown_psk_identity",
    116: "certificate_required",
    120: "no_application_protocol",
}

EXTENSION_NAMES: dict[int, str] = {
    0x0000: "server_name",
    0x0001: "max_fragment_length",
    0x0005: "status_request",
    0x000A: "supported_groups",
    0x000B: "ec_point_formats",
    0x000D: "signature_algorithms",
    0x000F: "heartbeat",
    0x0010: "application_layer_protocol_negotiation",
    0x0012: "signed_certificate_timestamp",
    0x0015: "padding",
    0x0016: "encrypt_then_mac",
    0x0017: "extended_master_secret",
    0x001B: "compress_certificate",
    0x001C: "record_size_limit",
    0x0023: "session_ticket",
    0x0029: "pre_shared_key",
    0x002A: "early_data",
    0x002B: "supported_versions",
    0x002D: "psk_key_exchange_modes",
    0x0031: "post_handshake_auth",
    0x0032: "signature_algorithms_cert",
    0x0033: "key_share",
    0xFF01: "renegotiation_info",
}
EXT_SERVER_NAME = 0x0000
EXT_ALPN = 0x0010

SIGNATURE_ALGORITHMS: dict[int, str] = {
    0x0201: "rsa_pkcs1_sha1",
    0x0203: "ecdsa_sha1",
    0x0303: "ecdsa_sha224",
    0x0301: "rsa_pkcs1_sha224",
    0x0401: "rsa_pkcs1_sha256",
    0x0403: "ecdsa_secp256r1_sha256",
    0x0501: "rsa_pkcs1_sha384",
    0x0503: "ecdsa_secp384r1_sha384",
    0x0601: "rsa_pkcs1_sha512",
    0x0603: "ecdsa_secp521r1_sha512",
    0x0804: "rsa_pss_rsae_sha256",
    0x0805: "rsa_pss_rsae_sha384",
    0x0806: "rsa_pss_rsae_sha512",
    0x0807: "ed25519",
    0x0808: "ed448",
    0x0809: "rsa_pss_pss_sha256",
    0x080A: "rsa_pss_pss_sha384",
    0x080B: "rsa_pss_pss_sha512",
}

# TLS 1.3 suites: (hash length, AEAD tag length), for sizing encrypted Finished records.
TLS13_SUITE_SIZES: dict[int, tuple[int, int]] = {
    0x1301: (32, 16),
    0x1302: (48, 16),
    0x1303: (32, 16),
    0x1304: (32, 16),
    0x1305: (32, 8),
}


def version_name(version: int) -> str:
    """`TLS1.2`, `SSL3.0`, `TLS1.3-draft28`, `GREASE`, or `0x1234` for unknown values."""
    name = VERSION_NAMES.get(version)
    if name:
        return name
    if is_grease(version):
        return "GREASE"
    if version >> 8 == 0x7F:
        return f"TLS1.3-draft{version & 0xFF}"
    return f"0x{version:04x}"


def alert_name(description: int) -> str:
    """The RFC name of an alert description, or `alert_<n>` when unassigned."""
    return ALERT_DESCRIPTIONS.get(description, f"alert_{description}")


def extension_name(ext_type: int) -> str:
    if is_grease(ext_type):
        return f"GREASE_0x{ext_type:04x}"
    return EXTENSION_NAMES.get(ext_type, f"0x{ext_type:04x}")


def signature_algorithm_name(value: int) -> str:
    if is_grease(value):
        return f"GREASE_0x{value:04x}"
    return SIGNATURE_ALGORITHMS.get(value, f"0x{value:04x}")


def handshake_type_name(msg_type: int) -> str:
    return HANDSHAKE_TYPES.get(msg_type, f"handshake_{msg_type}")


# Record protection of the suites the decryptor knows (RFC 5246, 5288, 7905, 8446):
# suite -> (cipher kind, key length, MAC hash or "" for AEAD, PRF / HKDF hash).
# Kinds: "cbc" (AES-CBC), "rc4", "gcm" (AES-GCM), "chacha" (ChaCha20-Poly1305).
RECORD_CIPHERS: dict[int, tuple[str, int, str, str]] = {
    0x0004: ("rc4", 16, "md5", "sha256"),
    0x0005: ("rc4", 16, "sha1", "sha256"),
    0x002F: ("cbc", 16, "sha1", "sha256"),
    0x0033: ("cbc", 16, "sha1", "sha256"),
    0x0035: ("cbc", 32, "sha1", "sha256"),
    0x0039: ("cbc", 32, "sha1", "sha256"),
    0x003C: ("cbc", 16, "sha256", "sha256"),
    0x003D: ("cbc", 32, "sha256", "sha256"),
    0x0067: ("cbc", 16, "sha256", "sha256"),
    0x006B: ("cbc", 32, "sha256", "sha256"),
    0xC009: ("cbc", 16, "sha1", "sha256"),
    0xC00A: ("cbc", 32, "sha1", "sha256"),
    0xC013: ("cbc", 16, "sha1", "sha256"),
    0xC014: ("cbc", 32, "sha1", "sha256"),
    0xC023: ("cbc", 16, "sha256", "sha256"),
    0xC024: ("cbc", 32, "sha384", "sha384"),
    0xC027: ("cbc", 16, "sha256", "sha256"),
    0xC028: ("cbc", 32, "sha384", "sha384"),
    0x009C: ("gcm", 16, "", "sha256"),
    0x009D: ("gcm", 32, "", "sha384"),
    0x009E: ("gcm", 16, "", "sha256"),
    0x009F: ("gcm", 32, "", "sha384"),
    0xC02B: ("gcm", 16, "", "sha256"),
    0xC02C: ("gcm", 32, "", "sha384"),
    0xC02F: ("gcm", 16, "", "sha256"),
    0xC030: ("gcm", 32, "", "sha384"),
    0xCCA8: ("chacha", 32, "", "sha256"),
    0xCCA9: ("chacha", 32, "", "sha256"),
    0xCCAA: ("chacha", 32, "", "sha256"),
    0x1301: ("gcm", 16, "", "sha256"),
    0x1302: ("gcm", 32, "", "sha384"),
    0x1303: ("chacha", 32, "", "sha256"),
}
EXT_ENCRYPT_THEN_MAC = 0x0016
FINISHED = 20
