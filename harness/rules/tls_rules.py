"""Rules on a device's TLS: cipher suites, server-certificate checks, client certificates, $CCERT.

TLS-CIPHERS, TLS-NEGOTIATE, TLS-SERVER-CA, TLS-SERVER-CN, TLS-CN-SUFFIX,
TLS-DNS-MATCH, TLS-CLIENT-CERT, TLS-GENERIC-CERT, MACRO-CCERT. They judge
`TlsHandshake` records (the live HTTPS endpoint and the pcap analyzer make the
same ones) and the `HttpExchange`s of the same connection (MACRO-CCERT: every
HTTP request and TFTP read: a profile rule without a scheme is fetched over TFTP),
plus facts a scenario sets (`served_variant`, `tls_expectation`, `dns_answer_for_cert_name`,
`suite_offer_verdicts`, `individual_cert`). "The device rejected the
certificate" means: no application data and no HTTP request on that
connection (an alert or a close before them). On a capture the variant comes
from classifying the chain on the wire (harness.tls.server_chain, through
harness.analyze.tls); without trust anchors the issuer of a chain is unknown,
so refusing a name-right certificate is neither a pass nor a fail (unless the device
accepted the same certificate from the same server on another connection: then it
trusts its issuer), and a suite whose only handshakes were such refusals leaves
TLS-NEGOTIATE inconclusive, never a pass. Spec facts come from
harness.spec; which certificate variant a spec-following phone must accept is
the harness's reading of the spec and lives here. No I/O here.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from harness.observe.events import DnsQuery, HttpExchange, TftpTransfer, TlsHandshake
from harness.observe.timeline import DeviceTimeline
from harness.rules import identity
from harness.rules.finding import Finding, Verdict
from harness.rules.registry import RuleContext, finding, rule
from harness.spec._data import load_data
from harness.spec.cert_name import cn_host
from harness.spec.ciphers import cipher_suite_name, real_suites
from harness.spec.user_agent import parse_user_agent

ACCEPT, REJECT = "accept", "reject"

# What a spec-following phone does with each server-certificate variant (harness.pki names),
# per requirement; the variants in KEY_VARIANTS are what the requirement is about (the
# others are controls: a phone that refuses everything must not pass).
CERT_EXPECTATIONS: dict[str, dict[str, str]] = {
    "TLS-SERVER-CA": {"self-signed": REJECT, "untrusted-ca": REJECT, "valid": ACCEPT},
    "TLS-SERVER-CN": {"wrong-cn": REJECT, "valid": ACCEPT},
    "TLS-CN-SUFFIX": {"cn-suffix": ACCEPT},
}
KEY_VARIANTS: dict[str, frozenset[str]] = {
    "TLS-SERVER-CA": frozenset({"self-signed", "untrusted-ca"}),
    "TLS-SERVER-CN": frozenset({"wrong-cn"}),
    "TLS-CN-SUFFIX": frozenset({"cn-suffix"}),
}
# Variants whose names are right (so a DNS-match verdict is about the DNS check alone).
NAME_RIGHT_VARIANTS = frozenset({"valid", "cn-suffix"})
NO_TRUST = (
    "and without --trust-ca the harness cannot tell whether its issuer is one the device trusts"
)

_MACRO = re.compile(
    r"\$\((?P<p>[A-Za-z_][A-Za-z0-9_]*)(?::\d+(?::\d+)?)?\)|\$(?P<n>[A-Z][A-Z0-9_]*)"
)
_PROFILE_RULES = ("Profile_Rule", "Profile_Rule_B", "Profile_Rule_C", "Profile_Rule_D")
# what stands before an alternative's URL: `(condition)?`, `(assignments)!`, then `[options]`
_ALTERNATIVE_HEAD = re.compile(r"^\s*(?:\([^)]*\)\?)?\s*(?:\([^)]*\)!)?\s*")
_OPTIONS = re.compile(r"\[([^\]]*)\]\s*")


# -- spec data -------------------------------------------------------------------------
def _client_subject_layout() -> dict[str, str]:
    return dict(load_data("certificates")["client_subject"])  # product/serial/mac -> attribute


def _generic_subject() -> dict[str, str]:
    return dict(load_data("certificates")["generic_client_subject"])


def _ccert_words() -> tuple[str, str]:
    macros = load_data("profile_rule")["macros"]
    return macros["ccert_installed"], macros["ccert_not_installed"]


# -- shared helpers ----------------------------------------------------------------------
def suites_text(values: tuple[int, ...] | list[int]) -> str:
    return ", ".join(cipher_suite_name(v) for v in values) or "none"


def _suite_involved(hs: TlsHandshake) -> str:
    if hs.chosen_cipher_suite is not None:
        offered = len(real_suites(hs.offered_cipher_suites))
        return f"suite {cipher_suite_name(hs.chosen_cipher_suite)} (of {offered} offered)"
    return f"no suite chosen; offered {suites_text(real_suites(hs.offered_cipher_suites))}"


def connection_requests(hs: TlsHandshake, timeline: DeviceTimeline) -> list[HttpExchange]:
    """The HTTPS requests made on the handshake's connection (same client and server address)."""
    if hs.client is None:
        return []
    return [
        x
        for x in timeline.of(HttpExchange)
        if x.scheme == "https"
        and x.client is not None
        and tuple(x.client) == tuple(hs.client)
        and (hs.server is None or x.server is None or tuple(x.server) == tuple(hs.server))
    ]


def connection_outcome(hs: TlsHandshake, timeline: DeviceTimeline) -> tuple[str | None, str]:
    """(ACCEPT | REJECT | None, what happened): None when the device never judged the server."""
    requests = connection_requests(hs, timeline)
    if requests or hs.application_data:
        what = f"sent {requests[0].method} {requests[0].url}" if requests else "sent data"
        return ACCEPT, f"{what} on the connection"
    if hs.alert is not None and hs.alert.sender == "server":
        name = hs.alert.name or hs.alert.description
        return None, f"the server broke the handshake off (alert {name})"
    if hs.chosen_cipher_suite is None and not hs.server_cert_chain:
        return None, "the handshake stopped before the server's certificate"
    if hs.alert is not None:
        name = hs.alert.name or hs.alert.description
        return REJECT, f"sent alert {name} and no request"
    return REJECT, "closed the connection before any request"


def _from_wire(hs: TlsHandshake) -> bool:
    """Was the variant named by classifying the captured chain (not by the serving endpoint)?"""
    return hs.server_cert_reason is not None


def _leaf_id(hs: TlsHandshake) -> str | None:
    return hs.server_cert_chain[0].sha256 if hs.server_cert_chain else None


def _accepted_elsewhere(hs: TlsHandshake, timeline: DeviceTimeline) -> bool:
    """Did the device go on with another connection to the same server on the same leaf
    certificate? Then it trusts that certificate's issuer (an issuer does not change)."""
    leaf = _leaf_id(hs)
    if leaf is None:
        return False
    return any(
        other is not hs
        and _leaf_id(other) == leaf
        and other.server is not None
        and hs.server is not None
        and other.server[0] == hs.server[0]
        and connection_outcome(other, timeline)[0] == ACCEPT
        for other in timeline.of(TlsHandshake)
    )


def _issuer_unknown(hs: TlsHandshake, timeline: DeviceTimeline | None = None) -> bool:
    """A chain classified from the wire without trust anchors: its issuer was not checked
    (unless the device accepted the same certificate from the same server elsewhere)."""
    return (
        _from_wire(hs)
        and hs.server_cert_trusted is None
        and hs.server_cert_variant in (NAME_RIGHT_VARIANTS)
        and not (timeline is not None and _accepted_elsewhere(hs, timeline))
    )


def _variant(hs: TlsHandshake, ctx: RuleContext) -> str | None:
    served = ctx.facts.get("served_variant")
    return hs.server_cert_variant or (str(served) if served else None)


def _expectation(req: str, variant: str | None, ctx: RuleContext) -> tuple[str | None, bool]:
    """(what the device must do, whether this variant is what `req` is about)."""
    table = CERT_EXPECTATIONS[req]
    if variant in table:
        return table[variant], variant in KEY_VARIANTS[req]
    told = ctx.facts.get("tls_expectation")
    if variant is not None and told in (ACCEPT, REJECT) and ctx.facts.get("served_variant"):
        return str(told), True
    return None, False


def _cert_name(hs: TlsHandshake) -> str | None:
    return hs.server_cert_subject_cn or (
        hs.server_cert_chain[0].subject_cn if hs.server_cert_chain else None
    )


def _judge(
    req: str,
    timeline: DeviceTimeline,
    cases: list[tuple[TlsHandshake, str, str, bool]],
    nothing: str,
) -> list[Finding]:
    """Judge (handshake, expected, label, is_key) cases: one violation fails the requirement."""
    if not cases:
        return [finding(req, Verdict.INCONCLUSIVE, nothing, timeline)]
    passed, undecided = [], []
    for hs, expected, label, is_key in cases:
        outcome, what = connection_outcome(hs, timeline)
        if outcome is None:
            undecided.append(f"{label}: {what}")
            continue
        if outcome == REJECT and expected == ACCEPT and _issuer_unknown(hs, timeline):
            undecided.append(f"{label}: the device {what}, {NO_TRUST}")
            continue
        if outcome != expected:
            must = "reject" if expected == REJECT else "accept"
            also = connection_requests(hs, timeline)
            why = (
                f"{label}, {_suite_involved(hs)}: the device {what}; "
                f"a spec-following phone must {must} it"
            )
            return [finding(req, Verdict.FAIL, why, timeline, hs, also=also)]
        if is_key:
            passed.append((hs, label, what))
    if not passed:
        why = "no judged connection with the certificate this requirement is about"
        if undecided:
            why += f" ({'; '.join(undecided)})"
        return [finding(req, Verdict.INCONCLUSIVE, why, timeline, cases[0][0])]
    hs, label, what = passed[0]
    why = f"{label}, {_suite_involved(hs)}: the device {what}"
    if len(cases) > 1:
        why += f"; {len(cases) - 1} more connection(s) judged as expected"
    return [finding(req, Verdict.PASS, why, timeline, hs, also=[c[0] for c in passed[1:]])]


def _variant_cases(
    req: str, timeline: DeviceTimeline, ctx: RuleContext
) -> list[tuple[TlsHandshake, str, str, bool]]:
    cases = []
    for hs in timeline.of(TlsHandshake):
        variant = _variant(hs, ctx)
        expected, is_key = _expectation(req, variant, ctx)
        if expected is None:
            continue
        label = f"certificate variant {variant} (CN {_cert_name(hs)!r})"
        if _from_wire(hs):
            label += f" [classified from the capture: {hs.server_cert_reason}]"
        cases.append((hs, expected, label, is_key))
    return cases


# -- cipher suites -----------------------------------------------------------------------
@rule("TLS-CIPHERS")
def tls_ciphers(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    fam = ctx.family
    hellos = [hs for hs in timeline.of(TlsHandshake) if hs.offered_cipher_suites]
    if not hellos:
        why = "no ClientHello with cipher suites was seen from the device"
        return [finding("TLS-CIPHERS", Verdict.INCONCLUSIVE, why, timeline)]
    for hs in hellos:
        outside = [s for s in real_suites(hs.offered_cipher_suites) if s not in fam.cipher_suites]
        if outside:
            why = (
                f"the ClientHello offers {suites_text(outside)}, not in {fam.name}'s suite set "
                f"{fam.cipher_suite_set}"
            )
            return [finding("TLS-CIPHERS", Verdict.FAIL, why, timeline, hs)]
    offered = sorted({s for hs in hellos for s in real_suites(hs.offered_cipher_suites)})
    why = (
        f"{len(hellos)} ClientHello(s) offer only suites of {fam.cipher_suite_set}: "
        f"{suites_text(offered)} (signalling and GREASE values ignored)"
    )
    return [finding("TLS-CIPHERS", Verdict.PASS, why, timeline, hellos[0], also=hellos[1:])]


@rule("TLS-NEGOTIATE")
def tls_negotiate(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    fam = ctx.family
    tried: dict[int, TlsHandshake] = {}
    offered: set[int] = set()
    refused: list[tuple[int, str]] = []
    for hs in timeline.of(TlsHandshake):
        offered |= set(real_suites(hs.offered_cipher_suites))
        suite = hs.chosen_cipher_suite
        variant = _variant(hs, ctx)
        if suite is None or suite not in fam.cipher_suites:
            continue
        if suite not in hs.offered_cipher_suites:
            continue
        outcome, what = connection_outcome(hs, timeline)
        if variant not in (None, *NAME_RIGHT_VARIANTS):
            # a certificate the device may refuse: a refusal says nothing about the suite,
            # but a handshake it completed all the same did negotiate it
            if outcome == ACCEPT:
                tried.setdefault(suite, hs)
            continue
        if outcome == REJECT and (variant is None or _issuer_unknown(hs, timeline)):
            # the device may have refused the certificate, rightly: no word on the suite
            why = (
                "its certificate was not seen" if variant is None else NO_TRUST.removeprefix("and ")
            )
            refused.append((suite, f"{cipher_suite_name(suite)}: the device {what}, but {why}"))
            continue
        if outcome == REJECT:
            why = (
                f"the server picked {cipher_suite_name(suite)} (offered by the device, in "
                f"{fam.cipher_suite_set}) with certificate variant {variant or 'unknown'}, "
                f"and the device {what}"
            )
            return [finding("TLS-NEGOTIATE", Verdict.FAIL, why, timeline, hs)]
        if outcome == ACCEPT:
            tried.setdefault(suite, hs)
    # a suite whose only handshakes the device may have refused for their certificate
    doubtful = {s: why for s, why in refused if s not in tried}
    verdicts = ctx.facts.get("suite_offer_verdicts") or {}
    untestable = {
        int(s): str(v)
        for s, v in dict(verdicts).items()  # type: ignore[call-overload]
        if str(v) != "ok" and int(s) in offered and int(s) in fam.cipher_suites
    }
    untestable = {s: v for s, v in untestable.items() if s not in tried}
    if not tried:
        why = "no handshake in which the server picked a suite of the family set the device offered"
        if refused:
            why = "no completed handshake to judge the suite by; " + "; ".join(
                r for _, r in refused[:3]
            )
        if untestable:
            why += "; " + "; ".join(untestable.values())
        return [finding("TLS-NEGOTIATE", Verdict.INCONCLUSIVE, why, timeline)]
    done = f"the handshake completed with {suites_text(sorted(tried))}"
    hs_list = list(tried.values())
    if doubtful:
        why = f"{done}; not judged: " + "; ".join(doubtful[s] for s in sorted(doubtful))
        return [finding("TLS-NEGOTIATE", Verdict.INCONCLUSIVE, why, timeline, hs_list[0])]
    if untestable:
        why = f"{done}; {'; '.join(untestable[s] for s in sorted(untestable))}"
        return [finding("TLS-NEGOTIATE", Verdict.INCONCLUSIVE, why, timeline, hs_list[0])]
    rest = sorted((offered & fam.cipher_suites) - set(tried))
    why = done + (f" (not tried: {suites_text(rest)})" if rest else "")
    return [finding("TLS-NEGOTIATE", Verdict.PASS, why, timeline, hs_list[0], also=hs_list[1:])]


# -- server certificate ----------------------------------------------------------------
@rule("TLS-SERVER-CA")
def tls_server_ca(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    cases = _variant_cases("TLS-SERVER-CA", timeline, ctx)
    nothing = "no self-signed or untrusted-CA server certificate was served to the device"
    unchecked = [hs for hs in timeline.of(TlsHandshake) if _issuer_unknown(hs)]
    if unchecked and not any(c[3] for c in cases):
        why = (
            f"the issuer of {len(unchecked)} server chain(s) seen in the capture "
            f"(e.g. {unchecked[0].server_cert_chain[0].issuer if unchecked[0].server_cert_chain else 'unknown'}) "
            "was not checked: give the CA certificates the device trusts with --trust-ca"
        )
        return [finding("TLS-SERVER-CA", Verdict.INCONCLUSIVE, why, timeline, unchecked[0])]
    return _judge("TLS-SERVER-CA", timeline, cases, nothing)


@rule("TLS-SERVER-CN")
def tls_server_cn(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    cases = _variant_cases("TLS-SERVER-CN", timeline, ctx)
    nothing = "no wrong-cn server certificate was served to the device"
    return _judge("TLS-SERVER-CN", timeline, cases, nothing)


@rule("TLS-CN-SUFFIX")
def tls_cn_suffix(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    if not ctx.family.tls_cn_suffix_accepted:
        why = f"family {ctx.family.name} does not accept the FQDN/suffix CN form"
        return [finding("TLS-CN-SUFFIX", Verdict.SKIPPED, why, timeline)]
    cases = _variant_cases("TLS-CN-SUFFIX", timeline, ctx)
    nothing = "no cn-suffix server certificate was served to the device"
    return _judge("TLS-CN-SUFFIX", timeline, cases, nothing)


def _dns_answers(timeline: DeviceTimeline, ctx: RuleContext) -> dict[str, set[str]]:
    """Name -> addresses: what the scenario configured, else what the device was told."""
    told = ctx.facts.get("dns_answer_for_cert_name") or {}
    answers = {cn_host(str(k)): {str(a) for a in v} for k, v in dict(told).items()}  # type: ignore[call-overload]
    for q in timeline.of(DnsQuery):
        if q.qtype == "A" and q.answers:
            answers.setdefault(cn_host(q.qname), set()).update(q.answers)
    return answers


@rule("TLS-DNS-MATCH")
def tls_dns_match(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    fam = ctx.family
    if not fam.tls_dns_ip_check:
        why = f"family {fam.name} does not check the server address against DNS"
        return [finding("TLS-DNS-MATCH", Verdict.SKIPPED, why, timeline)]
    answers = _dns_answers(timeline, ctx)
    cases = []
    for hs in timeline.of(TlsHandshake):
        variant = _variant(hs, ctx)
        cn = _cert_name(hs)
        if variant not in (None, *NAME_RIGHT_VARIANTS) or not cn or hs.server is None:
            continue
        name = cn_host(cn, suffix_accepted=fam.tls_cn_suffix_accepted)
        if name not in answers:
            continue
        address = hs.server[0]
        addresses = ", ".join(sorted(answers[name])) or "none"
        match = address in answers[name]
        label = (
            f"certificate variant {variant or 'unknown'} naming {name} (DNS: {addresses}) "
            f"from server address {address}"
        )
        cases.append((hs, ACCEPT if match else REJECT, label, not match))
    nothing = "no connection whose certificate name has a known DNS answer"
    return _judge("TLS-DNS-MATCH", timeline, cases, nothing)


# -- client certificate ------------------------------------------------------------------
def _is_generic(subject: dict[str, str]) -> bool:
    return all(subject.get(k) == v for k, v in _generic_subject().items())


def _subject_text(subject: dict[str, str] | None) -> str:
    if not subject:
        return "none"
    return ", ".join(f"{k}={v}" for k, v in sorted(subject.items()))


def _identity_sources(timeline: DeviceTimeline, ctx: RuleContext) -> list[identity.IdentitySource]:
    """What the certificate is judged against, never the certificate itself: the
    configured/stated identity when there is one (a User-Agent that disagrees with it
    is UA-IDENTITY's fail), else the User-Agent; and the DHCP MAC."""
    given = identity.stated(ctx)
    sources = [given] if given else []
    for req, claims in [] if given else identity.user_agents(timeline, ctx)[:1]:
        sources.append(identity.IdentitySource(f"its User-Agent {req.user_agent!r}", claims))
    if not given:
        sources += identity.profile_macros(timeline, ctx)
    return sources + identity.dhcp_macs(timeline)


def _asked(timeline: DeviceTimeline) -> list[TlsHandshake]:
    return [hs for hs in timeline.of(TlsHandshake) if hs.client_cert_requested and hs.established]


@rule("TLS-CLIENT-CERT")
def tls_client_cert(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    asked = _asked(timeline)
    if not asked:
        why = (
            "the server never asked the device for a client certificate (or no handshake completed)"
        )
        return [finding("TLS-CLIENT-CERT", Verdict.INCONCLUSIVE, why, timeline)]
    sources = _identity_sources(timeline, ctx)
    layout = _client_subject_layout()
    for hs in asked:
        subject = hs.client_cert_subject
        where = f"asked for a client certificate ({_suite_involved(hs)})"
        if not subject:
            why = f"the server {where} and the device presented none"
            return [finding("TLS-CLIENT-CERT", Verdict.FAIL, why, timeline, hs)]
        if _is_generic(subject):
            if ctx.facts.get("individual_cert") is False:
                why = "the unit has no individual certificate; TLS-GENERIC-CERT judges it"
                return [finding("TLS-CLIENT-CERT", Verdict.SKIPPED, why, timeline, hs)]
            why = (
                f"the server {where} and the device presented the generic certificate "
                f"({_subject_text(subject)}), not its own"
            )
            return [finding("TLS-CLIENT-CERT", Verdict.FAIL, why, timeline, hs)]
        for attr in _client_subject_layout().values():
            if not subject.get(attr):
                why = f"the device's certificate ({_subject_text(subject)}) has no {attr}"
                return [finding("TLS-CLIENT-CERT", Verdict.FAIL, why, timeline, hs)]
        claims = {f: subject[attr] for f, attr in layout.items() if subject.get(attr)}
        for src in sources:
            wrong = identity.disagreement(claims, src, labels=layout)
            if wrong:
                why = f"the device's certificate ({_subject_text(subject)}) names {wrong}"
                return [finding("TLS-CLIENT-CERT", Verdict.FAIL, why, timeline, hs)]
    if not sources:
        why = (
            "the device presented a certificate but no source independent of it "
            "(no --device, no User-Agent in the family format, no DHCP MAC) says who it is"
        )
        return [finding("TLS-CLIENT-CERT", Verdict.INCONCLUSIVE, why, timeline, asked[0])]
    why = (
        f"asked {len(asked)} time(s), the device presented its certificate "
        f"({_subject_text(asked[0].client_cert_subject)}), matching "
        + " and ".join(s.name for s in sources)
    )
    return [finding("TLS-CLIENT-CERT", Verdict.PASS, why, timeline, asked[0], also=asked[1:])]


@rule("TLS-GENERIC-CERT")
def tls_generic_cert(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    asked = _asked(timeline)
    if not asked:
        why = (
            "the server never asked the device for a client certificate (or no handshake completed)"
        )
        return [finding("TLS-GENERIC-CERT", Verdict.INCONCLUSIVE, why, timeline)]
    generic = _generic_subject()
    judged: list[TlsHandshake] = []
    for hs in asked:
        subject = hs.client_cert_subject
        if not subject:
            why = (
                f"the server asked for a client certificate ({_suite_involved(hs)}) and the "
                "device presented none; a unit without its own presents the generic one"
            )
            return [finding("TLS-GENERIC-CERT", Verdict.FAIL, why, timeline, hs)]
        looks_generic = any(subject.get(k) == v for k, v in generic.items())
        if looks_generic and not _is_generic(subject):
            why = (
                f"the device's generic certificate reads {_subject_text(subject)}, "
                f"not {_subject_text(generic)}"
            )
            return [finding("TLS-GENERIC-CERT", Verdict.FAIL, why, timeline, hs)]
        if looks_generic:
            judged.append(hs)
    if not judged:
        why = (
            f"the device presented its individual certificate "
            f"({_subject_text(asked[0].client_cert_subject)}): the rule is for units without one"
        )
        return [finding("TLS-GENERIC-CERT", Verdict.SKIPPED, why, timeline, asked[0])]
    field = ctx.family.ua_identity_field
    reqs = [r for r in timeline.of(HttpExchange) if r.scheme == "https" and r.request_sent]
    parsed = [parse_user_agent(ctx.family, r.user_agent) for r in reqs]
    if not reqs:
        why = (
            "the device presented the generic certificate but made no HTTPS request to identify it"
        )
        return [finding("TLS-GENERIC-CERT", Verdict.INCONCLUSIVE, why, timeline, judged[0])]
    for req, p in zip(reqs, parsed, strict=True):
        if p is None or not getattr(p, field):
            why = (
                f"with the generic certificate the unit is known by its User-Agent only, "
                f"but {req.method} {req.url} has User-Agent {req.user_agent!r} without the {field}"
            )
            return [finding("TLS-GENERIC-CERT", Verdict.FAIL, why, timeline, req, also=judged)]
    why = (
        f"the device presented the generic certificate ({_subject_text(generic)}) "
        f"and its User-Agent names its {field} ({getattr(parsed[0], field)})"
    )
    return [finding("TLS-GENERIC-CERT", Verdict.PASS, why, timeline, judged[0], also=reqs[:1])]


# -- $CCERT --------------------------------------------------------------------------------
def _template_pattern(template: str) -> re.Pattern[str] | None:
    """A pattern over a request path that captures what `$CCERT` became (None: no $CCERT)."""
    parts, pos, found = [], 0, False
    for m in _MACRO.finditer(template):
        parts.append(re.escape(template[pos : m.start()]))
        pos = m.end()
        if (m.group("p") or m.group("n") or "").upper() == "CCERT" and not found:
            parts.append("(?P<ccert>.*?)")
            found = True
        else:
            parts.append(".*")  # greedy: other macros take all they can before $CCERT
    parts.append(re.escape(template[pos:]))
    return re.compile("".join(parts) + r"$", re.S) if found else None


def _rule_paths(rule_text: str) -> list[tuple[str, str]]:
    """(options, path) of each alternative of a Profile_Rule: conditions, assignments,
    options, scheme and server removed. No scheme means TFTP, and then a text not
    starting with '/' is `server[:port]/path`."""
    out = []
    for alt in rule_text.split("|"):
        alt = _ALTERNATIVE_HEAD.sub("", alt, count=1)
        opts = _OPTIONS.match(alt)
        text = (alt[opts.end() :] if opts else alt).strip().split(" ")[0]
        if "://" in text:
            text = urlsplit(text.replace("$", "%24")).path.replace("%24", "$")
        else:  # no scheme (TFTP): `[server[:port]]/path`
            text = "/" + text.partition("/")[2]
        out.append((opts.group(1) if opts else "", text))
    return out


def _ccert_sources(ctx: RuleContext) -> list[tuple[str, re.Pattern[str], bool]]:
    """(label, pattern, whether it is over a POST body) for each place a rule uses $CCERT."""
    out = []
    for name in _PROFILE_RULES:
        text = ctx.param(name)
        if not text:
            continue
        for options, path in _rule_paths(text):
            pattern = _template_pattern(path)
            if pattern is not None:
                out.append((f"{name} path", pattern, False))
            post = re.search(r"--post\s+([A-Za-z])", options)
            if post:
                gpp = ctx.param(f"GPP_{post.group(1).upper()}")
                pattern = _template_pattern(gpp) if gpp else None
                if pattern is not None:
                    label = f"{name} POST body (GPP_{post.group(1).upper()})"
                    out.append((label, pattern, True))
    return out


def _fetched(obs: object) -> tuple[str, str, bytes | None] | None:
    """(what the device asked for, as a reason names it; the path; the POST body or None)
    for an HTTP request or a TFTP read; None for anything else."""
    if isinstance(obs, HttpExchange) and obs.request_sent:
        body = obs.request_body if obs.method == "POST" else None
        return f"{obs.method} {obs.url}", unquote(urlsplit(obs.url).path), body
    if isinstance(obs, TftpTransfer) and obs.op == "RRQ":
        path = obs.filename if obs.filename.startswith("/") else "/" + obs.filename
        return f"TFTP RRQ {obs.filename}", path, None
    return None


@rule("MACRO-CCERT")
def macro_ccert(timeline: DeviceTimeline, ctx: RuleContext) -> list[Finding]:
    sources = _ccert_sources(ctx)
    if not sources:
        why = "no profile rule of the device uses $CCERT"
        return [finding("MACRO-CCERT", Verdict.INCONCLUSIVE, why, timeline)]
    installed, not_installed = _ccert_words()
    presented = [hs.client_cert_subject for hs in timeline.of(TlsHandshake)]
    presented = [s for s in presented if s]
    seen: list[tuple[HttpExchange | TftpTransfer, str, str]] = []
    for req in timeline.observations:
        fetched = _fetched(req)
        if fetched is None:
            continue
        what, path, body = fetched
        for label, pattern, over_body in sources:
            if not over_body:
                text = path
            elif body is not None:
                text = body.decode("utf-8", "replace")
            else:
                continue  # a body pattern, and no POST body
            m = pattern.match(text)
            if m is None:
                continue
            value = m.group("ccert")
            if value not in (installed, not_installed):
                why = (
                    f"{what}: $CCERT in the {label} became {value!r}, "
                    f"not {installed!r} or {not_installed!r}"
                )
                return [finding("MACRO-CCERT", Verdict.FAIL, why, timeline, req)]
            if presented:
                own = not _is_generic(presented[0])
                if (value == installed) != own:
                    which = "its own" if own else "the generic"
                    why = (
                        f"{what}: $CCERT became {value!r} but the device "
                        f"presented {which} certificate ({_subject_text(presented[0])})"
                    )
                    return [finding("MACRO-CCERT", Verdict.FAIL, why, timeline, req)]
            seen.append((req, value, what))
            break
    if not seen:
        why = "no request matched a profile rule that uses $CCERT"
        return [finding("MACRO-CCERT", Verdict.INCONCLUSIVE, why, timeline)]
    req, value, what = seen[0]
    why = f"$CCERT expanded to {value!r} in {len(seen)} request(s), e.g. {what}"
    also = [r for r, _, _ in seen[1:]]
    return [finding("MACRO-CCERT", Verdict.PASS, why, timeline, req, also=also)]
