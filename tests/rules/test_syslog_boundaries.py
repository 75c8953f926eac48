"""The syslog rules' windows (REQUEST_BEFORE, REQUEST_AFTER, RESULT_AFTER, the next attempt)
and the unexpanded-macro check, each pinned by a case just inside and one just outside.

Through `harness.rules.evaluate` over `build_timelines`, as in a live run and the analyzer.
The windows are harness tolerances named and documented in harness/rules/syslog_rules.py.
"""

import dataclasses

import pytest

from harness.rules import Verdict
from harness.rules.syslog_rules import REQUEST_AFTER, REQUEST_BEFORE, RESULT_AFTER
from tests.rules.test_dns_syslog_rules import verdict
from tests.rules.timelines import (
    PRODUCT,
    SERIAL,
    context,
    failure_msg,
    http,
    request_msg,
    success_msg,
    syslog,
)

T = 1000.0
JUST = 0.5


def test_the_windows_are_the_documented_values():
    assert (REQUEST_BEFORE, REQUEST_AFTER, RESULT_AFTER) == (5.0, 1.0, 30.0)


def one_attempt(request_at, result_at):
    return [syslog(request_at, request_msg()), http(T), syslog(result_at, success_msg())]


# -- SYSLOG-REQUEST: the request message from REQUEST_BEFORE before to REQUEST_AFTER after --
@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (T - REQUEST_BEFORE, Verdict.PASS),
        (T - REQUEST_BEFORE - JUST, Verdict.FAIL),
        (T + REQUEST_AFTER, Verdict.PASS),
        (T + REQUEST_AFTER + JUST, Verdict.FAIL),
    ],
)
def test_request_message_window(at, expected):
    f = verdict("SYSLOG-REQUEST", one_attempt(at, T + 1))
    assert f.verdict is expected, f.why
    if expected is Verdict.FAIL:
        assert "no request message in syslog around the http request" in f.why


# -- SYSLOG-RESULT: from REQUEST_AFTER before the last request to RESULT_AFTER after its end -
@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (T + RESULT_AFTER, Verdict.PASS),
        (T + RESULT_AFTER + JUST, Verdict.FAIL),
        (T - REQUEST_AFTER, Verdict.PASS),
        (T - REQUEST_AFTER - JUST, Verdict.FAIL),
    ],
)
def test_result_message_window(at, expected):
    f = verdict("SYSLOG-RESULT", one_attempt(T - 1, at))
    assert f.verdict is expected, f.why
    if expected is Verdict.FAIL:
        assert "no success/failure message in syslog after the http request" in f.why


def test_result_window_ends_at_the_next_attempt():
    """A result sent after the next request started belongs to that one, not the first."""
    nxt = T + 10
    obs = [
        syslog(T, request_msg()),
        http(T, status=404),
        syslog(nxt, request_msg()),
        http(nxt),
        syslog(nxt + 1, success_msg()),
    ]
    late = [*obs, syslog(nxt + JUST, failure_msg())]
    assert verdict("SYSLOG-RESULT", late).verdict is Verdict.FAIL
    in_time = [*obs, syslog(nxt, failure_msg())]
    assert verdict("SYSLOG-RESULT", in_time).verdict is Verdict.PASS


# -- SYSLOG-MACROS --------------------------------------------------------------------------
def test_a_stray_unexpanded_macro_fails_even_outside_the_templates():
    """A message in no template's shape is still checked for unexpanded macros."""
    obs = [*one_attempt(T - 1, T + 1), syslog(T + 2, f"{PRODUCT} booted firmware $SWVER")]
    f = verdict("SYSLOG-MACROS", obs)
    assert f.verdict is Verdict.FAIL, f.why
    assert "still holds unexpanded macros $SWVER" in f.why
    assert verdict("SYSLOG-MACROS", one_attempt(T - 1, T + 1)).verdict is Verdict.PASS


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (T - REQUEST_BEFORE, Verdict.FAIL),  # near the attempt: compared, wrong address
        (T - REQUEST_BEFORE - JUST, Verdict.INCONCLUSIVE),  # near none: not compared
    ],
)
def test_macros_compares_messages_from_request_before_the_attempt(at, expected):
    wrong = syslog(at, request_msg(server=("198.51.100.99", 80)))
    f = verdict("SYSLOG-MACROS", [wrong, http(T)])
    assert f.verdict is expected, f.why


@pytest.mark.parametrize(
    ("at", "expected"),
    [(T + RESULT_AFTER, Verdict.FAIL), (T + RESULT_AFTER + JUST, Verdict.INCONCLUSIVE)],
)
def test_macros_compares_messages_until_result_after_the_attempt(at, expected):
    wrong = syslog(at, success_msg(server=("198.51.100.99", 80)))
    f = verdict("SYSLOG-MACROS", [http(T), wrong])
    assert f.verdict is expected, f.why


# -- reasons, evidence and the values macros expand to ------------------------------------------
def test_request_and_result_reasons_and_evidence():
    req = http(T)
    msg = syslog(T + 1, success_msg())
    f = verdict("SYSLOG-REQUEST", [req, msg])
    assert f.why == (
        "no request message in syslog around the http request for /CP-8831-3PCC.cfg "
        "(template '$PN $MAC -- Requesting resync $SCHEME://$SERVIP:$PORT$PATH')"
    )
    assert f.frames == tuple(sorted(req.evidence.frames + msg.evidence.frames))
    f = verdict("SYSLOG-RESULT", [syslog(T - 2, request_msg()), req])
    assert (
        f.why == "no success/failure message in syslog after the http request for /CP-8831-3PCC.cfg"
    )
    assert f.frames == req.evidence.frames
    obs = one_attempt(T - 1, T + 1) + [syslog(T + 99, request_msg()), http(T + 100)]
    obs.append(syslog(T + 101, success_msg()))
    f = verdict("SYSLOG-REQUEST", obs)
    assert f.why == "each of the 2 provisioning attempts was announced in syslog"
    assert f.frames == obs[1].evidence.frames
    f = verdict("SYSLOG-RESULT", obs)
    assert f.why == "each of the 2 provisioning attempts ended with a result message in syslog"


def test_result_is_anchored_on_the_last_request_of_a_redirected_attempt():
    moved = http(T + 0.1, url="/new.cfg")
    f = verdict("SYSLOG-RESULT", [syslog(T - 1, request_msg()), http(T, status=302), moved])
    assert f.verdict is Verdict.FAIL and f.time == moved.time
    assert set(moved.evidence.frames) <= set(f.frames)


def test_preconditions():
    f = verdict("SYSLOG-MACROS", [syslog(T, request_msg())])
    assert f.verdict is Verdict.INCONCLUSIVE
    assert f.why == "the device made no provisioning request"
    f = verdict("SYSLOG-MACROS", [http(T)])
    assert f.verdict is Verdict.SKIPPED and f.why.startswith("no syslog server is configured")
    ctx = context(Syslog_Server="192.0.2.9")
    f = verdict("SYSLOG-REQUEST", [http(T)], ctx)
    assert f.verdict is Verdict.FAIL  # configured, yet no message at all
    quiet = context(**{n: "" for n in RESULT_TEMPLATES})
    f = verdict("SYSLOG-RESULT", one_attempt(T - 1, T + 1), quiet)
    assert f.verdict is Verdict.SKIPPED
    assert f.why == "the result templates are empty (messages suppressed)"


RESULT_TEMPLATES = (
    "Log_Success_Msg",
    "Log_Failure_Msg",
    "Log_Upgrade_Success_Msg",
    "Log_Upgrade_Failure_Msg",
)


def test_macros_reasons():
    f = verdict("SYSLOG-MACROS", one_attempt(T - 1, T + 1))
    assert f.why == "2 syslog messages are the configured templates with macros expanded"
    far = [http(T), syslog(T + 500, success_msg())]
    f = verdict("SYSLOG-MACROS", far)
    assert f.verdict is Verdict.INCONCLUSIVE
    assert (
        f.why == "template-shaped syslog messages were seen, but none near a provisioning attempt"
    )
    f = verdict("SYSLOG-MACROS", [http(T), syslog(T, "kernel: link up")])
    assert f.verdict is Verdict.INCONCLUSIVE
    assert f.why == "no syslog message in the shape of the configured templates to compare"
    wrong = syslog(T, request_msg(server=("198.51.100.99", 80)))
    f = verdict("SYSLOG-MACROS", [wrong, http(T)])
    assert "$MA=000e08abcdef" in f.why and "$SERVIP=198.51.100.5" in f.why
    assert "$SN=88012BA01234" in f.why and "$MAU=000E08ABCDEF" in f.why


@pytest.mark.parametrize(
    ("template", "good", "bad"),
    [
        ("$MAU -- Requesting $PATH", "000E08ABCDEF -- Requesting /CP-8831-3PCC.cfg", "000e08abcdef -- Requesting /CP-8831-3PCC.cfg"),
        ("$MA -- Requesting $PATH", "000e08abcdef -- Requesting /CP-8831-3PCC.cfg", "000E08ABCDEF -- Requesting /CP-8831-3PCC.cfg"),
        ("$SN -- Requesting $PATH", f"{SERIAL} -- Requesting /CP-8831-3PCC.cfg", "X -- Requesting /CP-8831-3PCC.cfg"),
        ("$PN -- Requesting $SERVIP:$PORT", f"{PRODUCT} -- Requesting 198.51.100.5:80", f"{PRODUCT} -- Requesting 198.51.100.5:81"),
    ],
)  # fmt: skip
def test_macros_expand_with_the_devices_values(template, good, bad):
    ctx = context(Log_Request_Msg=template)
    assert verdict("SYSLOG-MACROS", [syslog(T, good), http(T)], ctx).verdict is Verdict.PASS
    assert verdict("SYSLOG-MACROS", [syslog(T, bad), http(T)], ctx).verdict is Verdict.FAIL


def test_macros_servip_may_be_the_host_the_url_names():
    """A phone may log the request before it resolved the name."""
    req = dataclasses.replace(http(T), host="prov.example.test:80")
    named = syslog(T, request_msg(server=("prov.example.test", 80)))
    assert verdict("SYSLOG-MACROS", [named, req]).verdict is Verdict.PASS
    other = syslog(T, request_msg(server=("other.example.test", 80)))
    assert verdict("SYSLOG-MACROS", [other, req]).verdict is Verdict.FAIL


@pytest.mark.parametrize(
    ("template", "bad"),
    [
        ("$PN -- Requesting $PATH", "CP-7941G -- Requesting /CP-8831-3PCC.cfg"),
        ("$PN -- Requesting $SCHEME:$PATH", f"{PRODUCT} -- Requesting https:/CP-8831-3PCC.cfg"),
        ("$PN -- Requesting $SCHEME:$PATH", f"{PRODUCT} -- Requesting http:/other.cfg"),
    ],
)
def test_macros_a_wrong_product_scheme_or_path_fails(template, bad):
    ctx = context(Log_Request_Msg=template)
    f = verdict("SYSLOG-MACROS", [syslog(T, bad), http(T)], ctx)
    assert f.verdict is Verdict.FAIL, f.why


def test_macros_identity_from_the_traffic_when_not_configured():
    """A capture: the device's product, serial and MAC as the analyzer attributed them."""
    from harness.observe.events import DeviceKey

    seen = DeviceKey(ip="192.0.2.10", mac="000e08abcdef", serial=SERIAL, product=PRODUCT)
    req = dataclasses.replace(http(T), device=seen)
    ctx = context(identity=False, Log_Request_Msg="$PN $MA $SN -- Requesting $PATH")
    good = dataclasses.replace(
        syslog(T, f"{PRODUCT} 000e08abcdef {SERIAL} -- Requesting /CP-8831-3PCC.cfg"), device=seen
    )
    assert verdict("SYSLOG-MACROS", [good, req], ctx).verdict is Verdict.PASS
    for wrong in (
        f"CP-7941G 000e08abcdef {SERIAL} -- Requesting /CP-8831-3PCC.cfg",
        f"{PRODUCT} 000e08abcd00 {SERIAL} -- Requesting /CP-8831-3PCC.cfg",
        f"{PRODUCT} 000e08abcdef X -- Requesting /CP-8831-3PCC.cfg",
    ):
        bad = dataclasses.replace(syslog(T, wrong), device=seen)
        assert verdict("SYSLOG-MACROS", [bad, req], ctx).verdict is Verdict.FAIL, wrong


def test_macros_a_configured_mac_in_colon_notation():
    from harness.rules.registry import DeviceIdentity, RuleContext

    base = context(Log_Request_Msg="$MA -- Requesting $PATH")
    ident = DeviceIdentity(product=PRODUCT, serial=SERIAL, mac="00:0E:08:AB:CD:EF")
    ctx = RuleContext(base.family, ident, base.parameters)
    msg = syslog(T, "000e08abcdef -- Requesting /CP-8831-3PCC.cfg")
    assert verdict("SYSLOG-MACROS", [msg, http(T)], ctx).verdict is Verdict.PASS


def test_macros_over_a_tftp_attempt():
    from tests.rules.test_schedule_rules import tftp

    msg = syslog(T, request_msg(url="/CP-8831-3PCC.cfg", server=("192.0.2.2", 69), scheme="tftp"))
    f = verdict("SYSLOG-MACROS", [msg, tftp(T)])
    assert f.verdict is Verdict.PASS, f.why


def test_request_templates_suppressed_reason():
    ctx = context(Log_Request_Msg="", Log_Upgrade_Request_Msg="")
    f = verdict("SYSLOG-REQUEST", one_attempt(T - 1, T + 1), ctx)
    assert f.why == "the request templates are empty (messages suppressed)"


def test_macros_a_message_far_from_attempts_does_not_stop_the_check():
    far = syslog(T - 500, request_msg())
    wrong = syslog(T, request_msg(server=("198.51.100.99", 80)))
    f = verdict("SYSLOG-MACROS", [far, wrong, http(T)])
    assert f.verdict is Verdict.FAIL and f.time == wrong.time


def test_macros_unexpanded_points_at_the_message():
    stray = syslog(T + 2, f"{PRODUCT} booted firmware $SWVER")
    f = verdict("SYSLOG-MACROS", [*one_attempt(T - 1, T + 1), stray])
    assert f.frames == stray.evidence.frames


def test_result_of_each_of_three_attempts():
    obs = []
    for t in (T, T + 100, T + 200):
        obs += [syslog(t - 1, request_msg()), http(t, status=404), syslog(t + 1, failure_msg())]
    assert verdict("SYSLOG-RESULT", obs).verdict is Verdict.PASS


def test_macros_wrong_values_reason_and_evidence():
    req = http(T)
    wrong = syslog(T, request_msg(server=("198.51.100.99", 80)))
    f = verdict("SYSLOG-MACROS", [wrong, req])
    assert f.why == (
        f"syslog message {wrong.message!r} is not a template expanded with the device's values "
        "($MA=000e08abcdef, $MAC=00:0e:08:ab:cd:ef, $MAU=000E08ABCDEF, $PATH=/CP-8831-3PCC.cfg, "
        f"$PN={PRODUCT}, $PORT=80, $SCHEME=http, $SERVIP=198.51.100.5, $SN={SERIAL})"
    )
    assert f.frames == tuple(sorted(wrong.evidence.frames + req.evidence.frames))
    assert f.time == wrong.time
    obs = one_attempt(T - 1, T + 1)
    f = verdict("SYSLOG-MACROS", obs)
    assert f.frames == obs[0].evidence.frames


@pytest.mark.parametrize(
    ("text", "chunks", "fits"),
    [
        ("abc", ("ab", "b", "c"), False),  # the middle "b" may not reuse the first chunk
        ("abbc", ("ab", "b", "c"), True),
        ("ab", ("a", "b", "b"), False),  # ... nor the last one
        ("abb", ("a", "b", "b"), True),
    ],
)
def test_loose_match_chunks_do_not_overlap(text, chunks, fits):
    from harness.rules.syslog_rules import _fits

    assert _fits(text, chunks) is fits


def test_a_syslog_server_known_only_from_the_scenario_counts_as_configured():
    from harness.rules.registry import RuleContext

    base = context()
    ctx = RuleContext(base.family, base.identity, base.parameters, {"syslog_server": "udp://x"})
    assert verdict("SYSLOG-REQUEST", [http(T)], ctx).verdict is Verdict.FAIL
    assert verdict("SYSLOG-REQUEST", [http(T)], base).verdict is Verdict.SKIPPED
