"""Background health checks and the health routes through a real Envoy (2 workers)."""
import time

import httpx
import pytest

MASTER = "sk-health-master"
ANTHROPIC_KEY = "sk-ant-health-key-0001"
GEMINI_KEY = "AIza-health-key-0002"
FLAKY_KEY = "sk-flaky-provider-key-0003"
INTERVAL_S = 1
COOLDOWN_S = 2
UA = "tollgate-health-check/"


def config(main, flaky):
    return f"""
model_list:
  - model_name: gpt
    litellm_params: {{model: openai/gpt-hc, api_base: "{main.base_url}/v1"}}
    model_info: {{id: gpt-a}}
  - model_name: gpt
    litellm_params: {{model: openai/gpt-hc-b, api_base: "{flaky.base_url}/v1", api_key: os.environ/FLAKY_KEY}}
    model_info: {{id: gpt-b}}
  - model_name: emb
    litellm_params: {{model: openai/text-embedding-3-small, api_base: "{main.base_url}/v1"}}
    model_info: {{id: emb}}
  - model_name: claude
    litellm_params: {{model: anthropic/claude-hc, api_base: "{main.base_url}", api_key: os.environ/ANTHROPIC_KEY}}
    model_info: {{id: claude}}
  - model_name: gem
    litellm_params: {{model: gemini/gemini-hc, api_base: "{main.base_url}", api_key: os.environ/GEMINI_KEY}}
    model_info: {{id: gem}}
  - model_name: gem-emb
    litellm_params: {{model: gemini/vectors-hc, api_base: "{main.base_url}", api_key: os.environ/GEMINI_KEY}}
    model_info: {{id: gem-emb, mode: embedding}}
  - model_name: wild
    litellm_params: {{model: "openai/*", api_base: "{main.base_url}/v1"}}
    model_info: {{id: wild, health_check_model: openai/wild-check}}
  - model_name: quiet
    litellm_params: {{model: openai/quiet-hc, api_base: "{main.base_url}/v1"}}
    model_info: {{id: quiet, disable_background_health_check: true}}
  - model_name: solo
    litellm_params: {{model: openai/solo-hc, api_base: "{flaky.base_url}/v1", api_key: os.environ/FLAKY_KEY}}
    model_info: {{id: solo}}
router_settings: {{cooldown_time: {COOLDOWN_S}}}
general_settings:
  master_key: os.environ/MASTER
  background_health_checks: true
  health_check_interval: {INTERVAL_S}
"""


ENV = {"MASTER": MASTER, "ANTHROPIC_KEY": ANTHROPIC_KEY, "GEMINI_KEY": GEMINI_KEY,
       "FLAKY_KEY": FLAKY_KEY}


@pytest.fixture(scope="module")
def stack(mock_factory, gateway_factory):
    main = mock_factory("hc-main")
    flaky = mock_factory("hc-flaky")
    gw = gateway_factory(config(main, flaky), env=ENV)
    return gw, main, flaky


def checks(mock):
    return [r for r in mock.requests() if r["headers"].get("user-agent", "").startswith(UA)]


def check_model(r):
    """The deployment a logged check was for: its body's model, or the Gemini path."""
    if "models/" in r["path"]:
        return r["path"].split("models/", 1)[1].split(":", 1)[0]
    import json
    return json.loads(r["body"]).get("model")


def get(gw, path, key=None):
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.get(gw.url + path, headers=headers, timeout=10)


def wait_for(what, predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def endpoint(body, model_id):
    for kind in ("healthy_endpoints", "unhealthy_endpoints"):
        for e in body[kind]:
            if e["model_id"] == model_id:
                return kind, e
    raise AssertionError(f"{model_id} not in {body}")


def test_envoy_runs_two_workers(stack):
    gw, _, _ = stack
    text = gw.admin("/stats?filter=^server.concurrency$").text
    assert "server.concurrency: 2" in text, text


def test_checks_arrive_in_each_providers_format(stack):
    gw, main, _ = stack
    main.clear()
    want = {"gpt-hc", "text-embedding-3-small", "claude-hc", "gemini-hc", "vectors-hc", "wild-check"}
    got = wait_for("a check of every deployment",
                   lambda: {check_model(r): r for r in checks(main)}
                   if want <= {check_model(r) for r in checks(main)} else None)
    assert "quiet-hc" not in got, "disable_background_health_check is honoured"
    chat = got["gpt-hc"]
    assert (chat["method"], chat["path"]) == ("POST", "/v1/chat/completions")
    assert '"max_tokens":1' in chat["body"]
    emb = got["text-embedding-3-small"]
    assert emb["path"] == "/v1/embeddings" and '"input":"ping"' in emb["body"]
    claude = got["claude-hc"]
    assert claude["path"] == "/v1/messages"
    assert claude["headers"]["x-api-key"] == ANTHROPIC_KEY
    assert claude["headers"]["anthropic-version"] == "2023-06-01"
    gem = got["gemini-hc"]
    assert gem["path"] == "/v1beta/models/gemini-hc:generateContent"
    assert gem["headers"]["x-goog-api-key"] == GEMINI_KEY
    assert got["vectors-hc"]["path"] == "/v1beta/models/vectors-hc:embedContent"
    assert got["wild-check"]["path"] == "/v1/chat/completions", "health_check_model"
    # The mock validates each provider's format: every check passed.
    body = wait_for("checked_at on every checked deployment", lambda: (
        lambda b: b if all(e["checked_at"] for e in b["healthy_endpoints"]
                           if e["model_id"] in {"gpt-a", "emb", "claude", "gem", "gem-emb", "wild"})
        else None)(get(gw, "/health", MASTER).json()))
    kinds = {e["model_id"]: k for k in ("healthy_endpoints", "unhealthy_endpoints")
             for e in body[k]}
    for dep in ("gpt-a", "emb", "claude", "gem", "gem-emb", "wild", "quiet"):
        assert kinds[dep] == "healthy_endpoints", body
    _, quiet = endpoint(body, "quiet")
    assert quiet["checked_at"] is None


def test_one_check_per_deployment_per_interval_with_two_workers(stack):
    gw, main, _ = stack
    main.clear()
    window = 6.0
    time.sleep(window)
    per_model: dict[str, list[int]] = {}
    for r in checks(main):
        per_model.setdefault(check_model(r), []).append(r["ts_ms"])
    assert set(per_model) == {"gpt-hc", "text-embedding-3-small", "claude-hc", "gemini-hc",
                              "vectors-hc", "wild-check"}, per_model
    for model, times in per_model.items():
        times.sort()
        gaps = [b - a for a, b in zip(times, times[1:])]
        # One round per second from one worker: 5-7 checks in 6 s, about 1 s apart
        # (two workers checking on their own would double both).
        assert window / INTERVAL_S - 1 <= len(times) <= window / INTERVAL_S + 1, (model, times)
        assert all(600 <= g <= 1600 for g in gaps), (model, gaps)
    # Every deployment is checked in the same round.
    starts = sorted(per_model["gpt-hc"])
    for times in per_model.values():
        assert all(min(abs(t - s) for s in starts) < 300 for t in times), per_model


def test_a_failing_deployment_is_unhealthy_then_recovers(stack):
    gw, _, flaky = stack
    flaky.clear()
    flaky.set_default({"status": 500})
    try:
        body = wait_for("solo unhealthy", lambda: (
            lambda b: b if endpoint(b, "solo")[0] == "unhealthy_endpoints"
            and endpoint(b, "gpt-b")[0] == "unhealthy_endpoints" else None)(
                get(gw, "/health", MASTER).json()))
        _, solo = endpoint(body, "solo")
        assert solo["model"] == "solo" and solo["provider"] == "openai"
        assert solo["api_base"] == f"{flaky.base_url}/v1"
        assert solo["error"].startswith("HTTP 500"), solo
        assert solo["checked_at"].endswith("Z")
        assert body["unhealthy_count"] >= 2 and body["healthy_count"] >= 6
        # The only deployment of "solo" is cooling down: not ready. "gpt" keeps gpt-a.
        r = wait_for("readiness 503", lambda: (
            lambda r: r if r.status_code == 503 else None)(get(gw, "/health/readiness")))
        ready = r.json()
        assert ready["status"] == "unhealthy"
        assert ready["unready_model_groups"] == ["solo"]
        assert ready["model_groups"]["solo"] == {"usable": 0, "deployments": 1, "served_by_fallback": None}
        assert ready["model_groups"]["gpt"]["deployments"] == 2
        # A provider that echoes its key: the stored error never carries it.
        flaky.set_default({"status": 401, "body": {"error": {
            "message": f"Incorrect API key provided: {FLAKY_KEY}.", "type": "invalid_request_error"}}})
        body = wait_for("the 401 recorded", lambda: (
            lambda b: b if "401" in (endpoint(b, "solo")[1].get("error") or "") else None)(
                get(gw, "/health", MASTER).json()))
        _, solo = endpoint(body, "solo")
        assert solo["error"] == "HTTP 401: Incorrect API key provided: [redacted].", solo
        assert FLAKY_KEY not in get(gw, "/health", MASTER).text
    finally:
        flaky.set_default(None)
    # Healthy again: after the cooldown a passing check closes the breaker.
    wait_for("readiness 200", lambda: get(gw, "/health/readiness").status_code == 200,
             timeout=COOLDOWN_S + 10)
    body = wait_for("solo healthy", lambda: (
        lambda b: b if endpoint(b, "solo")[0] == "healthy_endpoints"
        and endpoint(b, "gpt-b")[0] == "healthy_endpoints" else None)(
            get(gw, "/health", MASTER).json()), timeout=COOLDOWN_S + 10)
    assert body["unhealthy_count"] == 0, body
    assert "error" not in endpoint(body, "solo")[1]


def test_health_needs_an_admin_and_probes_need_nothing(stack):
    gw, _, _ = stack
    r = get(gw, "/health")
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "invalid_api_key"
    plain = httpx.post(gw.url + "/key/generate", json={"key_alias": "hc-plain"}, timeout=10,
                       headers={"authorization": f"Bearer {MASTER}"}).json()["key"]
    r = get(gw, "/health", plain)
    assert r.status_code == 403, r.text
    err = r.json()["error"]
    assert err["type"] == "permission_denied" and "/health" in err["message"]
    admin = httpx.post(gw.url + "/key/generate", json={"role": "proxy_admin"}, timeout=10,
                       headers={"authorization": f"Bearer {MASTER}"}).json()["key"]
    r = get(gw, "/health", admin)
    assert r.status_code == 200 and "healthy_endpoints" in r.json()
    for path in ("/health/liveliness", "/health/liveness"):
        for key in (None, plain, "sk-wrong"):
            r = get(gw, path, key)
            assert r.status_code == 200, (path, key, r.text)
            assert r.json() == "I'm alive!"
    r = get(gw, "/health/readiness", "sk-wrong")
    assert r.status_code in (200, 503) and r.json()["status"] in ("healthy", "unhealthy")


def test_no_checks_unless_enabled(mock_factory, gateway_factory):
    m = mock_factory("hc-off")
    gw = gateway_factory(f"""
model_list:
  - model_name: gpt
    litellm_params: {{model: openai/gpt-off, api_base: "{m.base_url}/v1"}}
general_settings: {{master_key: os.environ/MASTER}}
""", env={"MASTER": MASTER})
    time.sleep(2.5)
    assert checks(m) == []
    body = get(gw, "/health", MASTER).json()
    assert body["background_health_checks"] is False
    assert body["healthy_count"] == 1 and body["healthy_endpoints"][0]["checked_at"] is None
    r = get(gw, "/health/readiness")
    assert r.status_code == 200 and r.json()["model_groups"]["gpt"]["usable"] == 1
