"""The test PKI checked by OpenSSL itself: chains, the variant matrix, subjects, CSRs."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from harness.pki import (
    SERVER_CERT_VARIANTS,
    DeviceCA,
    ServerCA,
    generic_client_cert,
    subject_of,
)
from harness.pki.variants import build_server_cert

FQDN = "prov.example.test"


def openssl(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *args], capture_output=True, text=True, timeout=30, cwd=cwd, check=False
    )


@pytest.fixture(scope="module")
def server_ca():
    return ServerCA()


def verify(ca, cert, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    ca_path = ca.cert_pem.write_to_path(tmp_path / "ca.pem")
    leaf = cert.cert_pem.write_to_path(tmp_path / "leaf.pem")
    untrusted: list[str] = []
    if cert.chain:
        chain = tmp_path / "chain.pem"
        chain.write_bytes(b"".join(b.bytes() for b in cert.cert_chain_pems[1:]))
        untrusted = ["-untrusted", str(chain)]
    return openssl("verify", "-CAfile", str(ca_path), *untrusted, *extra, str(leaf))


# variant -> extra openssl verify options that make it fail (None: plain verify must pass)
REJECTED_BY = {
    "valid": None,
    "cn-suffix": ["-verify_hostname", FQDN],  # stock OpenSSL compares the whole CN
    "wrong-cn": ["-verify_hostname", FQDN],
    "san-only": None,
    "san-wrong": ["-verify_hostname", FQDN],
    "expired": [],
    "not-yet-valid": [],
    "self-signed": [],
    "untrusted-ca": [],
    "incomplete-chain": [],
    "rsa-512": ["-auth_level", "1"],
    "rsa-1024": ["-auth_level", "2"],
    "sha1": ["-auth_level", "2"],
    "md5": ["-auth_level", "1"],
}


def test_matrix_is_fully_covered_here():
    assert set(REJECTED_BY) == set(SERVER_CERT_VARIANTS)


@pytest.mark.parametrize("variant", list(SERVER_CERT_VARIANTS))
def test_openssl_verify_judges_each_variant(server_ca, variant, tmp_path):
    cert = build_server_cert(server_ca, FQDN, variant)
    assert cert.variant == variant
    extra = REJECTED_BY[variant]
    if extra is None:
        ok = verify(server_ca, cert, tmp_path, "-verify_hostname", FQDN)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        return
    bad = verify(server_ca, cert, tmp_path, *extra)
    assert bad.returncode != 0, f"{variant} accepted: {bad.stdout}"
    if extra:  # the certificate is otherwise sound: plain verify accepts it
        plain = verify(server_ca, cert, tmp_path)
        assert plain.returncode == 0, plain.stdout + plain.stderr


def test_variants_carry_the_named_defects(server_ca):
    def get(v):
        return build_server_cert(server_ca, FQDN, v)

    def sans(c):
        try:
            ext = c.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        except x509.ExtensionNotFound:
            return []
        return ext.value.get_values_for_type(x509.DNSName)

    assert get("valid").subject == {"CN": FQDN} and sans(get("valid")) == [FQDN]
    assert get("cn-suffix").subject["CN"] == f"{FQDN}/mailto:admin@example.test"
    assert sans(get("cn-suffix")) == []
    assert "CN" not in get("san-only").subject and sans(get("san-only")) == [FQDN]
    assert get("san-wrong").subject["CN"] == FQDN and sans(get("san-wrong")) != [FQDN]
    assert get("wrong-cn").subject["CN"] != FQDN
    assert get("rsa-512").key_bits == 512 and get("rsa-1024").key_bits == 1024
    assert get("sha1").cert.signature_hash_algorithm.name == "sha1"
    assert get("md5").cert.signature_hash_algorithm.name == "md5"
    inc = get("incomplete-chain")
    assert len(inc.cert_chain_pems) == 1 and len(inc.withheld) == 1
    assert inc.issuer["CN"] != server_ca.name
    assert get("untrusted-ca").issuer["CN"] != server_ca.name


def test_unknown_variant_is_a_clear_error(server_ca):
    with pytest.raises(ValueError, match="expected one of"):
        build_server_cert(server_ca, FQDN, "nonsense")


def test_incomplete_chain_verifies_once_the_intermediate_is_supplied(server_ca, tmp_path):
    cert = build_server_cert(server_ca, FQDN, "incomplete-chain")
    inter = tmp_path / "inter.pem"
    inter.write_bytes(b"".join(c.public_bytes(encoding_pem()) for c in cert.withheld))
    ca = server_ca.cert_pem.write_to_path(tmp_path / "ca.pem")
    leaf = cert.cert_pem.write_to_path(tmp_path / "leaf.pem")
    r = openssl("verify", "-CAfile", str(ca), "-untrusted", str(inter), str(leaf))
    assert r.returncode == 0, r.stdout + r.stderr


def encoding_pem():
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.PEM


def test_client_cert_subject_shown_by_openssl(tmp_path):
    ca = DeviceCA()
    cert = ca.issue_client_cert("CP-8831-3PCC", "88012BA01234", "000e08abcdef")
    path = cert.cert_pem.write_to_path(tmp_path / "dev.pem")
    out = openssl("x509", "-in", str(path), "-noout", "-subject", "-nameopt", "sep_comma_plus")
    assert out.returncode == 0, out.stderr
    fields = dict(
        part.split("=", 1) for part in out.stdout.strip().removeprefix("subject=").split(",")
    )
    assert fields == {"ST": "000e08abcdef", "L": "88012BA01234", "OU": "CP-8831-3PCC"}
    ca_path = ca.cert_pem.write_to_path(tmp_path / "dca.pem")
    r = openssl("verify", "-CAfile", str(ca_path), "-purpose", "sslclient", str(path))
    assert r.returncode == 0, r.stdout + r.stderr


def test_generic_client_cert():
    assert generic_client_cert().subject == {
        "OU": "cisco.com",
        "L": "ciscogeneric",
        "ST": "ciscogeneric",
    }


def test_private_keys_are_written_0600(server_ca, tmp_path):
    cert = build_server_cert(server_ca, FQDN)
    c, k = cert.write_to_path(tmp_path / "s.pem", tmp_path / "s.key")
    assert k is not None and (k.stat().st_mode & 0o777) == 0o600
    assert (
        server_ca.private_key_pem.write_to_path(tmp_path / "ca.key").stat().st_mode & 0o777
    ) == 0o600
    assert c.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")


def test_sign_csr_from_openssl_req(server_ca, tmp_path):
    r = openssl(
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={FQDN}",
        "-keyout", "key.pem", "-out", "req.csr", cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    cert = server_ca.sign_csr((tmp_path / "req.csr").read_bytes())
    assert subject_of(cert.cert_pem.bytes()) == {"CN": FQDN}
    leaf = cert.cert_pem.write_to_path(tmp_path / "signed.pem")
    ca = server_ca.cert_pem.write_to_path(tmp_path / "ca.pem")
    ok = openssl("verify", "-CAfile", str(ca), str(leaf))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # and the signed certificate matches the key openssl kept
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(leaf), str(tmp_path / "key.pem"))
    with pytest.raises(ValueError, match="issued from a CSR"):
        cert.private_key_pem  # noqa: B018  (the key stayed with whoever made the CSR)


def test_sign_csr_rejects_garbage(server_ca):
    with pytest.raises(ValueError, match="not a PEM certificate signing request"):
        server_ca.sign_csr(b"hello")


def test_configure_trust_and_cert_interoperate(server_ca):
    cert = build_server_cert(server_ca, FQDN)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(server)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    server_ca.configure_trust(client)
    assert client.cert_store_stats()["x509_ca"] == 1
