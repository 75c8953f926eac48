"""`StormPhone` without sockets: the engine's requests, timers and observations as a storm
driver sees them, row by row of Table 3-1."""

from __future__ import annotations

import pytest

from harness.device.sim.engine_table import Fetch, FetchResult
from harness.device.sim.identity import Identity
from harness.observe.events import HttpExchange
from harness.spec.family import load_family
from harness.spec.status_table import status_row
from harness.storm.crowd import StormConfig
from harness.storm.phone import StormPhone, answer_class
from harness.storm.summary import spec_check

T0 = 1_800_000_000.0
RETRY = 30.0
PARAMS = {
    "Profile_Rule": "http://192.0.2.10/$MA.cfg",
    "Resync_Random_Delay": "0",
    "Resync_Error_Retry_Delay": str(int(RETRY)),
}


def phone(quirks: tuple[str, ...] = (), n: int = 7) -> StormPhone:
    fam = load_family("cisco-8831-3pcc")
    return StormPhone(fam, Identity.for_family(fam, n), dict(PARAMS), quirks)


def first_request(p: StormPhone) -> Fetch:
    assert p.power_up(T0) is None  # the power-up resync waits for its (zero) random delay
    assert p.next_deadline() == T0
    fetch = p.fire(T0)
    assert isinstance(fetch, Fetch)
    return fetch


def test_the_phone_asks_for_its_own_profile():
    p = phone(n=7)
    fetch = first_request(p)
    assert (fetch.address, fetch.port, fetch.path) == ("192.0.2.10", 80, "/020000000007.cfg")
    assert p.next_deadline() is None  # waiting on the request, no timer to fire


@pytest.mark.parametrize("status", [404, 500, 503])
def test_a_failed_attempt_waits_the_error_retry_delay(status):
    p = phone()
    first_request(p)
    assert p.complete(FetchResult(status=status, body=b"no"), T0, T0 + 0.1) is None
    assert p.next_deadline() == pytest.approx(T0 + 0.1 + RETRY)
    assert p.provisioned_at is None
    [attempt] = p.attempts
    assert attempt.action_class == status_row(status).action.value == answer_class(status, "")
    [ex] = p.observations
    assert isinstance(ex, HttpExchange) and ex.status == status and ex.time == T0
    assert ex.device.mac == p.identity.mac and ex.user_agent


def test_retry_5xx_immediately_comes_back_at_once():
    p = phone(("retry-5xx-immediately",))
    first_request(p)
    p.complete(FetchResult(status=503), T0, T0 + 0.1)
    assert p.next_deadline() == pytest.approx(T0 + 0.1)


def test_a_profile_provisions_the_phone():
    p = phone()
    first_request(p)
    p.complete(FetchResult(status=200, body=b"<flat-profile></flat-profile>"), T0, T0 + 0.2)
    assert p.provisioned_at == T0 + 0.2
    assert p.attempts[0].action_class == "A"
    assert p.observations[0].response_content_kind == "xml-profile"


def _run(p: StormPhone, answers: list[int]) -> None:
    now = T0
    fetch = first_request(p)
    for status in answers:
        body = b"<flat-profile></flat-profile>" if status == 200 else b""
        fetch = p.complete(FetchResult(status=status, body=body), now, now + 0.01)
        assert fetch is None
        now = p.next_deadline()
        fetch = p.fire(now)
        assert isinstance(fetch, Fetch)


def test_spec_check_passes_the_reference_phone_and_fails_the_quirk():
    clean, quirky = phone(n=1), phone(("retry-5xx-immediately",), n=2)
    _run(clean, [503, 503, 200])
    _run(quirky, [503, 503, 200])
    result = spec_check([clean, quirky])
    assert result["phones_judged"] == 2
    assert [f["phone"] for f in result["failures"]] == [quirky.id]
    assert result["failures"][0]["rule"] == "HTTP-503"
    assert result["rules"]["HTTP-503"] == {"pass": 1, "fail": 1}
    assert result["failing_quirky_phones"] == 1 and result["failing_clean_phones"] == 0


def test_quirky_phones_are_spread_through_the_crowd():
    config = StormConfig(server="http://192.0.2.10/", phones=100, quirks={"a": 2, "b": 2})
    placed = {i: config.quirks_of(i) for i in range(100) if config.quirks_of(i)}
    assert list(placed.values()) == [("a",), ("a",), ("b",), ("b",)]
    assert min(placed) > 0 and max(placed) > 50
