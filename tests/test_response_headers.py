"""LiteLLM-compatible response headers on every kind of answer."""
import json
import time

import httpx
import pytest

MASTER = "sk-headers-master"


@pytest.fixture(scope="module")
def stack(mock_factory, gateway_factory):
    m = mock_factory("hdr")
    cfg = f"""
model_list:
  - model_name: gpt
    litellm_params: {{model: openai/gpt-h, api_base: "{m.base_url}/v1"}}
    model_info: {{id: gpt-dep, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}}
  - model_name: claude
    litellm_params: {{model: anthropic/claude-h, api_base: "{m.base_url}", api_key: os.environ/AK}}
    model_info: {{id: claude-dep}}
general_settings: {{master_key: os.environ/MASTER}}
"""
    return gateway_factory(cfg, env={"MASTER": MASTER, "AK": "ak"}), m


def post(gw, key=MASTER, **body):
    payload = {"model": "gpt", "messages": [{"role": "user", "content": "hi"}], **body}
    return httpx.post(gw.url + "/v1/chat/completions", json=payload, timeout=30,
                      headers={"authorization": f"Bearer {key}"})


def litellm_headers(r):
    return {k: v for k, v in r.headers.items() if k.startswith("x-litellm-")}


def test_success_carries_every_header(stack):
    gw, _ = stack
    t0 = time.monotonic()
    r = post(gw)
    total_ms = (time.monotonic() - t0) * 1000
    assert r.status_code == 200
    h = litellm_headers(r)
    for name in ("x-litellm-call-id", "x-litellm-model-id", "x-litellm-model-group",
                 "x-litellm-response-cost", "x-litellm-key-spend",
                 "x-litellm-attempted-retries", "x-litellm-attempted-fallbacks",
                 "x-litellm-overhead-duration-ms"):
        assert name in h, (name, h)
    assert h["x-litellm-model-id"] == "gpt-dep" and h["x-litellm-model-group"] == "gpt"
    overhead = float(h["x-litellm-overhead-duration-ms"])
    assert 0 <= overhead < total_ms
    # Small: all of the gateway's headers fit in well under 1 KB.
    assert sum(len(k) + len(v) for k, v in h.items()) < 1024


def test_call_ids_are_unique_and_match_the_access_log(stack):
    gw, _ = stack
    ids = {post(gw).headers["x-litellm-call-id"] for _ in range(5)}
    assert len(ids) == 5
    deadline = time.time() + 5
    logged = {}
    while time.time() < deadline and not ids <= logged.keys():
        for line in gw.log().splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                logged[entry.get("request_id")] = entry
        time.sleep(0.2)
    assert ids <= logged.keys()
    # One JSON line per request with the spend record a pipeline can rebuild spend from.
    entry = logged[next(iter(ids))]
    for field in ("time", "method", "path", "status", "duration_ms", "ttfb_ms",
                  "upstream_host", "upstream_attempts", "bytes_sent", "response_code_details"):
        assert field in entry, (field, entry)
    spend = json.loads(entry["spend"])
    assert spend["model_id"] == "gpt-dep" and spend["spend"] > 0
    assert entry["response_code_details"] == "via_upstream"


def test_errors_and_streams_carry_the_call_id(stack):
    gw, _ = stack
    r = post(gw, key="sk-wrong")
    assert r.status_code == 401 and r.headers.get("x-litellm-call-id")
    r = post(gw, model="nope")
    assert r.status_code == 404 and r.headers.get("x-litellm-call-id")
    with httpx.stream("POST", gw.url + "/v1/chat/completions", timeout=30,
                      headers={"authorization": f"Bearer {MASTER}"},
                      json={"model": "claude", "stream": True,
                            "messages": [{"role": "user", "content": "hi"}]}) as r:
        r.read()
        h = litellm_headers(r)
    assert h["x-litellm-model-id"] == "claude-dep" and h["x-litellm-call-id"]
    assert float(h["x-litellm-overhead-duration-ms"]) >= 0


def test_rate_limit_headers_for_keys(stack):
    gw, _ = stack
    key = httpx.post(gw.url + "/key/generate", timeout=30,
                     headers={"authorization": f"Bearer {MASTER}"},
                     json={"rpm_limit": 10, "tpm_limit": 10000}).json()["key"]
    r = post(gw, key=key)
    assert r.status_code == 200
    assert r.headers["x-ratelimit-limit-requests"] == "10"
    assert int(r.headers["x-ratelimit-remaining-requests"]) == 9
    assert r.headers["x-ratelimit-limit-tokens"] == "10000"
