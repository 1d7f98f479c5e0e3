"""Routing strategies within a model group, through a real Envoy with 2 workers.

Each test runs its own gateway (the strategy is global to a config) over mock
providers; which deployment served a request is read from x-litellm-model-id.
"""
import collections
import concurrent.futures as cf
import json
import threading
import time

import httpx
import pytest

import harness

MASTER = "sk-routing-master"
ENV = {"MASTER": MASTER}


def config(strategy, deployments, args=""):
    """deployments: (group, id, mock, extra litellm_params) tuples."""
    entries = "".join(
        f"""
  - model_name: {group}
    litellm_params: {{model: openai/{dep_id}, api_base: "{mock.base_url}/v1"{extra}}}
    model_info: {{id: {dep_id}}}"""
        for group, dep_id, mock, extra in deployments
    )
    return f"""
model_list:{entries}
router_settings:
  routing_strategy: {strategy}
  {args}
general_settings: {{master_key: os.environ/MASTER}}
"""


def chat(gw, model="g", timeout=10, script=None, words=1, **body):
    payload = {"model": model, "max_tokens": 5,
               "messages": [{"role": "user", "content": " ".join(["hi"] * words)}], **body}
    headers = {"authorization": f"Bearer {MASTER}"}
    if script is not None:
        headers["x-mock-script"] = json.dumps(script)
    return httpx.post(gw.url + "/v1/chat/completions", json=payload, headers=headers,
                      timeout=timeout)


def served_by(r):
    assert r.status_code == 200, r.text
    return r.headers["x-litellm-model-id"]


def closed_loop(gw, workers, seconds):
    """`workers` clients each sending back-to-back requests for `seconds`; returns
    how many each deployment served."""
    counts = collections.Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(_):
        while time.monotonic() < deadline:
            dep = served_by(chat(gw))
            with lock:
                counts[dep] += 1

    with cf.ThreadPoolExecutor(workers) as pool:
        list(pool.map(run, range(workers)))
    return counts


def sequential(gw, n, **kw):
    return collections.Counter(served_by(chat(gw, **kw)) for _ in range(n))


def test_least_busy_prefers_the_idle_deployment_and_never_leaks(mock_factory, gateway_factory):
    fast, slow = mock_factory("busy-fast"), mock_factory("busy-slow")
    # The errors below are about in-flight counts, not cooldowns: ties send the 500
    # and the 503 to either deployment at random, and with the default allowed_fails
    # (3) both landing on slow beside its two timeouts would open its breaker.
    gw = gateway_factory(config("least-busy", [
        ("g", "fast", fast, ""),
        ("g", "slow", slow, ", timeout: 1"),
    ], "allowed_fails: 100"), env=ENV)
    slow.set_default({"delay_ms": 700})
    counts = closed_loop(gw, workers=4, seconds=2.0)
    # Simple-shuffle would send about half of the requests to the slow one;
    # least-busy keeps its in-flight count level with the fast one's, and the fast
    # one turns its requests over a hundred times quicker.
    assert counts["fast"] >= 0.85 * sum(counts.values()), counts

    # Errors, timeouts and disconnects all end their in-flight count.
    assert chat(gw, script={"status": 500}).status_code == 500
    assert chat(gw, script={"status": 503}).status_code == 503
    slow.set_default({"delay_ms": 2_500})  # past slow's 1 s timeout: 504
    fast.set_default({"delay_ms": 2_500})  # the client gives up first: a disconnect
    with cf.ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda _: _status_or_timeout(gw), range(4)))
    assert set(outcomes) == {504, "timeout"}, outcomes
    slow.set_default(None)
    fast.set_default(None)
    time.sleep(0.5)

    # Both idle again: ties are broken at random, so both get a fair share. A count
    # left behind (or released twice) would starve one of them.
    counts = sequential(gw, 40)
    assert counts["fast"] >= 8 and counts["slow"] >= 8, counts
    # A second burst balances between two equally fast deployments.
    counts = closed_loop(gw, workers=4, seconds=1.0)
    assert min(counts["fast"], counts["slow"]) >= 0.25 * sum(counts.values()), counts


def _status_or_timeout(gw):
    try:
        return chat(gw, timeout=2.0).status_code
    except httpx.TimeoutException:
        return "timeout"


def test_latency_based_sends_traffic_to_the_fastest(mock_factory, gateway_factory):
    fast, slow = mock_factory("lat-fast"), mock_factory("lat-slow")
    sfast, sslow = mock_factory("lat-sfast"), mock_factory("lat-sslow")
    gw = gateway_factory(config("latency-based-routing", [
        ("g", "fast", fast, ""),
        ("g", "slow", slow, ""),
        ("s", "s-fast", sfast, ""),
        ("s", "s-slow", sslow, ""),
    ]), env=ENV)
    slow.set_default({"delay_ms": 250})
    # Answers its headers at once, then waits before the first event: only the time
    # to the first byte tells that it is slow.
    sslow.set_default({"ttfb_ms": 250})

    # Unmeasured deployments are tried first, so two requests measure both.
    warm = sequential(gw, 2)
    assert warm == {"fast": 1, "slow": 1}, warm
    counts = sequential(gw, 20)
    assert counts == {"fast": 20}, counts

    def stream():
        with httpx.stream("POST", gw.url + "/v1/chat/completions", timeout=10,
                          headers={"authorization": f"Bearer {MASTER}"},
                          json={"model": "s", "stream": True, "max_tokens": 3,
                                "messages": [{"role": "user", "content": "hi"}]}) as r:
            assert r.status_code == 200
            body = r.read().decode()
            assert "data: [DONE]" in body
            return r.headers["x-litellm-model-id"]

    warm = collections.Counter(stream() for _ in range(2))
    assert warm == {"s-fast": 1, "s-slow": 1}, warm
    counts = collections.Counter(stream() for _ in range(10))
    assert counts == {"s-fast": 10}, counts


def test_latency_buffer_spreads_over_near_fastest(mock_factory, gateway_factory):
    a, b = mock_factory("buf-a"), mock_factory("buf-b")
    gw = gateway_factory(config("latency-based-routing", [
        ("g", "a", a, ""),
        ("g", "b", b, ""),
    ], args="routing_strategy_args: {lowest_latency_buffer: 1.5}"), env=ENV)
    a.set_default({"delay_ms": 20})
    b.set_default({"delay_ms": 40})
    sequential(gw, 2)
    # b is slower, but within 2.5 × a's average: both stay candidates.
    counts = sequential(gw, 30)
    assert counts["a"] >= 5 and counts["b"] >= 5, counts


def test_usage_based_routes_to_the_lowest_tpm(mock_factory, gateway_factory):
    m = mock_factory("usage")
    gw = gateway_factory(config("usage-based-routing-v2", [
        ("g", "a", m, ""),
        ("g", "b", m, ""),
        ("capped", "c1", m, ", rpm: 2"),
        ("capped", "c2", m, ""),
    ]), env=ENV)
    if time.time() % 60 > 55:  # one-minute windows: keep the test inside one
        time.sleep(61 - time.time() % 60)
    # A big prompt (about 10k tokens) makes its deployment the busier one this minute.
    heavy = served_by(chat(gw, words=13_000))
    light = "b" if heavy == "a" else "a"
    counts = sequential(gw, 12)
    assert counts == {light: 12}, counts
    # A deployment at its rpm is skipped: c1 serves at most 2 this minute.
    capped = sequential(gw, 8, model="capped")
    assert capped["c1"] <= 2 and capped["c2"] >= 6, capped


def test_usage_based_v1_name_is_accepted(mock_factory, gateway_factory):
    m = mock_factory("usage-v1")
    gw = gateway_factory(config("usage-based-routing", [
        ("g", "a", m, ""),
        ("g", "b", m, ""),
    ]), env=ENV)
    heavy = served_by(chat(gw, words=8_000))
    assert sequential(gw, 4) == {("b" if heavy == "a" else "a"): 4}


@pytest.mark.parametrize("strategy", ["round-robin", "cost-based-routing"])
def test_unknown_strategy_is_refused_by_validate(strategy, tmp_path):
    class Unused:
        base_url = "http://127.0.0.1:9"

    path = tmp_path / "config.yaml"
    path.write_text(config(strategy, [("g", "a", Unused, "")]))
    code, out, err = harness.validate(path, env=ENV)
    assert code != 0
    assert "router_settings.routing_strategy" in out + err and strategy in out + err, (out, err)
