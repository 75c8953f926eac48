"""Certificate authorities and the certificates they issue (trustme-style API).

`CA(kind=...)` (or `ServerCA()` / `DeviceCA()`) signs server certificates,
per-device client certificates and CSRs; `Certificate` is what it issues: the
leaf, the chain a server sends, the private key, `configure_cert(ctx)`.
The named server-certificate matrix is in harness/pki/variants.py.
No sockets here; files only when you ask (`write_to_path`, `configure_*`).
"""

from __future__ import annotations

import datetime as dt
import secrets
import ssl
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from harness.pki.blobs import Blob, PrivateKeyBlob
from harness.pki.der import resign_legacy
from harness.pki.keys import rsa_key
from harness.pki.subject import build_name, device_subject, generic_subject, name_to_dict

CA_KINDS = ("server", "device", "intermediate", "untrusted")
_DAY = dt.timedelta(days=1)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _key_pem(key: rsa.RSAPrivateKey) -> PrivateKeyBlob:
    return PrivateKeyBlob(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )


def _cert_pem(cert: x509.Certificate) -> Blob:
    return Blob(cert.public_bytes(serialization.Encoding.PEM))


class Certificate:
    """An issued certificate: the leaf, the chain a server sends, and its private key."""

    def __init__(
        self,
        cert: x509.Certificate,
        private_key: rsa.RSAPrivateKey | None,
        chain: Sequence[x509.Certificate] = (),
        *,
        variant: str | None = None,
        withheld: Sequence[x509.Certificate] = (),
    ) -> None:
        self.cert = cert
        self.private_key = private_key
        self.chain = tuple(chain)  # intermediates sent after the leaf
        self.withheld = tuple(withheld)  # intermediates that exist but are not sent
        self.variant = variant

    # -- PEM blobs ------------------------------------------------------------------
    @property
    def cert_pem(self) -> Blob:
        """The leaf certificate alone."""
        return _cert_pem(self.cert)

    @property
    def cert_chain_pems(self) -> list[Blob]:
        """The certificates a server sends: the leaf first, then intermediates."""
        return [_cert_pem(c) for c in (self.cert, *self.chain)]

    @property
    def chain_pem(self) -> Blob:
        """`cert_chain_pems` concatenated (what `ssl_certificate` / load_cert_chain take)."""
        return Blob(b"".join(b.bytes() for b in self.cert_chain_pems))

    @property
    def private_key_pem(self) -> PrivateKeyBlob:
        if self.private_key is None:
            raise ValueError("this certificate was issued from a CSR: its private key is not here")
        return _key_pem(self.private_key)

    @property
    def private_key_and_cert_chain_pem(self) -> PrivateKeyBlob:
        return self.private_key_pem + self.chain_pem  # type: ignore[return-value]

    # -- facts ----------------------------------------------------------------------
    @property
    def subject(self) -> dict[str, str]:
        return name_to_dict(self.cert.subject)

    @property
    def issuer(self) -> dict[str, str]:
        return name_to_dict(self.cert.issuer)

    @property
    def key_bits(self) -> int:
        return self.cert.public_key().key_size  # type: ignore[union-attr]

    # -- use ------------------------------------------------------------------------
    def write_to_path(
        self, cert_path: str | Path, key_path: str | Path | None = None
    ) -> tuple[Path, Path | None]:
        """Write the served chain to `cert_path` and the key (mode 0600) to `key_path`."""
        out_cert = self.chain_pem.write_to_path(cert_path)
        out_key = self.private_key_pem.write_to_path(key_path) if key_path is not None else None
        return out_cert, out_key

    def configure_cert(self, ctx: ssl.SSLContext) -> None:
        """Load this chain and key into an ssl context (server side or client side)."""
        with tempfile.TemporaryDirectory(prefix="harness-pki-") as tmp:
            cert_path, key_path = self.write_to_path(Path(tmp, "cert.pem"), Path(tmp, "key.pem"))
            ctx.load_cert_chain(str(cert_path), str(key_path))

    def __repr__(self) -> str:
        label = f" variant={self.variant}" if self.variant else ""
        return f"<Certificate {self.cert.subject.rfc4514_string()!r}{label}>"


class CA:
    """A certificate authority (root, or intermediate when `parent` is given)."""

    def __init__(
        self,
        kind: str = "server",
        *,
        name: str | None = None,
        parent: CA | None = None,
        key_bits: int = 2048,
        now: dt.datetime | None = None,
    ) -> None:
        if kind not in CA_KINDS:
            raise ValueError(f"CA kind {kind!r}: expected one of {CA_KINDS}")
        self.kind = kind
        self.parent = parent
        self.now = now
        self.private_key = rsa_key(f"ca-{kind}", key_bits)
        token = secrets.token_hex(4)
        self.name = name or f"harness {kind} CA {token}"
        subject = build_name({"O": "harness test PKI", "OU": f"{kind} CA", "CN": self.name})
        issuer_key = parent.private_key if parent else self.private_key
        issuer_name = parent.cert.subject if parent else subject
        start = self._now() - _DAY
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(self.private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + 3650 * _DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.private_key.public_key()),
                critical=False,
            )
        )
        if parent:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.private_key.public_key()),
                critical=False,
            )
        self.cert = builder.sign(issuer_key, hashes.SHA256())
        self._intermediate: CA | None = None

    def _now(self) -> dt.datetime:
        return self.now or (self.parent._now() if self.parent else _utcnow())

    # -- PEM ------------------------------------------------------------------------
    @property
    def cert_pem(self) -> Blob:
        return _cert_pem(self.cert)

    @property
    def private_key_pem(self) -> PrivateKeyBlob:
        return _key_pem(self.private_key)

    def configure_trust(self, ctx: ssl.SSLContext) -> None:
        """Make `ctx` trust certificates this CA (or its root) issued."""
        root = self
        while root.parent is not None:
            root = root.parent
        ctx.load_verify_locations(cadata=root.cert_pem.text())

    def create_child_ca(self) -> CA:
        """An intermediate CA signed by this one."""
        return CA("intermediate", parent=self, now=self.now)

    def intermediate(self) -> CA:
        """This CA's cached intermediate (made on first use)."""
        if self._intermediate is None:
            self._intermediate = self.create_child_ca()
        return self._intermediate

    def _chain(self) -> tuple[x509.Certificate, ...]:
        out: list[x509.Certificate] = []
        ca: CA | None = self
        while ca is not None and ca.parent is not None:
            out.append(ca.cert)
            ca = ca.parent
        return tuple(out)

    # -- issuing --------------------------------------------------------------------
    def issue(
        self,
        *,
        subject: Mapping[str, str] | x509.Name,
        san_dns: Sequence[str] = (),
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        key: rsa.RSAPrivateKey | None = None,
        key_bits: int = 2048,
        digest: str = "sha256",
        usage: str = "server",
        variant: str | None = None,
        public_key: rsa.RSAPublicKey | None = None,
    ) -> Certificate:
        """The general issuing call; the named helpers below are what tests use."""
        if public_key is None:
            key = key or rsa_key(f"leaf-{usage}", key_bits)
            public_key = key.public_key()
        start = not_before or self._now() - dt.timedelta(hours=1)
        end = not_after or start + 365 * _DAY
        name = subject if isinstance(subject, x509.Name) else build_name(subject)
        eku = (
            ExtendedKeyUsageOID.SERVER_AUTH
            if usage == "server"
            else ExtendedKeyUsageOID.CLIENT_AUTH
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.private_key.public_key()),
                critical=False,
            )
        )
        if san_dns:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(n) for n in san_dns]),
                critical=len(name) == 0,
            )
        cert = builder.sign(self.private_key, hashes.SHA256())
        if digest != "sha256":
            cert = resign_legacy(cert, self.private_key, digest)
        return Certificate(cert, key, self._chain(), variant=variant)

    def issue_cert(self, *identities: str, common_name: str | None = None) -> Certificate:
        """trustme's call: a server certificate with these DNS names in the SAN."""
        if not identities:
            raise ValueError("issue_cert needs at least one DNS name")
        return self.issue(subject={"CN": common_name or identities[0]}, san_dns=identities)

    def issue_client_cert(
        self, product: str, serial: str, mac: str, *, common_name: str | None = None
    ) -> Certificate:
        """A device's client certificate: OU=product, L=serial, ST=MAC (seed 000)."""
        subject = device_subject(product, serial, mac)
        if common_name:
            subject["CN"] = common_name
        return self.issue(subject=subject, usage="client")

    def generic_client_cert(self) -> Certificate:
        """The generic client certificate (OU=cisco.com, L=ciscogeneric, ST=ciscogeneric)."""
        return self.issue(subject=generic_subject(), usage="client")

    def sign_csr(
        self, csr_pem: bytes | str, *, days: int = 365, usage: str = "server"
    ) -> Certificate:
        """Sign a PEM CSR (as `openssl req -new` makes); copies its subject and SAN."""
        data = csr_pem.encode() if isinstance(csr_pem, str) else csr_pem
        try:
            csr = x509.load_pem_x509_csr(data)
        except ValueError as exc:
            raise ValueError(f"not a PEM certificate signing request: {exc}") from exc
        if not csr.is_signature_valid:
            raise ValueError("the CSR's self-signature does not verify: refusing to sign it")
        try:
            san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            san_dns = san.get_values_for_type(x509.DNSName)
        except x509.ExtensionNotFound:
            san_dns = []
        start = self._now() - dt.timedelta(hours=1)
        public_key = csr.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise ValueError("only RSA CSRs are supported (the phones of seed 000 use RSA)")
        return self.issue(
            subject=csr.subject,
            san_dns=san_dns,
            not_before=start,
            not_after=start + days * _DAY,
            public_key=public_key,
            usage=usage,
        )

    def __repr__(self) -> str:
        return f"<CA {self.kind} {self.name!r}>"


def ServerCA(**kwargs: object) -> CA:  # noqa: N802 - reads like a class, as in trustme
    """The CA whose certificate the phones carry to recognise provisioning servers."""
    return CA("server", **kwargs)  # type: ignore[arg-type]


def DeviceCA(**kwargs: object) -> CA:  # noqa: N802
    """The CA that signs the phones' client certificates."""
    return CA("device", **kwargs)  # type: ignore[arg-type]


_generic_ca: CA | None = None


def generic_client_cert(ca: CA | None = None) -> Certificate:
    """The generic client certificate, from `ca` or from a process-wide device CA."""
    global _generic_ca
    if ca is None:
        if _generic_ca is None:
            _generic_ca = DeviceCA()
        ca = _generic_ca
    return ca.generic_client_cert()
