//! OpenAI chat request -> Anthropic Messages request.

use serde_json::{json, Value};

use super::{ctx, msg};
use crate::providers::anthropic::{
    auth_header, chat_to_messages, upstream_path, ANTHROPIC_VERSION,
};

fn translate(req: Value) -> Value {
    chat_to_messages(&req, &ctx()).expect("translates")
}

#[test]
fn system_and_developer_messages_are_hoisted_and_turns_merged() {
    let out = translate(json!({"model": "m", "messages": [
        msg("system", "Be brief."),
        msg("user", "one"),
        msg("user", "two"),
        msg("developer", "Answer in French."),
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]},
        msg("user", "and also"),
        {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "42"}]},
    ]}));
    assert_eq!(out["system"], "Be brief.\n\nAnswer in French.");
    assert_eq!(
        out["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": [{"type": "text", "text": "42"}]},
                {"type": "text", "text": "and also"}]},
        ])
    );
    assert_eq!(out["max_tokens"], 4096);
}

#[test]
fn cache_control_makes_system_blocks_and_stays_on_parts() {
    let out = translate(json!({"model": "m", "messages": [
        {"role": "system", "content": [
            {"type": "text", "text": "long context", "cache_control": {"type": "ephemeral"}}]},
        msg("system", "second"),
        {"role": "user", "content": "q", "cache_control": {"type": "ephemeral"}},
    ]}));
    assert_eq!(
        out["system"],
        json!([
            {"type": "text", "text": "long context", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "second"},
        ])
    );
    assert_eq!(
        out["messages"][0]["content"],
        json!([{"type": "text", "text": "q", "cache_control": {"type": "ephemeral"}}])
    );
}

#[test]
fn images_and_files() {
    let out = translate(
        json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}},
        ]}]}),
    );
    assert_eq!(
        out["messages"][0]["content"],
        json!([
            {"type": "text", "text": "what is this?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}},
        ])
    );
    for bad in [
        "ftp://x/y.png",
        "data:image/png,notbase64",
        "data:;base64,AAAA",
    ] {
        let req = json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": bad}}]}]});
        let err = chat_to_messages(&req, &ctx()).unwrap_err();
        assert_eq!((err.status, err.param), (400, Some("messages")), "{bad}");
    }
}

#[test]
fn scalar_parameters() {
    let out = translate(json!({"model": "m", "messages": [msg("user", "hi")],
        "max_tokens": 10, "max_completion_tokens": 20, "top_p": 0.5, "top_k": 40,
        "stop": ["a", "b"], "user": "u-1", "n": 1, "presence_penalty": 0, "logprobs": false,
        "metadata": {"tag": "x"}, "stream": false}));
    let want = json!({"model": "claude-test-model", "max_tokens": 20, "top_p": 0.5, "top_k": 40,
        "stop_sequences": ["a", "b"], "metadata": {"user_id": "u-1"},
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]});
    assert_eq!(out, want);
}

#[test]
fn unsupported_parameters_are_refused_or_dropped() {
    for (param, value) in [
        ("n", json!(2)),
        ("logprobs", json!(true)),
        ("top_logprobs", json!(3)),
        ("presence_penalty", json!(0.5)),
        ("frequency_penalty", json!(-1)),
        ("logit_bias", json!({"50256": -100})),
        ("seed", json!(7)),
        ("audio", json!({"voice": "alloy"})),
        ("modalities", json!(["text", "audio"])),
        ("prediction", json!({"type": "content", "content": "x"})),
    ] {
        let mut req = json!({"model": "m", "messages": [msg("user", "hi")]});
        req[param] = value;
        let err = chat_to_messages(&req, &ctx()).unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(err.param, Some(param));
        assert_eq!(err.code, Some("unsupported_parameter"));
        assert!(err.message.contains(param) && err.message.contains("drop_params"));
        let mut dropping = ctx();
        dropping.drop_params = true;
        let out = chat_to_messages(&req, &dropping).unwrap();
        assert!(out.get(param).is_none(), "{param} dropped");
    }
}

#[test]
fn tool_choice_variants() {
    let tools = json!([{"type": "function", "function": {"name": "f"}}]);
    let cases = [
        (json!("auto"), None, json!({"type": "auto"})),
        (json!("none"), None, json!({"type": "none"})),
        (json!("required"), None, json!({"type": "any"})),
        (
            json!({"type": "function", "function": {"name": "f"}}),
            None,
            json!({"type": "tool", "name": "f"}),
        ),
        (
            json!("auto"),
            Some(false),
            json!({"type": "auto", "disable_parallel_tool_use": true}),
        ),
        (
            Value::Null,
            Some(false),
            json!({"type": "auto", "disable_parallel_tool_use": true}),
        ),
        (json!("required"), Some(true), json!({"type": "any"})),
    ];
    for (choice, parallel, want) in cases {
        let mut req = json!({"model": "m", "messages": [msg("user", "hi")], "tools": tools, "tool_choice": choice});
        if let Some(p) = parallel {
            req["parallel_tool_calls"] = json!(p);
        }
        let out = translate(req);
        assert_eq!(out["tool_choice"], want);
        assert_eq!(
            out["tools"],
            json!([{"name": "f", "input_schema": {"type": "object", "properties": {}}}])
        );
    }
    // Without tools Anthropic refuses tool_choice, so it is left out.
    let out =
        translate(json!({"model": "m", "messages": [msg("user", "hi")], "tool_choice": "none"}));
    assert!(out.get("tool_choice").is_none());
    let bad = json!({"model": "m", "messages": [msg("user", "hi")], "tools": tools, "tool_choice": "sometimes"});
    assert_eq!(
        chat_to_messages(&bad, &ctx()).unwrap_err().param,
        Some("tool_choice")
    );
    let bad =
        json!({"model": "m", "messages": [msg("user", "hi")], "tools": [{"type": "web_search"}]});
    assert_eq!(
        chat_to_messages(&bad, &ctx()).unwrap_err().param,
        Some("tools")
    );
}

#[test]
fn invalid_tool_call_arguments_are_a_400() {
    for args in ["{not json", "[1,2]"] {
        let req = json!({"model": "m", "messages": [msg("user", "hi"), {"role": "assistant", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": args}}]}]});
        let err = chat_to_messages(&req, &ctx()).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(
            err.message
                .contains("messages[1].tool_calls[0].function.arguments"),
            "{}",
            err.message
        );
    }
}

#[test]
fn response_format_json_schema_is_a_forced_answer_tool() {
    let schema =
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
    let out = translate(
        json!({"model": "m", "messages": [msg("user", "capital of France?")],
        "response_format": {"type": "json_schema", "json_schema": {"name": "capital", "schema": schema, "strict": true}}}),
    );
    assert_eq!(out["tools"][0]["name"], "answer_as_capital");
    assert_eq!(out["tools"][0]["input_schema"], schema);
    assert_eq!(
        out["tool_choice"],
        json!({"type": "tool", "name": "answer_as_capital"})
    );
    assert!(out.get("system").is_none());
    // With extended thinking a forced tool is refused upstream: ask for it in the system prompt.
    let out = translate(
        json!({"model": "m", "messages": [msg("user", "q")], "reasoning_effort": "medium",
        "response_format": {"type": "json_schema", "json_schema": {"name": "a b", "schema": schema}}}),
    );
    assert_eq!(out["tools"][0]["name"], "answer_as_a_b");
    assert!(out.get("tool_choice").is_none());
    assert!(out["system"].as_str().unwrap().contains("`answer_as_a_b`"));
    assert_eq!(
        out["thinking"],
        json!({"type": "enabled", "budget_tokens": 4096})
    );
    let out = translate(
        json!({"model": "m", "messages": [msg("system", "S"), msg("user", "q")],
        "response_format": {"type": "json_object"}}),
    );
    assert!(out["system"]
        .as_str()
        .unwrap()
        .starts_with("S\n\nRespond only with a single valid JSON object"));
    let out = translate(
        json!({"model": "m", "messages": [msg("user", "q")], "response_format": {"type": "text"}}),
    );
    assert!(out.get("system").is_none() && out.get("tools").is_none());
}

#[test]
fn thinking_budget_fits_under_max_tokens() {
    let out = translate(
        json!({"model": "m", "messages": [msg("user", "q")], "reasoning_effort": "high", "max_tokens": 1000}),
    );
    assert_eq!(
        out["thinking"],
        json!({"type": "enabled", "budget_tokens": 16384})
    );
    assert_eq!(out["max_tokens"], 17384);
    let out = translate(
        json!({"model": "m", "messages": [msg("user", "q")], "reasoning_effort": "none"}),
    );
    assert!(out.get("thinking").is_none());
    let out = translate(json!({"model": "m", "messages": [msg("user", "q")],
        "thinking": {"type": "enabled", "budget_tokens": 8000}, "reasoning_effort": "low"}));
    assert_eq!(out["thinking"]["budget_tokens"], 8000);
    assert_eq!(out["max_tokens"], 12096);
    let bad = json!({"model": "m", "messages": [msg("user", "q")], "reasoning_effort": "extreme"});
    assert_eq!(
        chat_to_messages(&bad, &ctx()).unwrap_err().param,
        Some("reasoning_effort")
    );
}

#[test]
fn signed_thinking_is_replayed_and_prefill_trimmed() {
    let out = translate(json!({"model": "m", "messages": [
        msg("user", "q"),
        {"role": "assistant", "content": "calling", "reasoning_content": "hmm",
         "thinking_blocks": [{"type": "thinking", "thinking": "hmm", "signature": "sig=="},
                             {"type": "redacted_thinking", "data": "xyz"}],
         "tool_calls": [{"id": "toolu_1", "type": "function", "function": {"name": "f", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "done"},
        {"role": "assistant", "content": "Sure, ", "reasoning_content": "unsigned"},
    ]}));
    assert_eq!(
        out["messages"][1]["content"],
        json!([
            {"type": "thinking", "thinking": "hmm", "signature": "sig=="},
            {"type": "redacted_thinking", "data": "xyz"},
            {"type": "text", "text": "calling"},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
        ])
    );
    assert_eq!(
        out["messages"][2]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": "done"})
    );
    assert_eq!(
        out["messages"][3]["content"],
        json!([{"type": "text", "text": "Sure,"}])
    );
}

#[test]
fn malformed_requests_are_400s() {
    for req in [
        json!([]),
        json!({"model": "m"}),
        json!({"model": "m", "messages": "hi"}),
        json!({"model": "m", "messages": [{"content": "no role"}]}),
        json!({"model": "m", "messages": [{"role": "function", "content": "x"}]}),
        json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]}),
        json!({"model": "m", "messages": [msg("user", "x")], "max_tokens": 0}),
        json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "input_audio"}]}]}),
    ] {
        let err = chat_to_messages(&req, &ctx()).unwrap_err();
        assert_eq!(err.status, 400, "{req}");
    }
}

#[test]
fn path_and_version() {
    assert_eq!(upstream_path(""), "/v1/messages");
    assert_eq!(upstream_path("/anthropic"), "/anthropic/v1/messages");
    assert_eq!(upstream_path("/proxy/v1/messages"), "/proxy/v1/messages");
    assert_eq!(ANTHROPIC_VERSION, "2023-06-01");
}

#[test]
fn credential_header() {
    let cfg = "model_list:\n  - model_name: c\n    litellm_params: {model: anthropic/claude-x, api_key: sk-ant-1}\n  - model_name: d\n    litellm_params: {model: anthropic/claude-y}\n";
    let c = crate::Config::load(cfg, &|_| None).unwrap();
    assert_eq!(
        auth_header(&c.deployments[0]),
        Some(("x-api-key", "sk-ant-1".to_string()))
    );
    assert_eq!(auth_header(&c.deployments[1]), None);
}
