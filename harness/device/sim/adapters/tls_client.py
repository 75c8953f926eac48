"""TLS for the simulated phone: the family's suites only, its own server-name checks.

`client_context(...)` builds an `ssl.SSLContext` that offers only the family's
cipher suites (chosen by number from what OpenSSL knows, `@SECLEVEL=0` for the
old ones), trusts only the given CA, presents the unit's client certificate and
does NOT run the stock hostname check: `check_server(...)` applies the spec's
CN rule (with the `/suffix` form), the SAN check where the family has it, and
the DNS match of the server address (TLS-DNS-MATCH). Quirks arrive as a
`Behaviour`. No provisioning logic here.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import tempfile
from collections.abc import Awaitable, Callable

from cryptography import x509
from cryptography.x509.oid import NameOID

from harness.device.sim.identity import Identity
from harness.device.sim.quirks import Behaviour
from harness.spec.cert_name import cn_matches_host
from harness.spec.ciphers import cipher_suite_name
from harness.spec.family import Family

_TLS_VERSION = {
    "SSL3.0": ssl.TLSVersion.SSLv3,
    "TLS1.0": ssl.TLSVersion.TLSv1,
    "TLS1.1": ssl.TLSVersion.TLSv1_1,
    "TLS1.2": ssl.TLSVersion.TLSv1_2,
    "TLS1.3": ssl.TLSVersion.TLSv1_3,
}


class TlsRejected(Exception):
    """The phone refuses the server (the message says which check failed)."""


def openssl_cipher_names(suites: frozenset[int], *, add_aead: bool = False) -> list[str]:
    """OpenSSL names of the TLS<=1.2 suites among `suites` this OpenSSL can offer."""
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    probe.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    names = []
    for c in probe.get_ciphers():
        if c["protocol"] == "TLSv1.3":
            continue
        number = c["id"] & 0xFFFF
        if number in suites or (add_aead and c.get("aead")):
            names.append(c["name"])
    return names


def check_negotiated(openssl_name: str | None, behaviour: Behaviour) -> None:
    """Raise TlsRejected when a quirk makes the phone give up on the negotiated suite."""
    fragment = behaviour.tls_abort_suite_name
    if not fragment or not openssl_name:
        return
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    probe.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    number = next(
        (c["id"] & 0xFFFF for c in probe.get_ciphers() if c["name"] == openssl_name), None
    )
    if number is not None and fragment in cipher_suite_name(number):
        raise TlsRejected(f"gave up after the server picked {cipher_suite_name(number)}")


def _load_chain(ctx: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    # ssl loads certificates from files only: write them to a private temp dir.
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = os.path.join(tmp, "c.pem"), os.path.join(tmp, "k.pem")
        with open(cert, "wb") as f:
            f.write(cert_pem)
        with open(key, "wb") as f:
            f.write(key_pem)
        ctx.load_cert_chain(cert, key)


def client_certificate(identity: Identity, behaviour: Behaviour) -> tuple[bytes, bytes] | None:
    """The (cert, key) PEMs the unit presents, or None."""
    generic = (identity.generic_cert_pem, identity.generic_key_pem)
    own = (identity.cert_pem, identity.key_pem)
    if behaviour.client_cert == "none":
        return None
    choice = own if behaviour.client_cert == "auto" and identity.has_individual_cert else generic
    return choice if choice[0] and choice[1] else None  # type: ignore[return-value]


def client_context(
    family: Family, identity: Identity, behaviour: Behaviour, ca_pem: bytes | None
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False  # the spec's own name check runs after the handshake
    names = openssl_cipher_names(family.cipher_suites, add_aead=behaviour.tls_offer_aead)
    if not names:
        raise ssl.SSLError(f"this OpenSSL offers none of {family.name}'s cipher suites")
    ctx.set_ciphers(":".join(names) + ":@SECLEVEL=0")
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    ctx.maximum_version = _TLS_VERSION[family.tls_max_version]
    if behaviour.tls_offer_aead and ctx.maximum_version < ssl.TLSVersion.TLSv1_2:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # AEAD suites exist from TLS 1.2 on
    if behaviour.tls_verify_ca and ca_pem:
        ctx.load_verify_locations(cadata=ca_pem.decode("ascii"))
        ctx.verify_mode = ssl.CERT_REQUIRED
    elif behaviour.tls_verify_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED  # no CA configured: nothing is trusted
    else:
        ctx.verify_mode = ssl.CERT_NONE
    chain = client_certificate(identity, behaviour)
    if chain:
        _load_chain(ctx, *chain)
    return ctx


def _cn(cert: x509.Certificate) -> str | None:
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else None


def _san_dns(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [n.lower() for n in ext.value.get_values_for_type(x509.DNSName)]


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def check_server(
    der: bytes | None,
    host: str,
    peer_ip: str,
    family: Family,
    behaviour: Behaviour,
    resolve_a: Callable[[str], Awaitable[tuple[str, ...]]] | None,
) -> None:
    """Raise TlsRejected unless the server certificate names `host` as the spec says."""
    if der is None:
        raise TlsRejected("the server sent no certificate")
    cert = x509.load_der_x509_certificate(der)
    cn = _cn(cert)
    suffix = (
        family.tls_cn_suffix_accepted
        if behaviour.tls_cn_suffix is None
        else (behaviour.tls_cn_suffix)
    )
    # A URL by address has no name to compare: the DNS match below names the server.
    if behaviour.tls_check_cn and not _is_address(host):
        san = _san_dns(cert)
        san_ok = family.tls_check_san and host.lower() in san
        if not cn_matches_host(cn, host, suffix_accepted=suffix) and not san_ok:
            raise TlsRejected(f"server certificate CN {cn!r} does not name {host}")
    dns_check = (
        family.tls_dns_ip_check
        if behaviour.tls_dns_ip_check is None
        else (behaviour.tls_dns_ip_check)
    )
    if dns_check and resolve_a is not None and cn:
        name = cn.split("/", 1)[0] if suffix else cn
        if name == peer_ip:
            return
        addresses = await resolve_a(name)
        if peer_ip not in addresses:
            raise TlsRejected(
                f"server address {peer_ip} is not among the DNS addresses of {name} "
                f"({', '.join(addresses) or 'none'})"
            )
