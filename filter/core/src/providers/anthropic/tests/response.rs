//! Anthropic Messages response -> OpenAI chat completion.

use serde_json::{json, Value};

use super::{ctx, fixture};
use crate::providers::anthropic::messages_to_chat;
use crate::translate::Usage;

/// Translates and pins `created` so the whole object can be compared.
fn translate(resp: &Value) -> (Value, Usage) {
    let (mut v, usage) = messages_to_chat(resp, &ctx()).expect("translates");
    assert!(v["created"].as_u64().unwrap() > 1_700_000_000);
    v["created"] = json!(0);
    (v, usage)
}

fn usage(prompt: u64, completion: u64, read: u64, created: u64) -> Value {
    json!({
        "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": read, "cache_creation_tokens": created},
        "completion_tokens_details": {"reasoning_tokens": 0},
        "cache_creation_input_tokens": created, "cache_read_input_tokens": read,
    })
}

fn completion(id: &str, model: &str, message: Value, finish: &str, usage: Value) -> Value {
    json!({
        "id": id, "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": usage,
    })
}

#[test]
fn text() {
    let f = fixture!("anthropic/messages-text.json");
    let (out, u) = translate(&f["response"]["body"]);
    let message = json!({"role": "assistant", "content": "The capital of France is Paris."});
    let want = completion(
        "msg_01Fg1JVgvCYUHWsxrj9GkpEv",
        "claude-3-opus-20240229",
        message,
        "stop",
        usage(20, 10, 0, 0),
    );
    assert_eq!(out, want);
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.total()),
        (20, 10, 30)
    );
}

#[test]
fn parallel_tool_use_keeps_ids_and_text() {
    let f = fixture!("anthropic/messages-tool-use.json");
    let (out, u) = translate(&f["response"]["body"]);
    let call = |id: &str, name: &str| {
        json!({"id": id, "type": "function", "function": {
            "name": "retrieve_entity_info", "arguments": format!("{{\"name\":\"{name}\"}}")}})
    };
    let message = json!({
        "role": "assistant",
        "content": f["response"]["body"]["content"][0]["text"],
        "tool_calls": [
            call("toolu_0167cfEnoQaPviGdVXA95zcu", "Alice"),
            call("toolu_01EEe2V5HD1Ac4rKiUR4HD2T", "Bob"),
            call("toolu_01XFyAjstT3966qvRynZyVPo", "Charlie"),
            call("toolu_013mnQZbgtK2oe3Mo3XKJsx3", "Daisy"),
        ],
    });
    let want = completion(
        "msg_011S3wxtqL5CVescWqS3zeg2",
        "claude-haiku-4-5-20251001",
        message,
        "tool_calls",
        usage(423, 202, 0, 0),
    );
    assert_eq!(out, want);
    assert_eq!(u.total(), 625);
}

#[test]
fn thinking_becomes_reasoning_content_and_signed_blocks() {
    let f = fixture!("anthropic/messages-thinking.json");
    let body = &f["response"]["body"];
    let (out, _) = translate(body);
    let thinking = &body["content"][0];
    let message = json!({
        "role": "assistant",
        "content": body["content"][1]["text"],
        "reasoning_content": thinking["thinking"],
        "thinking_blocks": [{"type": "thinking", "thinking": thinking["thinking"], "signature": thinking["signature"]}],
    });
    let want = completion(
        "msg_01TGA8SWcHTTn5674cmicbnJ",
        "claude-sonnet-4-5-20250929",
        message,
        "stop",
        usage(43, 321, 0, 0),
    );
    assert_eq!(out, want);
}

#[test]
fn thinking_text_and_tool_use_together() {
    let f = fixture!("anthropic/messages-thinking-tool-use.json");
    let body = &f["response"]["body"];
    let (out, _) = translate(body);
    let m = &out["choices"][0]["message"];
    assert_eq!(m["content"], body["content"][1]["text"]);
    assert_eq!(m["reasoning_content"], body["content"][0]["thinking"]);
    assert_eq!(
        m["thinking_blocks"][0]["signature"],
        body["content"][0]["signature"]
    );
    assert_eq!(
        m["tool_calls"],
        json!([{"id": "toolu_01YGzqpRE16Vricda3Aqcejo", "type": "function",
                "function": {"name": "get_user_country", "arguments": "{}"}}])
    );
    assert_eq!(out["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(out["usage"], usage(398, 155, 0, 0));
}

#[test]
fn answer_after_tool_results() {
    let f = fixture!("anthropic/messages-tool-result.json");
    let (out, _) = translate(&f["response"]["body"]);
    assert_eq!(
        out["choices"][0]["message"]["content"],
        f["response"]["body"]["content"][0]["text"]
    );
    assert_eq!(out["usage"], usage(771, 77, 0, 0));
}

fn synthetic(content: Value, stop_reason: &str) -> Value {
    json!({"id": "msg_x", "type": "message", "role": "assistant", "model": "claude-x",
        "content": content, "stop_reason": stop_reason, "stop_sequence": null,
        "usage": {"input_tokens": 5, "output_tokens": 7, "cache_read_input_tokens": 100,
                  "cache_creation_input_tokens": 20}})
}

#[test]
fn stop_reasons_and_cache_usage() {
    let text = json!([{"type": "text", "text": "hi"}]);
    for (stop, finish) in [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
        ("model_context_window_exceeded", "length"),
        ("something_new", "stop"),
    ] {
        let (out, u) = translate(&synthetic(text.clone(), stop));
        assert_eq!(out["choices"][0]["finish_reason"], finish, "{stop}");
        assert_eq!(out["usage"], usage(125, 7, 100, 20));
        assert_eq!(
            (u.prompt_tokens, u.cached_tokens, u.cache_creation_tokens),
            (125, 100, 20)
        );
    }
}

#[test]
fn usage_counts_near_u64_max_saturate() {
    let mut resp = synthetic(json!([{"type": "text", "text": "hi"}]), "end_turn");
    resp["usage"] = json!({"input_tokens": u64::MAX, "output_tokens": u64::MAX,
        "cache_read_input_tokens": u64::MAX, "cache_creation_input_tokens": 1});
    let (out, u) = translate(&resp);
    assert_eq!((u.prompt_tokens, u.total()), (u64::MAX, u64::MAX));
    assert_eq!(out["usage"]["total_tokens"], u64::MAX);
    // And back to an Anthropic client (input_tokens excludes cached tokens).
    let back = crate::providers::anthropic::chat_to_messages_response(&out).unwrap();
    assert_eq!(back["usage"]["input_tokens"], 0);
}

#[test]
fn structured_answer_tool_becomes_content() {
    let content = json!([
        {"type": "text", "text": "Here you go"},
        {"type": "tool_use", "id": "toolu_1", "name": "answer_as_capital", "input": {"city": "Paris"}},
    ]);
    let (out, _) = translate(&synthetic(content, "tool_use"));
    let m = &out["choices"][0]["message"];
    assert_eq!(m["content"], "{\"city\":\"Paris\"}");
    assert!(m.get("tool_calls").is_none());
    assert_eq!(out["choices"][0]["finish_reason"], "stop");
}

#[test]
fn odd_bodies() {
    // Only non-text blocks: content null next to tool calls, "" otherwise.
    let (out, _) = translate(&synthetic(
        json!([{"type": "server_tool_use", "id": "s"}]),
        "end_turn",
    ));
    assert_eq!(out["choices"][0]["message"]["content"], "");
    let redacted = json!([{"type": "redacted_thinking", "data": "abc"},
        {"type": "tool_use", "id": "t", "name": "f", "input": {}}]);
    let (out, _) = translate(&synthetic(redacted, "tool_use"));
    let m = &out["choices"][0]["message"];
    assert_eq!(m["content"], Value::Null);
    assert_eq!(
        m["thinking_blocks"],
        json!([{"type": "redacted_thinking", "data": "abc"}])
    );
    assert!(m.get("reasoning_content").is_none());
    for bad in [json!({}), json!("x"), json!({"content": "text"})] {
        let err = messages_to_chat(&bad, &ctx()).unwrap_err();
        assert_eq!(err.status, 502);
    }
}
