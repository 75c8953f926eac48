"""The catalog of named quirks: documented deviations of the reference phone from the spec.

A quirk is data: the requirement IDs it breaks (exactly the requirements that
fail over the whole conformance suite), the requirements it leaves unjudgeable
(`shifts`: pass -> inconclusive, each with its reason), a sentence saying what
the faulty firmware does, and the `Behaviour` fields it changes. The engine and the
adapters consult one `Behaviour` (built by `behaviour_for(names)`), never a
quirk name, so a deviation lives in exactly one field. No I/O and no spec
numbers here: a quirk changes *how* the phone reads the spec, not the spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

from harness.spec.status_table import Action


@dataclass(frozen=True, slots=True)
class Behaviour:
    """Every knob a quirk may turn; the defaults are the spec-following phone."""

    ua_identity: bool = True  # the UA carries the unit's serial (and MAC where the format has it)
    ua_wrong_product: bool = False  # the UA names another product than the unit's own
    # Table 3-1 row key ("404", "301", "3xx") -> the action taken instead of the row's
    status_overrides: MappingProxyType[str, Action] = field(
        default_factory=lambda: MappingProxyType({})
    )
    class_b_retry_delay: float | None = None  # seconds instead of Resync_Error_Retry_Delay
    # Table 3-1 row key ("404", "5xx", "timeout") -> seconds instead of Resync_Error_Retry_Delay
    row_retry_delay: MappingProxyType[str, float] = field(
        default_factory=lambda: MappingProxyType({})
    )
    auth_max_retries: int | None = None  # None: the row's max_retries
    tls_verify_ca: bool = True
    tls_check_cn: bool = True
    tls_cn_suffix: bool | None = None  # None: the family's cn_suffix_accepted
    tls_dns_ip_check: bool | None = None  # None: the family's dns_ip_check
    tls_offer_aead: bool = False  # also offer AEAD (GCM) suites outside the family set
    # a fragment of IANA suite names: the phone offers those suites but aborts the handshake
    # (closes before its request) when the server picks one ("" = none)
    tls_abort_suite_name: str = ""
    client_cert: str = "auto"  # auto (individual, else generic) | none | generic
    # what `$CCERT` expands to (with, without an individual certificate); None: the spec's words
    ccert_values: tuple[str, str] | None = None
    dns_srv_lookup: bool = False
    dns_failover: bool = True
    syslog_enabled: bool = True
    syslog_expand_macros: bool = True
    upgrade_https_allowed: bool | None = None  # None: the family's upgrade_https_allowed
    resync_during_call: bool = False
    aes_wrong_kdf: bool = False  # derive the AES key with the other digest
    gzip_supported: bool = True
    post_as_get: bool = False
    get_as_post: bool = False  # a rule without `--post` is fetched with POST (empty body)
    chunked_supported: bool = True
    periodic_resync: bool = True
    powerup_resync: bool = True
    keep_profile_rule: bool = False  # fetched profiles may not change the Profile_Rule* values
    upgrade_last_alternative: bool = False  # Upgrade_Rule: take its last alternative, no conditions
    dhcp_option_66: bool = True  # a rule with no server uses the DHCP option 66 TFTP server
    factory_profile_rule: str | None = None  # a wrong factory Profile_Rule (None: the family's)
    upgrade_tftp_allowed: bool = True  # firmware may come over TFTP
    profile_rules: tuple[str, ...] = (
        "Profile_Rule",
        "Profile_Rule_B",
        "Profile_Rule_C",
        "Profile_Rule_D",
    )


@dataclass(frozen=True, slots=True)
class Quirk:
    name: str
    breaks: tuple[str, ...]  # requirement IDs (harness.spec.catalog) this quirk makes fail
    doc: str
    changes: MappingProxyType[str, Any]
    # requirement ID -> why it can no longer be judged: the requirements the clean phone
    # passes that turn inconclusive (or skipped) under this quirk, over the whole suite
    shifts: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))


def _q(
    name: str,
    breaks: tuple[str, ...],
    doc: str,
    *,
    shifts: dict[str, str] | None = None,
    **changes: Any,
) -> Quirk:
    return Quirk(name, breaks, doc, MappingProxyType(changes), MappingProxyType(shifts or {}))


def _over(**rows: Action) -> MappingProxyType[str, Action]:
    return MappingProxyType({k.removeprefix("s"): v for k, v in rows.items()})


QUIRKS: dict[str, Quirk] = {
    q.name: q
    for q in (
        _q(
            "ua-missing-serial",
            ("UA-FORMAT", "TLS-GENERIC-CERT"),
            "The User-Agent leaves out the unit's serial (and MAC): `cisco/CP-8831-3PCC ()`. "
            "A unit presenting the generic certificate is known by its User-Agent only, so "
            "TLS-GENERIC-CERT fails too.",
            shifts={
                "UA-IDENTITY": "a User-Agent without the serial is not in the family format: "
                "there is no identity in it to compare",
            },
            ua_identity=False,
        ),
        _q(
            "ua-wrong-product",
            ("UA-IDENTITY",),
            "The User-Agent names a product other than the unit's own.",
            ua_wrong_product=True,
        ),
        _q(
            "retry-404-too-soon",
            ("HTTP-404",),
            "After a 404 (class B) the phone comes back after 10 s, not Resync_Error_Retry_Delay.",
            row_retry_delay=MappingProxyType({"404": 10.0}),
        ),
        _q(
            "treat-404-as-success",
            ("HTTP-404",),
            "A 404 is taken as success (class A): the next try waits Resync_Periodic.",
            status_overrides=_over(s404=Action.A),
        ),
        _q(
            "ignore-redirect",
            ("HTTP-301", "HTTP-302"),
            "301/302 are not followed; they are failures (class C).",
            status_overrides=_over(s301=Action.C, s302=Action.C),
        ),
        _q(
            "auth-retry-forever",
            ("HTTP-401", "HTTP-407"),
            "A 401/407 is answered with credentials again and again (50 times), not at most twice.",
            auth_max_retries=50,
        ),
        _q(
            "no-auth-retry",
            ("HTTP-401", "HTTP-407"),
            "A 401/407 is never answered with credentials: it is class C at once.",
            auth_max_retries=0,
        ),
        _q(
            "accept-wrong-cn",
            ("TLS-SERVER-CN",),
            "The server certificate's CN is not compared with the server name.",
            tls_check_cn=False,
        ),
        _q(
            "reject-cn-suffix",
            ("TLS-CN-SUFFIX",),
            "A CN of the form `FQDN/anything` is compared whole, so it never matches.",
            tls_cn_suffix=False,
        ),
        _q(
            "accept-self-signed",
            ("TLS-SERVER-CA",),
            "The server certificate chain is not verified: self-signed and unknown CAs pass.",
            tls_verify_ca=False,
        ),
        _q(
            "skip-dns-ip-check",
            ("TLS-DNS-MATCH",),
            "The server address is not checked against a DNS lookup of the certificate's name.",
            tls_dns_ip_check=False,
        ),
        _q(
            "offer-gcm-suites",
            ("TLS-CIPHERS",),
            "The ClientHello also offers AES-GCM suites, which are not in the family's set.",
            tls_offer_aead=True,
        ),
        _q(
            "no-client-cert",
            ("TLS-CLIENT-CERT", "TLS-GENERIC-CERT"),
            "No client certificate is presented, even when the server asks for one.",
            client_cert="none",
        ),
        _q(
            "generic-cert-always",
            ("TLS-CLIENT-CERT",),
            "The generic certificate is presented although the unit has an individual one.",
            client_cert="generic",
        ),
        _q(
            "srv-lookup",
            ("DNS-A-ONLY",),
            "The provisioning server's name is first looked up as SRV (`_http._tcp.name`).",
            dns_srv_lookup=True,
        ),
        _q(
            "no-failover",
            ("DNS-FAILOVER",),
            "Only the first A record is tried; when it does not answer the resync fails.",
            dns_failover=False,
        ),
        _q(
            "silent-syslog",
            ("SYSLOG-REQUEST", "SYSLOG-RESULT", "DNS-ALL-DOWN"),
            "No syslog message is sent, whatever the templates say.",
            shifts={"SYSLOG-MACROS": "no syslog message to judge"},
            syslog_enabled=False,
        ),
        _q(
            "syslog-no-macros",
            ("SYSLOG-MACROS",),
            "The syslog templates are sent as written, macros not expanded.",
            syslog_expand_macros=False,
        ),
        _q(
            "https-firmware",
            ("UPGRADE-PROTO",),
            "Firmware is fetched over HTTPS even where the family forbids it.",
            upgrade_https_allowed=True,
        ),
        _q(
            "resync-during-call",
            ("RESYNC-IDLE",),
            "A due resync runs at once, even during a call.",
            resync_during_call=True,
        ),
        _q(
            "aes-wrong-kdf",
            ("PROFILE-AES",),
            "The AES key is derived with the other digest (MD5 vs SHA-256): profiles are corrupt.",
            aes_wrong_kdf=True,
        ),
        _q(
            "ignore-gzip",
            ("PROFILE-GZIP",),
            "A gzip-compressed profile is not recognised: it is corrupt (class B).",
            gzip_supported=False,
        ),
        _q(
            "post-as-get",
            ("HTTP-POST",),
            "A `[--post x]` rule is fetched with GET and no body.",
            post_as_get=True,
        ),
        _q(
            "get-as-post",
            ("HTTP-GET",),
            "A plain rule (no `[--post x]`) is fetched with POST and an empty body.",
            shifts={
                "RESYNC-PERIODIC": "the lab server answers GET only, so no resync succeeds "
                "and there is no period to time",
                "UPGRADE-PROTO": "no resync succeeds, so no Upgrade_Rule is reached and no "
                "firmware is requested",
                "UPGRADE-MULTISTAGE": "no resync succeeds, so no firmware stage is requested",
            },
            get_as_post=True,
        ),
        _q(
            "no-chunked",
            ("HTTP-VERSIONS",),
            "Chunked transfer encoding is not decoded: the chunk framing is taken as the profile.",
            chunked_supported=False,
        ),
        _q(
            "no-periodic-resync",
            ("RESYNC-PERIODIC",),
            "After a success no periodic resync is scheduled.",
            shifts={
                "HTTP-200": "a class-A success is judged by the next attempt, Resync_Periodic "
                "later; there is none",
                "HTTP-VERSIONS": "the HTTP/1.0 and chunked answers are class-A successes judged "
                "by the next attempt; there is none",
                "PROFILE-AES": "the decrypted profile is a class-A success judged by the next "
                "attempt; there is none",
                "PROFILE-GZIP": "the decompressed profile is a class-A success judged by the "
                "next attempt; there is none",
                "RESYNC-IDLE": "no resync falls due during the calls",
                "REDIRECT-PREPROV": "no resync after the preprovisioning profile, so no "
                "Profile_Rule is used, right or wrong",
            },
            periodic_resync=False,
        ),
        _q(
            "no-powerup-resync",
            ("RESYNC-POWERUP",),
            "No resync at power-up, whatever Resync_On_Reset says.",
            shifts={
                "TFTP-DHCP66": "the factory phone makes no request at all in the factory-TFTP "
                "scenario",
                "TFTP-DEFAULT-RULE": "the factory phone makes no request at all in the "
                "factory-TFTP scenario",
            },
            powerup_resync=False,
        ),
        _q(
            "ignore-profile-rule-b",
            ("REDIRECT-PREPROV",),
            "Profile_Rule_B, _C and _D are never fetched; only Profile_Rule is.",
            profile_rules=("Profile_Rule",),
        ),
        _q(
            "keep-profile-rule",
            ("REDIRECT-PREPROV",),
            "A Profile_Rule set by a fetched profile is ignored: the factory rule stays.",
            keep_profile_rule=True,
        ),
        _q(
            "follow-any-redirect",
            ("HTTP-3XX",),
            "Every 3xx with a Location is followed at once, not only 301/302 (which Table 3-1 "
            "allows); the other 3xx are not treated as class C.",
            status_overrides=_over(s3xx=Action.REDIRECT_NOW),
        ),
        _q(
            "treat-4xx-as-success",
            ("HTTP-400", "HTTP-403", "HTTP-4XX"),
            "A 400, 403 or other unhandled 4xx is taken as success (class A), not class C.",
            status_overrides=_over(s400=Action.A, s403=Action.A, s4xx=Action.A),
        ),
        _q(
            "retry-5xx-immediately",
            ("HTTP-500", "HTTP-501", "HTTP-502", "HTTP-503", "HTTP-504", "HTTP-5XX"),
            "After a 5xx the phone comes back at once, not after Resync_Error_Retry_Delay.",
            row_retry_delay=MappingProxyType(
                {k: 0.0 for k in ("500", "501", "502", "503", "504", "5xx")}
            ),
        ),
        _q(
            "treat-2xx-as-success",
            ("HTTP-200",),
            "Any 2xx (201, 204...) is taken as success (class A); only a 200 with a profile is.",
            status_overrides=_over(s2xx=Action.A),
        ),
        _q(
            "accept-corrupt-profile",
            ("HTTP-CORRUPT",),
            "A 200 whose body is not a valid profile is taken as success (class A), not class B.",
            status_overrides=MappingProxyType({"corrupt": Action.A}),
        ),
        _q(
            "retry-unreachable-too-soon",
            ("HTTP-CONNERR", "HTTP-TIMEOUT"),
            "After a connection error or a timeout the phone comes back after 10 s, not after "
            "Resync_Error_Retry_Delay.",
            row_retry_delay=MappingProxyType({"connection-error": 10.0, "timeout": 10.0}),
        ),
        _q(
            "broken-aes128-cbc",
            ("TLS-NEGOTIATE",),
            "AES-128-CBC suites are offered, but when the server picks one the phone closes "
            "the connection after the handshake, before sending its request.",
            tls_abort_suite_name="_WITH_AES_128_CBC_",
        ),
        _q(
            "ccert-yes-no",
            ("MACRO-CCERT",),
            "`$CCERT` expands to `yes` / `no` instead of `Installed` / `Not Installed`.",
            ccert_values=("yes", "no"),
        ),
        _q(
            "upgrade-skip-stages",
            ("UPGRADE-MULTISTAGE",),
            "The Upgrade_Rule's $SWVER conditions are ignored: the last alternative (the final "
            "release) is fetched at once, skipping the intermediate stages.",
            upgrade_last_alternative=True,
        ),
        _q(
            "tftp-ignore-option-66",
            ("TFTP-DHCP66",),
            "The TFTP server from DHCP option 66 is ignored: a rule with no server fails.",
            shifts={
                "TFTP-DEFAULT-RULE": "the factory rule names no server, so the phone makes no "
                "request to compare",
                "REDIRECT-PREPROV": "the preprovisioning profile sits behind a rule with no "
                "server: it is never fetched",
            },
            dhcp_option_66=False,
        ),
        _q(
            "wrong-default-rule",
            ("TFTP-DEFAULT-RULE",),
            "The factory Profile_Rule is the literal `/device.cfg`, not `/<product>.cfg`.",
            shifts={
                "REDIRECT-PREPROV": "the factory rule asks for /device.cfg, so the "
                "preprovisioning profile (/<product>.cfg) is never fetched",
            },
            factory_profile_rule="/device.cfg",
        ),
        _q(
            "no-tftp-upgrade",
            ("TFTP-RESYNC",),
            "Firmware is never fetched over TFTP: an Upgrade_Rule naming TFTP fails at once.",
            upgrade_tftp_allowed=False,
        ),
    )
}


class QuirkError(ValueError):
    """An unknown quirk name."""


def quirk(name: str) -> Quirk:
    try:
        return QUIRKS[name]
    except KeyError:
        known = ", ".join(sorted(QUIRKS))
        raise QuirkError(f"unknown quirk {name!r} (known: {known})") from None


def behaviour_for(names: tuple[str, ...] | list[str] = ()) -> Behaviour:
    """The Behaviour of a phone with these quirks (later quirks win on the same field)."""
    behaviour = Behaviour()
    known = {f.name for f in fields(Behaviour)}
    for name in names:
        q = quirk(name)
        unknown = set(q.changes) - known
        if unknown:  # a catalog bug, caught by the tests
            raise QuirkError(f"quirk {name!r} changes unknown fields {sorted(unknown)}")
        behaviour = replace(behaviour, **dict(q.changes))
    return behaviour
