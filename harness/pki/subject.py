"""Certificate subjects as flat dicts ({"CN": ..., "OU": ..., "L": ..., "ST": ...}).

Building an x509.Name from such a dict, reading one back from a certificate
(cryptography object, PEM/DER bytes, or the tuple form `ssl.getpeercert()`
returns), and the device client-certificate subject of seed 000 (its layout
read from harness/spec/data/certificates.toml). No keys or signing here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from harness.spec._data import load_data

# short name -> OID, in the order they are written into a Name
_OIDS: dict[str, x509.ObjectIdentifier] = {
    "C": NameOID.COUNTRY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "L": NameOID.LOCALITY_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "CN": NameOID.COMMON_NAME,
    "emailAddress": NameOID.EMAIL_ADDRESS,
}
_SHORT = {oid: short for short, oid in _OIDS.items()}
# long names used by ssl.getpeercert()
_PYSSL_NAMES = {
    "countryName": "C",
    "stateOrProvinceName": "ST",
    "localityName": "L",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "commonName": "CN",
    "emailAddress": "emailAddress",
}


def build_name(fields: Mapping[str, str]) -> x509.Name:
    """An x509.Name from short names (C, ST, L, O, OU, CN, emailAddress); 'S' means ST."""
    attrs = []
    for short, value in fields.items():
        key = "ST" if short == "S" else short
        if key not in _OIDS:
            raise ValueError(f"subject attribute {short!r}: expected one of {sorted(_OIDS)}")
        attrs.append(x509.NameAttribute(_OIDS[key], value))
    attrs.sort(key=lambda a: list(_OIDS.values()).index(a.oid))
    return x509.Name(attrs)


def name_to_dict(name: x509.Name) -> dict[str, str]:
    """{short name: value} of an x509.Name (unknown attributes by dotted OID)."""
    out: dict[str, str] = {}
    for attr in name:
        key = _SHORT.get(attr.oid, attr.oid.dotted_string)
        out[key] = attr.value if isinstance(attr.value, str) else attr.value.hex()
    return out


def subject_of(cert: x509.Certificate | bytes) -> dict[str, str]:
    """The subject of a certificate given as an object, PEM or DER."""
    if isinstance(cert, bytes):
        if cert.lstrip().startswith(b"-----BEGIN"):
            cert = x509.load_pem_x509_certificate(cert)
        else:
            cert = x509.load_der_x509_certificate(cert)
    return name_to_dict(cert.subject)


def peercert_subject(peercert: Mapping[str, Any]) -> dict[str, str]:
    """The subject of `ssl.SSLObject.getpeercert()`'s dict, with short names."""
    out: dict[str, str] = {}
    for rdn in peercert.get("subject", ()):
        for long_name, value in rdn:
            out[_PYSSL_NAMES.get(long_name, long_name)] = value
    return out


def device_subject(product: str, serial: str, mac: str) -> dict[str, str]:
    """Seed 000's client-certificate subject: OU=product, L=serial, ST(S)=MAC."""
    layout = load_data("certificates")["client_subject"]
    values = {"product": product, "serial": serial, "mac": mac}
    return {layout[k]: values[k] for k in ("product", "serial", "mac")}


def generic_subject() -> dict[str, str]:
    """The generic client certificate's subject (OU=cisco.com, L=ciscogeneric, ...)."""
    return dict(load_data("certificates")["generic_client_subject"])


def cn_suffix_form(fqdn: str) -> str:
    """The seed's accepted `FQDN/anything` CN for `fqdn` (e.g. `pv.telco.net/mailto:...`)."""
    domain = fqdn.split(".", 1)[1] if "." in fqdn else fqdn
    template: str = load_data("certificates")["server_cn"]["suffix_example"]
    return template.format(fqdn=fqdn, domain=domain)
