"""Expectation scripting semantics (no sockets): ordering, repetition, modifiers, matching."""

from __future__ import annotations

import re

import pytest

from harness.endpoints.http_script import Response, Script
from harness.wire.http import Request


def req(target: str, method: str = "GET", **headers: str) -> Request:
    return Request(method=method, target=target, version="HTTP/1.1", headers=tuple(headers.items()))


def serve(script: Script, request: Request) -> Response | None:
    e = script.match(request)
    return None if e is None else e.next_step().answer(request)


def test_steps_in_order_and_last_repeats():
    s = Script()
    s.expect("/p").respond(404).then(200, body="x")
    assert [serve(s, req("/p")).status for _ in range(4)] == [404, 200, 200, 200]


def test_explicit_counts_run_out_and_fall_through():
    s = Script()
    s.expect("/p").respond(500).times(2).then(200).once()
    s.expect("/p").respond(410)
    assert [serve(s, req("/p")).status for _ in range(5)] == [500, 500, 200, 410, 410]


def test_modifiers_apply_to_most_recent_step_or_the_first_one():
    s = Script()
    e = s.expect("/p").delay(5).respond(200).then(404).slow_body(2, 0.5).chunked()
    first, second = (step.response for step in e.steps)
    assert (first.delay, first.slow_body, first.chunked) == (5.0, None, False)
    assert (second.delay, second.slow_body, second.chunked) == (0.0, (2, 0.5), True)


def test_modifiers_wrap_callbacks():
    s = Script()
    s.expect("/p").respond_with(lambda r: Response(201, body=r.target)).delay(3)
    got = serve(s, req("/p?q"))
    assert (got.status, got.body, got.delay) == (201, b"/p?q", 3.0)


def test_matching_by_method_headers_query_and_absolute_url():
    s = Script()
    s.expect("/p", method="POST").respond(201)
    s.expect("/p", headers={"User-Agent": re.compile(r"cisco/.*")}).respond(202)
    s.expect("/q?x=1").respond(203)
    s.expect("http://prov.example.invalid/r").respond(204)
    assert serve(s, req("/p", "POST")).status == 201
    assert serve(s, req("/p", **{"User-Agent": "cisco/CP-8831-3PCC (1)"})).status == 202
    assert serve(s, req("/p", **{"User-Agent": "curl"})) is None
    assert serve(s, req("/q?x=1")).status == 203 and serve(s, req("/q?x=2")) is None
    assert serve(s, req("http://prov.example.invalid/r")).status == 204
    assert serve(s, req("http://other.invalid/p", "POST")).status == 201  # path of absolute form


def test_unused_lists_unserved_steps_and_unhit_empty_expectations():
    s = Script()
    a = s.expect("/a").respond(404).then(200)
    b = s.expect("/b")
    serve(s, req("/a"))
    assert s.unused() == [a, b]
    serve(s, req("/a"))
    serve(s, req("/b"))
    assert s.unused() == []


@pytest.mark.parametrize(
    "build,error",
    [
        (lambda s: s.expect("no-slash"), "must start with '/'"),
        (lambda s: s.expect("/x").redirect(304, "/y"), "redirect status 304"),
        (lambda s: s.expect("/x").times(1), "call respond\\(\\) first"),
        (lambda s: s.expect("/x").respond(200).times(0), "at least once"),
        (lambda s: s.expect("/x").respond(200, chunked=True, http_version="HTTP/1.0"), "HTTP/1.1"),
        (lambda s: s.expect("/x").respond(1000), "three-digit"),
        (lambda s: s.expect("/x").respond(200).slow_body(0, 1), "bytes >= 1"),
        (lambda s: s.expect("/x").require_auth("ntlm", "u", "p"), "unknown auth scheme"),
        (lambda s: s.expect("/x").respond(200, http_version="HTTP/2"), "http_version"),
    ],
)
def test_script_mistakes_are_refused_with_a_clear_error(build, error):
    with pytest.raises(ValueError, match=error):
        build(Script())
