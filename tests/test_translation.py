"""One gateway in front of OpenAI, Anthropic and Gemini faces of the mock, driven by
the official openai and anthropic SDKs and raw HTTP for Gemini clients."""
import json

import anthropic
import httpx
import openai
import pytest

MASTER = "sk-translate-master"
ENV = {"MASTER_KEY": MASTER, "ANTHROPIC_KEY": "ak-upstream", "GEMINI_KEY": "gk-upstream",
       "OPENAI_KEY": "ok-upstream"}


@pytest.fixture(scope="module")
def stack(mock_factory, gateway_factory):
    m = mock_factory("tx")
    cfg = f"""
model_list:
  - model_name: claude
    litellm_params: {{model: anthropic/claude-sonnet-4-5, api_base: "{m.base_url}", api_key: os.environ/ANTHROPIC_KEY}}
  - model_name: gem
    litellm_params: {{model: gemini/gemini-2.5-flash, api_base: "{m.base_url}", api_key: os.environ/GEMINI_KEY}}
  - model_name: gpt
    litellm_params: {{model: openai/gpt-4o, api_base: "{m.base_url}/v1", api_key: os.environ/OPENAI_KEY}}
litellm_settings: {{drop_params: true}}
general_settings: {{master_key: os.environ/MASTER_KEY}}
"""
    return gateway_factory(cfg, env=ENV), m


@pytest.fixture
def oai(stack):
    gw, m = stack
    m.clear()
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=MASTER, max_retries=0)


@pytest.fixture
def ant(stack):
    gw, m = stack
    m.clear()
    return anthropic.Anthropic(base_url=gw.url, api_key=MASTER, max_retries=0)


TOOLS = [{"type": "function", "function": {"name": "lookup", "description": "look up",
          "parameters": {"type": "object", "properties": {"input": {"type": "string"}}}}}]


@pytest.mark.parametrize("model", ["claude", "gem", "gpt"])
def test_openai_sdk_chat_every_provider(stack, oai, model):
    _, m = stack
    r = oai.chat.completions.create(model=model, messages=[
        {"role": "system", "content": "be brief"}, {"role": "user", "content": "hello world"}])
    assert r.choices[0].message.content == "[tx] hello world"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0
    req = m.requests()[-1]
    assert "authorization" not in req["headers"] or req["headers"]["authorization"] == "Bearer ok-upstream"
    if model == "claude":
        assert req["path"] == "/v1/messages"
        assert req["headers"]["x-api-key"] == "ak-upstream"
        assert req["headers"]["anthropic-version"] == "2023-06-01"
        assert json.loads(req["body"])["system"] == "be brief"
    if model == "gem":
        assert req["path"] == "/v1beta/models/gemini-2.5-flash:generateContent"
        assert req["headers"]["x-goog-api-key"] == "gk-upstream"
    assert MASTER not in json.dumps(req)


@pytest.mark.parametrize("model", ["claude", "gem", "gpt"])
def test_openai_sdk_stream_every_provider(oai, model):
    chunks = list(oai.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "one two three four"}],
        stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "[tx] one two three four"
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


@pytest.mark.parametrize("model", ["claude", "gem"])
@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls_round_trip(stack, oai, model, stream):
    _, m = stack
    msgs = [{"role": "user", "content": "use the tool please"}]
    if stream:
        calls = {}
        finish = None
        for c in oai.chat.completions.create(model=model, messages=msgs, tools=TOOLS, stream=True):
            if not c.choices:
                continue
            for tc in c.choices[0].delta.tool_calls or []:
                slot = calls.setdefault(tc.index, {"id": None, "name": None, "args": ""})
                slot["id"] = tc.id or slot["id"]
                slot["name"] = (tc.function.name if tc.function else None) or slot["name"]
                slot["args"] += (tc.function.arguments or "") if tc.function else ""
            finish = c.choices[0].finish_reason or finish
        assert finish == "tool_calls"
        call = calls[0]
        call_id, name, args = call["id"], call["name"], call["args"]
    else:
        r = oai.chat.completions.create(model=model, messages=msgs, tools=TOOLS)
        assert r.choices[0].finish_reason == "tool_calls"
        tc = r.choices[0].message.tool_calls[0]
        call_id, name, args = tc.id, tc.function.name, tc.function.arguments
    assert name == "lookup"
    assert json.loads(args) == {"input": "use the tool please"}
    assert call_id
    # The tool result goes back under the same id.
    follow = msgs + [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}]},
        {"role": "tool", "tool_call_id": call_id, "content": "42"},
        {"role": "user", "content": "thanks"},
    ]
    r = oai.chat.completions.create(model=model, messages=follow, tools=TOOLS)
    assert r.choices[0].message.content == "[tx] thanks"
    sent = json.loads(m.requests()[-1]["body"])
    dumped = json.dumps(sent)
    if model == "claude":
        assert f'"tool_use_id": "{call_id}"' in dumped
    else:
        assert '"functionResponse"' in dumped


@pytest.mark.parametrize("model", ["gpt", "claude", "gem"])
def test_responses_api(stack, oai, model):
    r = oai.responses.create(model=model, input="hello responses", instructions="be brief")
    assert r.output_text == "[tx] hello responses"
    assert r.usage.input_tokens > 0
    events = list(oai.responses.create(model=model, input="stream me please", stream=True))
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "[tx] stream me please"


def test_responses_previous_response_id_needs_openai(oai):
    with pytest.raises(openai.BadRequestError) as e:
        oai.responses.create(model="claude", input="x", previous_response_id="resp_123")
    assert e.value.body["param"] == "previous_response_id"


@pytest.mark.parametrize("model", ["gpt", "gem"])
def test_embeddings(oai, model):
    r = oai.embeddings.create(model=model, input=["alpha", "beta"])
    assert len(r.data) == 2 and len(r.data[0].embedding) > 0
    assert r.data[1].index == 1


@pytest.mark.parametrize("model", ["claude", "gpt", "gem"])
def test_anthropic_sdk_messages(ant, model):
    r = ant.messages.create(model=model, max_tokens=100, messages=[{"role": "user", "content": "hi there"}])
    assert r.content[0].text == "[tx] hi there"
    assert r.stop_reason == "end_turn"
    assert r.usage.output_tokens > 0
    with ant.messages.stream(model=model, max_tokens=100,
                             messages=[{"role": "user", "content": "streaming hi"}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == "[tx] streaming hi"
    assert final.stop_reason == "end_turn"


@pytest.mark.parametrize("model", ["gem", "claude", "gpt"])
def test_gemini_clients(stack, model):
    gw, _ = stack
    body = {"contents": [{"role": "user", "parts": [{"text": "gemini says hi"}]}]}
    r = httpx.post(f"{gw.url}/v1beta/models/{model}:generateContent", json=body,
                   headers={"x-goog-api-key": MASTER}, timeout=30)
    assert r.status_code == 200, r.text
    parts = r.json()["candidates"][0]["content"]["parts"]
    assert "".join(p.get("text", "") for p in parts) == "[tx] gemini says hi"
    with httpx.stream("POST", f"{gw.url}/v1beta/models/{model}:streamGenerateContent?alt=sse&key={MASTER}",
                      json=body, timeout=30) as s:
        assert s.status_code == 200
        raw = b"".join(s.iter_raw()).decode()
    texts = []
    for line in raw.splitlines():
        if line.startswith("data: "):
            ev = json.loads(line[6:])
            for c in ev.get("candidates", []):
                texts += [p.get("text", "") for p in c.get("content", {}).get("parts", [])]
    assert "".join(texts) == "[tx] gemini says hi"


def test_provider_errors_keep_status_and_message(stack, oai):
    _, m = stack
    m.script({"status": 529, "body": {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded now"}}})
    with pytest.raises(openai.APIStatusError) as e:
        oai.chat.completions.create(model="claude", messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 529
    assert "Overloaded now" in e.value.body["message"]
    m.script({"status": 429, "body": {"error": {"code": 429, "message": "Quota gone", "status": "RESOURCE_EXHAUSTED"}}})
    with pytest.raises(openai.RateLimitError) as e:
        oai.chat.completions.create(model="gem", messages=[{"role": "user", "content": "x"}])
    assert "Quota gone" in e.value.body["message"]


def test_anthropic_client_gets_anthropic_errors(ant):
    with pytest.raises(anthropic.NotFoundError) as e:
        ant.messages.create(model="no-such", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert e.value.body["type"] == "error"
    bad = anthropic.Anthropic(base_url=ant.base_url, api_key="wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        bad.messages.create(model="claude", max_tokens=10, messages=[{"role": "user", "content": "x"}])


@pytest.mark.parametrize("model", ["claude", "gem"])
def test_truncated_stream_ends_with_an_error_event(stack, model):
    gw, m = stack
    m.script({"drop_after_chunks": 3})
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": "a b c d e f g h"}]}
    with httpx.stream("POST", gw.url + "/v1/chat/completions", json=body,
                      headers={"authorization": f"Bearer {MASTER}"}, timeout=30) as r:
        assert r.status_code == 200
        raw = b""
        try:
            for part in r.iter_raw():
                raw += part
        except httpx.HTTPError:
            pass  # the upstream reset may also surface as a broken client stream
    text = raw.decode(errors="replace")
    assert "data: [DONE]" not in text


def test_stream_that_ends_early_gets_an_error_event_not_a_clean_end(stack):
    gw, m = stack
    partial = (
        'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message",'
        '"role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,'
        '"usage":{"input_tokens":5,"output_tokens":1}}}\n\n'
        'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
        '"content_block":{"type":"text","text":""}}\n\n'
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        '"delta":{"type":"text_delta","text":"partial"}}\n\n'
    )
    m.script({"body": partial, "headers": {"content-type": "text/event-stream"}})
    body = {"model": "claude", "stream": True, "messages": [{"role": "user", "content": "x"}]}
    r = httpx.post(gw.url + "/v1/chat/completions", json=body,
                   headers={"authorization": f"Bearer {MASTER}"}, timeout=30)
    assert r.status_code == 200
    events = [e[6:] for e in r.text.split("\n\n") if e.startswith("data: ")]
    assert "[DONE]" not in events
    assert '"partial"' in r.text
    last = json.loads(events[-1])
    assert "error" in last, events[-1]


@pytest.mark.parametrize("stream", [False, True])
def test_reasoning_effort_to_anthropic_thinking(stack, oai, stream):
    _, m = stack
    msgs = [{"role": "user", "content": "think about it"}]
    if stream:
        chunks = list(oai.chat.completions.create(model="claude", messages=msgs,
                                                  reasoning_effort="low", stream=True))
        reasoning = "".join((c.choices[0].delta.model_extra or {}).get("reasoning_content") or ""
                            for c in chunks if c.choices)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        r = oai.chat.completions.create(model="claude", messages=msgs, reasoning_effort="low")
        reasoning = r.choices[0].message.model_extra.get("reasoning_content")
        text = r.choices[0].message.content
    sent = json.loads(m.requests()[-1]["body"])
    assert sent["thinking"]["type"] == "enabled"
    assert sent["max_tokens"] > sent["thinking"]["budget_tokens"]
    assert reasoning, "thinking must come back as reasoning_content"
    assert text == "[tx] think about it"


def test_unsupported_param_is_refused_without_drop_params(mock_factory, gateway_factory):
    m = mock_factory("strict")
    gw = gateway_factory(f"""
model_list:
  - model_name: claude
    litellm_params: {{model: anthropic/claude-x, api_base: "{m.base_url}", api_key: os.environ/ANTHROPIC_KEY}}
""", env=ENV)
    r = httpx.post(gw.url + "/v1/chat/completions", timeout=30, json={
        "model": "claude", "logit_bias": {"50256": -100}, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["param"] == "logit_bias"
    assert "drop_params" in err["message"]
    assert m.requests() == []


def test_provider_prefixed_passthrough_substitutes_the_key(stack):
    gw, m = stack
    m.clear()
    r = httpx.post(gw.url + "/anthropic/v1/messages/count_tokens?beta=true", timeout=30,
                   headers={"x-api-key": MASTER, "anthropic-version": "2023-06-01"},
                   json={"model": "claude", "messages": [{"role": "user", "content": "count me"}]})
    assert r.headers["x-mock-name"] == "tx"
    req = m.requests()[-1]
    assert req["path"] == "/v1/messages/count_tokens?beta=true"
    assert req["headers"]["x-api-key"] == "ak-upstream"
    assert json.loads(req["body"])["model"] == "claude-sonnet-4-5"
