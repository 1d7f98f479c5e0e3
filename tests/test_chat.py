"""OpenAI-format chat through a real Envoy running the tollgate filter."""
import json

import httpx
import openai
import pytest

MASTER = "sk-test-master"
UPSTREAM_KEY = "sk-upstream-secret-123"


def config(m1, m2, extra=""):
    return f"""
model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/mini-a
      api_base: {m1.base_url}/v1
      api_key: os.environ/UPSTREAM_KEY
      weight: 3
    model_info: {{id: mini-a}}
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/mini-b
      api_base: {m2.base_url}/v1
      weight: 1
    model_info: {{id: mini-b}}
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_base: {m1.base_url}
router_settings:
  model_group_alias: {{best: gpt-4o}}
general_settings:
  master_key: os.environ/MASTER_KEY
  max_request_size_mb: 0.05
{extra}
"""


ENV = {"MASTER_KEY": MASTER, "UPSTREAM_KEY": UPSTREAM_KEY}


@pytest.fixture(scope="module")
def stack(mock_factory, gateway_factory):
    m1 = mock_factory("m1")
    m2 = mock_factory("m2")
    gw = gateway_factory(config(m1, m2), env=ENV)
    return gw, m1, m2


@pytest.fixture
def client(stack):
    gw, _, _ = stack
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=MASTER, max_retries=0)


def post(gw, path, body, key=MASTER, **kw):
    headers = {"content-type": "application/json"}
    if key:
        headers["authorization"] = f"Bearer {key}"
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return httpx.post(gw.url + path, content=data, headers=headers, timeout=30, **kw)


def assert_openai_error(resp, status, needle=None):
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    err = resp.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    if needle:
        assert needle in err["message"], err


def test_sdk_chat_non_streaming(stack, client):
    gw, m1, _ = stack
    m1.clear()
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hello there"}]
    )
    resp = raw.parse()
    assert resp.choices[0].message.content == "[m1] hello there"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage.total_tokens > 0
    assert raw.headers["x-litellm-model-group"] == "gpt-4o"
    seen = m1.requests()
    assert len(seen) == 1
    # api_base without /v1 gets exactly /chat/completions appended
    assert seen[0]["path"] == "/chat/completions"
    # no provider key configured: the client's master key must not leak upstream
    assert "authorization" not in seen[0]["headers"]


def test_body_passes_through_byte_for_byte_except_model(stack):
    gw, m1, m2 = stack
    m1.clear()
    m2.clear()
    body = '{"messages": [{"role": "user", "content": "caf\\u00e9 \u00e9"}],\n "temperature": 0.25, "model":"gpt-4o-mini", "x_custom": [1, 2.50, {"k": null}]}'
    for _ in range(20):
        resp = post(gw, "/v1/chat/completions", body.encode())
        assert resp.status_code == 200, resp.text
    seen = [(r, "mini-a") for r in m1.requests()] + [(r, "mini-b") for r in m2.requests()]
    assert len(seen) == 20
    for r, target in seen:
        assert r["path"] == "/v1/chat/completions"
        assert r["body"] == body.replace('"gpt-4o-mini"', f'"{target}"')
        assert r["headers"]["content-length"] == str(len(r["body"].encode()))


def test_provider_key_replaces_client_key(stack):
    gw, m1, _ = stack
    m1.clear()
    for _ in range(30):
        assert post(gw, "/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}).status_code == 200
    mini = [r for r in m1.requests() if r["path"] == "/v1/chat/completions"]
    assert mini, "weight 3 deployment never chosen in 30 requests"
    for r in mini:
        assert r["headers"]["authorization"] == f"Bearer {UPSTREAM_KEY}"
        assert r["headers"]["host"].startswith("127.0.0.1:")


def test_sdk_streaming_with_usage(stack, client):
    stream = client.chat.completions.create(
        model="best",
        messages=[{"role": "user", "content": "one two three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "[m1] one two three"
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_stream_is_passed_through_as_sse(stack):
    gw, _, _ = stack
    body = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "a b"}]}
    with httpx.stream("POST", gw.url + "/v1/chat/completions", json=body,
                      headers={"authorization": f"Bearer {MASTER}"}, timeout=30) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = b"".join(r.iter_raw())
    events = [e for e in raw.decode().split("\n\n") if e]
    assert events[-1] == "data: [DONE]"
    assert all(e.startswith("data: ") for e in events)


def test_models_list(stack, client):
    ids = sorted(m.id for m in client.models.list())
    assert ids == ["best", "gpt-4o", "gpt-4o-mini"]
    gw, _, _ = stack
    assert httpx.get(gw.url + "/models", headers={"authorization": f"Bearer {MASTER}"}).status_code == 200


def test_weighted_selection_3_to_1(stack):
    gw, m1, m2 = stack
    m1.clear()
    m2.clear()
    n = 400
    names = []
    for _ in range(n):
        r = post(gw, "/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "w"}]})
        assert r.status_code == 200
        names.append(r.headers["x-mock-name"])
    share = names.count("m1") / n
    # 3:1 weights -> 75%; +-10 points is > 4 standard deviations at n=400
    assert 0.65 <= share <= 0.85, share
    assert names.count("m1") + names.count("m2") == n


@pytest.mark.parametrize(
    "case,status,needle",
    [
        ("malformed", 400, "could not parse the JSON"),
        ("not_object", 400, "JSON object"),
        ("missing_model", 400, "must provide a model"),
        ("unknown_model", 404, "`no-such-model`"),
        ("no_key", 401, "Missing API key"),
        ("wrong_key", 401, "Invalid API key"),
        ("oversize", 413, "larger than the limit"),
        ("bad_path", 404, "Invalid URL (POST /v1/nope)"),
        ("wrong_method", 405, "not allowed"),
    ],
)
def test_error_cases(stack, case, status, needle):
    gw, _, _ = stack
    good = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}
    if case == "malformed":
        r = post(gw, "/v1/chat/completions", b'{"model": "gpt-4o", ')
    elif case == "not_object":
        r = post(gw, "/v1/chat/completions", b"[1,2]")
    elif case == "missing_model":
        r = post(gw, "/v1/chat/completions", {"messages": []})
    elif case == "unknown_model":
        r = post(gw, "/v1/chat/completions", {"model": "no-such-model", "messages": []})
    elif case == "no_key":
        r = post(gw, "/v1/chat/completions", good, key=None)
    elif case == "wrong_key":
        r = post(gw, "/v1/chat/completions", good, key="sk-wrong")
    elif case == "oversize":
        big = dict(good, padding="x" * 200_000)
        r = post(gw, "/v1/chat/completions", big)
    elif case == "bad_path":
        r = post(gw, "/v1/nope", good)
    else:
        r = httpx.get(gw.url + "/v1/chat/completions", headers={"authorization": f"Bearer {MASTER}"})
        assert r.headers["allow"] == "POST"
    assert_openai_error(r, status, needle)


def test_sdk_raises_typed_errors(client):
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    assert e.value.body["code"] == "model_not_found"
    bad = openai.OpenAI(base_url=client.base_url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])


def test_provider_error_passes_through(stack):
    gw, m1, _ = stack
    body = {"error": {"message": "overloaded upstream", "type": "server_error", "param": None, "code": None}}
    r = httpx.post(gw.url + "/v1/chat/completions",
                   json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]},
                   headers={"authorization": f"Bearer {MASTER}",
                            "x-mock-script": json.dumps({"status": 500, "body": body})}, timeout=30)
    assert r.status_code == 500
    assert r.json() == body


def test_gateway_keeps_serving_after_errors(stack, client):
    gw, _, _ = stack
    for _ in range(5):
        post(gw, "/v1/chat/completions", b"{bad")
    resp = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "still ok"}])
    assert resp.choices[0].message.content == "[m1] still ok"


def test_unreachable_upstream_is_an_openai_shaped_error(mock_factory, gateway_factory, free_port):
    port = free_port()  # nothing listens here
    cfg = f"""
model_list:
  - model_name: dead
    litellm_params: {{model: openai/dead, api_base: "http://127.0.0.1:{port}/v1"}}
"""
    gw = gateway_factory(cfg)
    r = httpx.post(gw.url + "/v1/chat/completions", json={"model": "dead", "messages": []}, timeout=30)
    assert r.status_code == 503
    err = r.json()["error"]
    assert err["type"] == "upstream_error"
    assert "connect" in err["message"] or "reset" in err["message"]


def test_oversize_chunked_upload_without_content_length(stack):
    gw, _, _ = stack

    def gen():
        yield b'{"model": "gpt-4o", "pad": "'
        for _ in range(10):
            yield b"x" * 8000
        yield b'"}'

    r = httpx.post(gw.url + "/v1/chat/completions", content=gen(),
                   headers={"authorization": f"Bearer {MASTER}", "content-type": "application/json"},
                   timeout=30)
    assert_openai_error(r, 413, "larger than the limit")


def test_deployment_timeout_is_enforced(mock_factory, gateway_factory):
    m = mock_factory("slow")
    gw = gateway_factory(f"""
model_list:
  - model_name: slow
    litellm_params: {{model: openai/slow, api_base: "{m.base_url}/v1", timeout: 1}}
""")
    m.script({"delay_ms": 4000})
    r = httpx.post(gw.url + "/v1/chat/completions", timeout=30,
                   json={"model": "slow", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 504, r.text
    assert r.elapsed.total_seconds() < 3.5
    assert r.json()["error"]["type"] == "upstream_error"
