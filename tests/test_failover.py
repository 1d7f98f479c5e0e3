"""Failover through a real Envoy: fallback chains across providers, retries within
a group, Envoy retries with backoff, cooldowns, and what clients see."""
import json
import time

import httpx
import pytest

MASTER = "sk-failover-master"
ENV = {"MASTER": MASTER, "OK": "sk-openai-secret", "AK": "ak-secret", "GK": "gk-secret"}
HDR = {"authorization": f"Bearer {MASTER}"}

BASE = """
model_list:
  - model_name: gpt-4o
    litellm_params: {{model: openai/gpt-4o, api_base: "{m1}/v1", api_key: os.environ/OK}}
    model_info: {{id: oai-primary, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}}
  - model_name: claude-sonnet
    litellm_params: {{model: anthropic/claude-sonnet-4-5, api_base: "{m2}", api_key: os.environ/AK}}
    model_info: {{id: anthropic-fallback, input_cost_per_token: 0.00001, output_cost_per_token: 0.00002}}
  - model_name: gemini-pro
    litellm_params: {{model: gemini/gemini-2.5-pro, api_base: "{m3}", api_key: os.environ/GK}}
    model_info: {{id: gemini-fallback}}
{extra}
router_settings:
  fallbacks: [{{"gpt-4o": ["claude-sonnet", "gemini-pro"]}}]
  context_window_fallbacks: [{{"gpt-4o": ["gemini-pro"]}}]
  allowed_fails: {allowed_fails}
  cooldown_time: {cooldown}
  num_retries: {retries}
general_settings: {{master_key: os.environ/MASTER}}
"""


@pytest.fixture(scope="module")
def mocks(mock_factory):
    return mock_factory("oai"), mock_factory("ant"), mock_factory("gem")


@pytest.fixture
def fresh(mocks):
    for m in mocks:
        m.clear()
    return mocks


def gateway(gateway_factory, mocks, allowed_fails=100, cooldown=30, retries=0, extra=""):
    m1, m2, m3 = mocks
    cfg = BASE.format(m1=m1.base_url, m2=m2.base_url, m3=m3.base_url, extra=extra,
                      allowed_fails=allowed_fails, cooldown=cooldown, retries=retries)
    return gateway_factory(cfg, env=ENV)


@pytest.fixture(scope="module")
def chain_gw(gateway_factory, mocks):
    return gateway(gateway_factory, mocks)


def chat(gw, model="gpt-4o", key=MASTER, timeout=30, **body):
    payload = {"model": model, "messages": [{"role": "user", "content": "hello"}], **body}
    return httpx.post(gw.url + "/v1/chat/completions", json=payload, timeout=timeout,
                      headers={"authorization": f"Bearer {key}"})


def stream_chat(gw, model="gpt-4o", **body):
    payload = {"model": model, "stream": True,
               "messages": [{"role": "user", "content": "hello"}], **body}
    with httpx.stream("POST", gw.url + "/v1/chat/completions", json=payload, timeout=30,
                      headers=HDR) as r:
        return r, r.read().decode()


def sse_events(text):
    return [line[6:] for line in text.splitlines() if line.startswith("data: ")]


DOWN = {"status": 500, "body": {"error": {"message": "upstream exploded", "type": "server_error"}}}


def test_openai_down_answered_by_anthropic(chain_gw, fresh):
    m1, m2, m3 = fresh
    m1.set_default(DOWN)
    r = chat(chain_gw)
    assert r.status_code == 200, r.text
    assert r.headers["x-litellm-model-id"] == "anthropic-fallback"
    assert r.headers["x-litellm-model-group"] == "claude-sonnet"
    assert r.headers["x-litellm-attempted-fallbacks"] == "1"
    assert r.headers["x-litellm-attempted-retries"] == "0"
    body = r.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"]
    assert len(m1.requests()) == 1
    [req] = m2.requests()
    assert req["path"] == "/v1/messages"
    # The fallback got its own provider's credential, never another's.
    assert req["headers"].get("x-api-key") == "ak-secret"
    assert "sk-openai-secret" not in json.dumps(req)
    assert m3.requests() == []
    # Cost is charged at the answering deployment's prices.
    assert float(r.headers["x-litellm-response-cost"]) > 0


def test_chain_order_anthropic_then_gemini(chain_gw, fresh):
    m1, m2, m3 = fresh
    m1.set_default(DOWN)
    m2.set_default({"status": 529, "body": {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}})
    r = chat(chain_gw)
    assert r.status_code == 200, r.text
    assert r.headers["x-litellm-model-id"] == "gemini-fallback"
    assert r.headers["x-litellm-attempted-fallbacks"] == "2"
    assert [len(m.requests()) for m in fresh] == [1, 1, 1]
    assert ":generateContent" in m3.requests()[0]["path"]


def test_streaming_request_fails_over_before_the_first_byte(chain_gw, fresh):
    m1, m2, _ = fresh
    m1.set_default(DOWN)
    r, text = stream_chat(chain_gw, stream_options={"include_usage": True})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["x-litellm-model-id"] == "anthropic-fallback"
    events = sse_events(text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert content
    assert any(c.get("usage") for c in chunks), "usage chunk asked for with include_usage"
    assert json.loads(m2.requests()[0]["body"])["stream"] is True


def test_streaming_with_the_openai_sdk(chain_gw, fresh):
    m1, _, _ = fresh
    m1.set_default({"drop_connection": True})
    client = chain_gw.openai_client(MASTER)
    parts = []
    for chunk in client.chat.completions.create(model="gpt-4o", stream=True,
                                                messages=[{"role": "user", "content": "hi"}]):
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
    assert "".join(parts)


def test_connect_failure_falls_back(chain_gw, fresh):
    m1, m2, _ = fresh
    m1.set_default({"drop_connection": True})
    r = chat(chain_gw)
    assert r.status_code == 200, r.text
    assert r.headers["x-litellm-model-id"] == "anthropic-fallback"


def test_client_error_is_not_failed_over(chain_gw, fresh):
    m1, m2, m3 = fresh
    m1.set_default({"status": 400, "body": {"error": {"message": "messages: bad role", "type": "invalid_request_error"}}})
    r = chat(chain_gw)
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "messages: bad role"
    assert m2.requests() == [] and m3.requests() == []


def test_context_window_error_uses_context_window_fallbacks(chain_gw, fresh):
    m1, m2, m3 = fresh
    m1.set_default({"status": 400, "body": {"error": {
        "message": "This model's maximum context length is 128000 tokens.",
        "type": "invalid_request_error", "code": "context_length_exceeded"}}})
    r = chat(chain_gw)
    assert r.status_code == 200, r.text
    assert r.headers["x-litellm-model-id"] == "gemini-fallback"
    assert m2.requests() == [], "context-window chain skips the general chain"


def test_per_request_fallbacks_and_disable(chain_gw, fresh):
    m1, m2, m3 = fresh
    m1.set_default(DOWN)
    r = chat(chain_gw, fallbacks=["gemini-pro"])
    assert r.status_code == 200, r.text
    assert r.headers["x-litellm-model-id"] == "gemini-fallback"
    assert m2.requests() == []
    # The gateway's own fields never reach a provider.
    for req in m1.requests() + m3.requests():
        assert "fallbacks" not in req["body"]
    r = chat(chain_gw, disable_fallbacks=True)
    assert r.status_code == 500
    assert r.json()["error"]["message"] == "upstream exploded"
    assert r.headers["x-litellm-attempted-fallbacks"] == "0"
    r = chat(chain_gw, fallbacks="gemini-pro")
    assert r.status_code == 400 and r.json()["error"]["param"] == "fallbacks"


def test_fallbacks_limited_to_models_the_key_may_use(chain_gw, fresh):
    m1, m2, m3 = fresh
    m1.set_default(DOWN)
    r = httpx.post(chain_gw.url + "/key/generate", headers=HDR, timeout=30,
                   json={"models": ["gpt-4o", "gemini-pro"]})
    key = r.json()["key"]
    r = chat(chain_gw, key=key)
    assert r.status_code == 200, r.text
    assert r.headers["x-litellm-model-id"] == "gemini-fallback"
    assert m2.requests() == [], "claude-sonnet is not in the key's models"
    r = chat(chain_gw, key=key, fallbacks=["claude-sonnet"])
    assert r.status_code == 500, "a per-request fallback the key may not use is dropped"
    assert m2.requests() == []


def test_every_deployment_down_returns_the_last_error(chain_gw, fresh):
    for m in fresh:
        m.set_default(DOWN)
    r = chat(chain_gw)
    assert r.status_code == 500
    assert r.json()["error"]["message"] == "upstream exploded"
    assert r.headers["x-litellm-attempted-fallbacks"] == "2"
    assert [len(m.requests()) for m in fresh] == [1, 1, 1]


def test_spend_is_charged_to_the_answering_deployment(chain_gw, fresh):
    m1, _, _ = fresh
    m1.set_default(DOWN)
    r = chat(chain_gw)
    assert r.status_code == 200
    logs = httpx.get(chain_gw.url + "/spend/logs", headers=HDR, timeout=30).json()
    last = logs[-1] if isinstance(logs, list) else logs["data"][-1]
    flat = json.dumps(last)
    assert "anthropic-fallback" in flat and "claude-sonnet" in flat


def test_retry_goes_to_another_deployment_of_the_group_first(gateway_factory, mocks, mock_factory):
    for m in mocks:
        m.clear()
    m4 = mock_factory("oai-b")
    extra = f"""  - model_name: gpt-4o
    litellm_params: {{model: openai/gpt-4o, api_base: "{m4.base_url}/v1", api_key: os.environ/OK}}
    model_info: {{id: oai-secondary}}"""
    gw = gateway(gateway_factory, mocks, retries=1, extra=extra)
    m1, m2, _ = mocks
    m1.set_default(DOWN)
    seen = set()
    for _ in range(20):
        r = chat(gw)
        assert r.status_code == 200, r.text
        assert r.headers["x-litellm-model-id"] == "oai-secondary"
        seen.add(r.headers["x-litellm-attempted-retries"])
    # Requests routed first to the broken one were retried on the other.
    assert "1" in seen and len(m1.requests()) >= 1
    assert m2.requests() == [], "retries in the group come before fallbacks"


def test_lone_deployment_retried_by_envoy_with_retry_after(gateway_factory, mock_factory):
    m = mock_factory("lone")
    cfg = f"""
model_list:
  - model_name: solo
    litellm_params: {{model: openai/solo, api_base: "{m.base_url}/v1"}}
    model_info: {{id: solo-1}}
router_settings: {{num_retries: 2, allowed_fails: 100}}
"""
    gw = gateway_factory(cfg)
    m.script({"status": 429, "headers": {"retry-after": "1"},
              "body": {"error": {"message": "slow down", "type": "rate_limit_error"}}})
    t0 = time.monotonic()
    r = chat(gw, model="solo", key="none")
    elapsed = time.monotonic() - t0
    assert r.status_code == 200, r.text
    assert r.headers["x-litellm-attempted-retries"] == "1"
    assert "x-envoy-attempt-count" not in r.headers
    assert len(m.requests()) == 2
    assert elapsed >= 0.9, f"retry-after: 1 honoured, waited {elapsed:.2f}s"
    # A client error is never retried.
    m.clear()
    m.script({"status": 400, "body": {"error": {"message": "bad", "type": "invalid_request_error"}}})
    r = chat(gw, model="solo", key="none")
    assert r.status_code == 400
    assert len(m.requests()) == 1
    # A client cannot ask Envoy for retries itself.
    m.clear()
    m.set_default(DOWN)
    r = httpx.post(gw.url + "/v1/chat/completions", timeout=30,
                   json={"model": "solo", "messages": [{"role": "user", "content": "x"}]},
                   headers={"x-envoy-max-retries": "9", "x-envoy-retry-on": "5xx"})
    assert r.status_code == 500
    assert len(m.requests()) == 3, "num_retries 2 -> 3 attempts, not 10"


def test_cooldown_skips_the_deployment_then_a_probe_recovers_it(gateway_factory, mocks):
    for m in mocks:
        m.clear()
    gw = gateway(gateway_factory, mocks, allowed_fails=1, cooldown=2)
    m1, m2, _ = mocks
    m1.set_default(DOWN)
    for _ in range(2):
        r = chat(gw)
        assert r.status_code == 200 and r.headers["x-litellm-model-id"] == "anthropic-fallback"
    assert len(m1.requests()) == 2
    # Cooling down: the primary receives nothing, requests go straight to the fallback.
    t_open = time.monotonic()
    while time.monotonic() - t_open < 1.2:
        r = chat(gw)
        assert r.status_code == 200 and r.headers["x-litellm-model-id"] == "anthropic-fallback"
        assert r.headers["x-litellm-attempted-fallbacks"] == "1"
    assert len(m1.requests()) == 2, "no request reached the cooling deployment"
    # The provider recovers; after the cooldown one probe closes the breaker.
    m1.set_default(None)
    time.sleep(1.2)
    r = chat(gw)
    assert r.status_code == 200 and r.headers["x-litellm-model-id"] == "oai-primary"
    for _ in range(3):
        assert chat(gw).headers["x-litellm-model-id"] == "oai-primary"


def test_everything_cooling_down_is_a_clear_503(gateway_factory, mocks):
    for m in mocks:
        m.clear()
    gw = gateway(gateway_factory, mocks, allowed_fails=0, cooldown=30)
    for m in mocks:
        m.set_default(DOWN)
    r = chat(gw)
    assert r.status_code == 500
    r = chat(gw)
    assert r.status_code == 503
    err = r.json()["error"]
    for dep in ("oai-primary", "anthropic-fallback", "gemini-fallback"):
        assert dep in err["message"]
    assert "cooling down" in err["message"]
    assert 1 <= int(r.headers["retry-after"]) <= 30
    assert [len(m.requests()) for m in mocks] == [1, 1, 1]


def test_deployment_timeout_falls_back(gateway_factory, mocks):
    for m in mocks:
        m.clear()
    m1, m2, m3 = mocks
    cfg = BASE.format(m1=m1.base_url, m2=m2.base_url, m3=m3.base_url, extra="",
                      allowed_fails=100, cooldown=30, retries=0)
    cfg = cfg.replace('api_key: os.environ/OK}', 'api_key: os.environ/OK, timeout: 1, stream_timeout: 1}', 1)
    gw = gateway_factory(cfg, env=ENV)
    m1.set_default({"delay_ms": 3000})
    t0 = time.monotonic()
    r = chat(gw)
    assert r.status_code == 200, r.text
    assert r.headers["x-litellm-model-id"] == "anthropic-fallback"
    assert time.monotonic() - t0 < 2.5
    r, text = stream_chat(gw)
    assert r.status_code == 200 and r.headers["x-litellm-model-id"] == "anthropic-fallback"
    assert sse_events(text)[-1] == "[DONE]"


def test_stream_cut_after_bytes_is_an_error_and_counts(gateway_factory, mocks):
    for m in mocks:
        m.clear()
    gw = gateway(gateway_factory, mocks, allowed_fails=0, cooldown=30)
    m1, m2, _ = mocks
    m1.set_default({"drop_after_chunks": 2})
    with pytest.raises(Exception):
        # The client sees a broken stream, never a clean end: the SDK raises.
        client = gw.openai_client(MASTER, max_retries=0)
        for _ in client.chat.completions.create(model="gpt-4o", stream=True,
                                                messages=[{"role": "user", "content": "hi"}]):
            pass
    assert len(m1.requests()) == 1 and m2.requests() == []
    # The break counted against the deployment: with allowed_fails 0 it cools down.
    time.sleep(0.2)
    r = chat(gw)
    assert r.status_code == 200 and r.headers["x-litellm-model-id"] == "anthropic-fallback"
    assert len(m1.requests()) == 1


def test_responses_client_fails_over_to_anthropic(chain_gw, fresh):
    m1, m2, _ = fresh
    m1.set_default(DOWN)
    r = httpx.post(chain_gw.url + "/v1/responses", headers=HDR, timeout=30,
                   json={"model": "gpt-4o", "input": "hello"})
    assert r.status_code == 200, r.text
    assert r.headers["x-litellm-model-id"] == "anthropic-fallback"
    body = r.json()
    assert body["object"] == "response" and body["status"] == "completed"
    assert m1.requests()[0]["path"] == "/v1/responses"
    assert m2.requests()[0]["path"] == "/v1/messages"


def test_anthropic_client_fails_over_in_its_own_format(chain_gw, fresh):
    m1, m2, _ = fresh
    m1.set_default(DOWN)
    r = httpx.post(chain_gw.url + "/v1/messages", timeout=30,
                   headers={"x-api-key": MASTER, "anthropic-version": "2023-06-01"},
                   json={"model": "gpt-4o", "max_tokens": 50,
                         "messages": [{"role": "user", "content": "hello"}]})
    assert r.status_code == 200, (r.text, m2.requests())
    assert r.headers["x-litellm-model-id"] == "anthropic-fallback"
    body = r.json()
    assert body["type"] == "message" and body["content"][0]["type"] == "text"


def test_gemini_client_stream_fails_over(chain_gw, fresh):
    m1, _, _ = fresh
    m1.set_default(DOWN)
    r = httpx.post(chain_gw.url + "/v1beta/models/gpt-4o:streamGenerateContent?alt=sse",
                   timeout=30, headers={"x-goog-api-key": MASTER},
                   json={"contents": [{"role": "user", "parts": [{"text": "hello"}]}]})
    assert r.status_code == 200, r.text
    assert r.headers["x-litellm-model-id"] == "anthropic-fallback"
    events = [json.loads(e) for e in sse_events(r.text)]
    text = "".join(p.get("text", "") for e in events
                   for c in e.get("candidates", []) for p in c["content"].get("parts", []))
    assert text


def test_stream_timeout_bounds_the_first_byte_not_the_stream(gateway_factory, mocks):
    for m in mocks:
        m.clear()
    m1, m2, m3 = mocks
    cfg = BASE.format(m1=m1.base_url, m2=m2.base_url, m3=m3.base_url, extra="",
                      allowed_fails=100, cooldown=30, retries=0)
    cfg = cfg.replace('api_key: os.environ/OK}', 'api_key: os.environ/OK, timeout: 20, stream_timeout: 1}', 1)
    gw = gateway_factory(cfg, env=ENV)
    # No first byte within stream_timeout: the fallback answers.
    m1.set_default({"delay_ms": 3000})
    t0 = time.monotonic()
    r, text = stream_chat(gw)
    assert r.headers["x-litellm-model-id"] == "anthropic-fallback"
    assert time.monotonic() - t0 < 2.5
    # A stream that starts at once may run past stream_timeout.
    m1.set_default({"chunk_delay_ms": 400})
    t0 = time.monotonic()
    r, text = stream_chat(gw, messages=[{"role": "user", "content": "tell me a long story please"}])
    assert time.monotonic() - t0 > 1.5
    assert r.headers["x-litellm-model-id"] == "oai-primary"
    assert sse_events(text)[-1] == "[DONE]"


def test_failed_health_check_cools_the_deployment_before_any_request(gateway_factory, mocks):
    for m in mocks:
        m.clear()
    m1, m2, m3 = mocks
    cfg = BASE.format(m1=m1.base_url, m2=m2.base_url, m3=m3.base_url, extra="",
                      allowed_fails=100, cooldown=30, retries=0)
    cfg = cfg.replace("general_settings: {master_key: os.environ/MASTER}",
                      "general_settings: {master_key: os.environ/MASTER, "
                      "background_health_checks: true, health_check_interval: 1}")
    m1.set_default(DOWN)
    gw = gateway_factory(cfg, env=ENV)
    deadline = time.monotonic() + 10
    while not m1.requests() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert m1.requests(), "the health check reached the primary"
    time.sleep(0.3)
    checks = len(m1.requests())
    r = chat(gw)
    assert r.status_code == 200
    # Routed straight to the fallback: the primary got health checks only.
    assert r.headers["x-litellm-model-id"] == "anthropic-fallback"
    assert r.headers["x-litellm-attempted-fallbacks"] == "1"
    assert all(json.loads(q["body"]).get("max_tokens") == 1 for q in m1.requests()[:checks])
    # Still ready: the group's requests are answered by its fallback.
    ready = httpx.get(gw.url + "/health/readiness", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json()["model_groups"]["gpt-4o"] == {
        "usable": 0, "deployments": 1, "served_by_fallback": "claude-sonnet"}
