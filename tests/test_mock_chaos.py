"""tollgate-mock's chaos control (POST /__mock/chaos): time-based outages, driven over
HTTP against the mock alone (no Envoy)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

import harness

OPENAI = ("/v1/chat/completions", {}, {
    "model": "gpt-4o", "messages": [{"role": "user", "content": "one two three four five"}]})
ANTHROPIC = ("/v1/messages", {"x-api-key": "ak", "anthropic-version": "2023-06-01"}, {
    "model": "claude-sonnet-4-5", "max_tokens": 100,
    "messages": [{"role": "user", "content": "one two three four five"}]})
GEMINI = ("/v1beta/models/gemini-2.5-flash:generateContent", {"x-goog-api-key": "gk"}, {
    "contents": [{"role": "user", "parts": [{"text": "one two three four five"}]}]})


@pytest.fixture
def client():
    # A fresh connection per request (no pooling) so a dropped one never leaks into the next test.
    with httpx.Client(timeout=10.0, trust_env=False,
                      limits=httpx.Limits(max_keepalive_connections=0)) as c:
        yield c


def chaos(mock: harness.Mock, body, expect: int = 200) -> dict:
    if expect == 200:
        return mock.chaos(body)
    r = harness.http.post(f"{mock.url}/__mock/chaos", content=json.dumps(body),
                          headers={"content-type": "application/json"})
    assert r.status_code == expect, r.text
    return r.json()


def call(client: httpx.Client, mock: harness.Mock, face=OPENAI, **extra) -> httpx.Response:
    path, headers, body = face
    return client.post(mock.url + path, headers=headers, json={**body, **extra})


def now_ms() -> int:
    return int(time.time() * 1000)


def sleep_until_ms(t: int) -> None:
    delay = (t - now_ms()) / 1000
    if delay > 0:
        time.sleep(delay)


def test_down_closes_the_connection_without_a_response_and_logs_the_request(mock, client):
    before = now_ms()
    chaos(mock, {"mode": "down"})
    with pytest.raises(httpx.RemoteProtocolError):
        call(client, mock)
    reqs = mock.requests()
    assert [(r["path"], r["chaos"]) for r in reqs] == [("/v1/chat/completions", "down")]
    assert before <= reqs[0]["ts_ms"] <= now_ms()
    state = mock.chaos_state()
    assert state["active"]["mode"] == "down" and state["active"]["how"] == "reset"
    assert state["phases"][0]["served"] == 1
    # Clearing the schedule restores normal answers.
    mock.clear_chaos()
    assert mock.chaos_state()["phases"] == []
    r = call(client, mock)
    assert r.status_code == 200, r.text
    assert mock.requests()[-1]["chaos"] is None


def test_down_refuse_closes_the_listener_then_binds_the_same_port_again(mock, client):
    resp = chaos(mock, {"mode": "down", "how": "refuse", "duration_ms": 800})
    end = resp["phases"][0]["end_ms"]
    time.sleep(0.15)  # the accept loop looks at the schedule every 20 ms
    with pytest.raises(httpx.ConnectError):
        call(client, mock)
    # The control API shares the listener, so new connections to it are refused too.
    with pytest.raises(httpx.ConnectError):
        client.get(f"{mock.url}/__mock/chaos")
    sleep_until_ms(end + 150)
    r = call(client, mock)
    assert r.status_code == 200, r.text
    assert [r["chaos"] for r in mock.requests()] == [None], "a refused connect is no request"


def test_down_refuse_must_end_by_itself(mock):
    err = chaos(mock, {"mode": "down", "how": "refuse"}, expect=400)["error"]
    assert "needs duration_ms or until_ms" in err


def test_slow_delays_the_headers_then_answers_normally(mock, client):
    chaos(mock, {"mode": "slow", "delay_ms": 400})
    started = time.monotonic()
    r = call(client, mock)
    assert time.monotonic() - started >= 0.39
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["content"].startswith("[mock] ")
    assert mock.requests()[-1]["chaos"] == "slow"


@pytest.mark.parametrize("face,check", [
    (OPENAI, lambda b: b["error"]["code"] == "rate_limit_exceeded"),
    (ANTHROPIC, lambda b: b["type"] == "error" and b["error"]["type"] == "rate_limit_error"),
    (GEMINI, lambda b: b["error"]["code"] == 429 and b["error"]["status"] == "RESOURCE_EXHAUSTED"),
], ids=["openai", "anthropic", "gemini"])
def test_429_storm_answers_in_the_face_of_the_called_provider(mock, client, face, check):
    chaos(mock, {"mode": 429, "retry_after_s": 3})
    for _ in range(3):
        r = call(client, mock, face)
        assert r.status_code == 429
        assert r.headers["retry-after"] == "3"
        assert check(r.json()), r.text
    assert [r["chaos"] for r in mock.requests()] == ["429"] * 3


def test_500_burst_hits_only_the_first_n_requests(mock, client):
    chaos(mock, {"mode": "500", "status": 503, "count": 2})
    codes = [call(client, mock).status_code for _ in range(4)]
    assert codes == [503, 503, 200, 200]
    assert [r["chaos"] for r in mock.requests()] == ["500", "500", None, None]
    assert mock.chaos_state()["active"] is None, "an exhausted phase steps aside"


def test_529_on_anthropic_is_overloaded(mock, client):
    chaos(mock, {"mode": "500", "status": 529})
    r = call(client, mock, ANTHROPIC)
    assert r.status_code == 529
    assert r.json()["error"]["type"] == "overloaded_error"
    r = call(client, mock, OPENAI)
    assert r.status_code == 529 and r.json()["error"]["type"] == "server_error"


def test_cut_aborts_a_stream_after_some_events(mock, client):
    chaos(mock, {"mode": "cut", "after_chunks": 2})
    path, headers, body = OPENAI
    received = b""
    with pytest.raises(httpx.RemoteProtocolError):
        with client.stream("POST", mock.url + path, headers=headers,
                           json={**body, "stream": True}) as r:
            assert r.status_code == 200
            for chunk in r.iter_raw():
                received += chunk
    events = [e for e in received.decode().split("\n\n") if e.strip()]
    assert len(events) == 2, received
    assert b"[DONE]" not in received


def test_cut_aborts_a_plain_body_halfway(mock, client):
    chaos(mock, {"mode": "cut"})
    path, headers, body = OPENAI
    received = b""
    with pytest.raises(httpx.RemoteProtocolError):
        with client.stream("POST", mock.url + path, headers=headers, json=body) as r:
            assert r.status_code == 200
            announced = int(r.headers["content-length"])
            for chunk in r.iter_raw():
                received += chunk
    assert 0 < len(received) < announced


def test_a_scheduled_window_starts_and_ends_on_time(mock, client):
    resp = chaos(mock, {"mode": "500", "start_in_ms": 400, "duration_ms": 600})
    phase = resp["phases"][0]
    assert phase["start_ms"] == resp["now_ms"] + 400
    assert phase["end_ms"] == phase["start_ms"] + 600
    assert call(client, mock).status_code == 200
    sleep_until_ms(phase["start_ms"] + 100)
    assert call(client, mock).status_code == 500
    sleep_until_ms(phase["end_ms"] + 100)
    assert call(client, mock).status_code == 200
    assert [r["chaos"] for r in mock.requests()] == [None, "500", None]


def test_a_sequence_runs_back_to_back_and_until_ms_is_absolute(mock, client):
    start = now_ms() + 300
    resp = chaos(mock, [
        {"mode": "429", "at_ms": start, "duration_ms": 400},
        {"mode": "slow", "delay_ms": 300, "until_ms": start + 800},
    ])
    (a, b) = resp["phases"]
    assert (a["start_ms"], a["end_ms"], b["start_ms"], b["end_ms"]) == (
        start, start + 400, start + 400, start + 800)
    sleep_until_ms(start + 100)
    assert call(client, mock).status_code == 429
    sleep_until_ms(start + 450)
    t = time.monotonic()
    assert call(client, mock).status_code == 200
    assert time.monotonic() - t >= 0.29
    sleep_until_ms(start + 900)
    t = time.monotonic()
    assert call(client, mock).status_code == 200
    assert time.monotonic() - t < 0.25
    assert [r["chaos"] for r in mock.requests()] == ["429", "slow", None]


def test_append_layers_a_phase_over_the_schedule(mock, client):
    chaos(mock, {"mode": "500"})
    resp = chaos(mock, {"phases": [{"mode": "ok", "start_in_ms": 0, "duration_ms": 300}],
                        "append": True})
    assert [p["mode"] for p in resp["phases"]] == ["500", "ok"]
    assert call(client, mock).status_code == 200
    time.sleep(0.4)
    assert call(client, mock).status_code == 500


def test_chaos_takes_over_from_scripts_without_consuming_them(mock, client):
    mock.script({"status": 503})
    chaos(mock, {"mode": 429})
    assert call(client, mock).status_code == 429
    mock.clear_chaos()
    assert call(client, mock).status_code == 503, "the queued script was kept"
    # Under ok and slow, scripts still apply.
    mock.script({"status": 502})
    chaos(mock, {"mode": "slow", "delay_ms": 10})
    assert call(client, mock).status_code == 502


def test_every_request_is_logged_with_a_timestamp(mock, client):
    chaos(mock, [{"mode": "500", "count": 1}])
    for _ in range(3):
        call(client, mock)
    reqs = mock.requests()
    assert [r["chaos"] for r in reqs] == ["500", None, None]
    stamps = [r["ts_ms"] for r in reqs]
    assert stamps == sorted(stamps)


def test_reset_clears_the_schedule(mock, client):
    chaos(mock, {"mode": "down"})
    mock.clear()
    assert mock.chaos_state()["phases"] == []
    assert call(client, mock).status_code == 200


@pytest.mark.parametrize("body,needle", [
    ({"mode": "sideways"}, "unknown mode"),
    ({"mode": "down", "for": 5}, "unknown field"),
    ({"mode": "429", "status": 503}, "mode 500 only"),
    ({"mode": "500", "status": 404}, "not a 5xx"),
    ([{"mode": "down"}, {"mode": "ok"}], "open-ended"),
    ([], "no phases"),
])
def test_bad_chaos_requests_are_refused_with_a_reason(mock, body, needle):
    err = chaos(mock, body, expect=400)["error"]
    assert needle in err, err
    assert mock.chaos_state()["phases"] == [], "a refused request changes nothing"
