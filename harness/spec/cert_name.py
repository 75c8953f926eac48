"""The server-certificate name rule of seed 000 ("HTTPS Provisioning").

The subject CN must hold the server's FQDN, optionally followed by `/anything`
(`pv.telco.net/mailto:admin@telco.net` names `pv.telco.net`). Comparison is
case-insensitive, as DNS names are. Pure functions; no X.509 parsing here.
"""

from __future__ import annotations


def cn_host(cn: str, *, suffix_accepted: bool = True) -> str:
    """The host a CN names: the part before the first '/' when suffixes are accepted."""
    cn = cn.strip()
    if suffix_accepted and "/" in cn:
        cn = cn.split("/", 1)[0]
    return cn.rstrip(".").lower()


def cn_matches_host(cn: str | None, fqdn: str, *, suffix_accepted: bool = True) -> bool:
    """Whether a certificate whose subject CN is `cn` names the server `fqdn`."""
    if not cn:
        return False
    return cn_host(cn, suffix_accepted=suffix_accepted) == fqdn.rstrip(".").lower()
