//! Anthropic-format clients: Messages request -> OpenAI chat request, OpenAI completion ->
//! Anthropic message, and round trips through both directions.

use serde_json::{json, Value};

use super::{ctx, fixture, msg, without};
use crate::providers::anthropic::{
    chat_to_messages, chat_to_messages_response, messages_to_chat, messages_to_chat_request,
};

fn to_chat(req: &Value) -> Value {
    messages_to_chat_request(req, &ctx()).expect("translates")
}

#[test]
fn recorded_requests_become_openai_requests() {
    let text = fixture!("anthropic/messages-text.json");
    assert_eq!(
        to_chat(&text["request"]["body"]),
        json!({"model": "claude-test-model", "max_completion_tokens": 4096, "messages": [
            msg("system", "You are a helpful assistant.\n\n"),
            msg("user", "What is the capital of France?")]})
    );
    let thinking = fixture!("anthropic/messages-stream-thinking.json");
    assert_eq!(
        to_chat(&thinking["request"]["body"]),
        json!({"model": "claude-test-model", "max_completion_tokens": 8192, "temperature": 1.0,
            "reasoning_effort": "low", "stream": true, "stream_options": {"include_usage": true},
            "messages": [msg("user", "Two names for a pet pelican, be brief")]})
    );
    let forced = fixture!("anthropic/messages-stream-tool-use.json");
    let out = to_chat(&forced["request"]["body"]);
    assert_eq!(
        out["tool_choice"],
        json!({"type": "function", "function": {"name": "output_structured_data"}})
    );
    assert_eq!(
        out["tools"][0]["function"]["parameters"],
        forced["request"]["body"]["tools"][0]["input_schema"]
    );
    assert_eq!(out["messages"], json!([msg("user", "Invent a good dog")]));
    let stop = fixture!("anthropic/messages-stream-stop-sequence.json");
    let out = to_chat(&stop["request"]["body"]);
    assert_eq!(out["stop"], json!(["```"]));
    assert_eq!(out["messages"][1], msg("assistant", "```python"));
    let results = fixture!("anthropic/messages-tool-result.json");
    let out = to_chat(&results["request"]["body"]);
    let m = out["messages"].as_array().unwrap();
    assert_eq!(m.len(), 7, "system, user, assistant, four tool messages");
    assert_eq!(
        m[2]["tool_calls"][3]["id"],
        "toolu_013mnQZbgtK2oe3Mo3XKJsx3"
    );
    assert_eq!(
        m[2]["tool_calls"][3]["function"]["arguments"],
        "{\"name\":\"Daisy\"}"
    );
    assert_eq!(
        m[6],
        json!({"role": "tool", "tool_call_id": "toolu_013mnQZbgtK2oe3Mo3XKJsx3",
            "content": "daisy is bob's daughter and charlie's younger sister"})
    );
}

/// Anthropic -> OpenAI -> Anthropic gives back the recorded request.
#[test]
fn recorded_requests_round_trip() {
    let fixtures = [
        fixture!("anthropic/messages-text.json"),
        fixture!("anthropic/messages-tool-use.json"),
        fixture!("anthropic/messages-tool-result.json"),
        fixture!("anthropic/messages-thinking.json"),
        fixture!("anthropic/messages-stream-text.json"),
        fixture!("anthropic/messages-stream-multiturn.json"),
        fixture!("anthropic/messages-stream-stop-sequence.json"),
        fixture!("anthropic/messages-stream-thinking.json"),
        fixture!("anthropic/messages-stream-parallel-tool-use-no-args.json"),
        fixture!("anthropic/messages-stream-tool-result.json"),
        fixture!("anthropic/messages-stream-tool-use.json"),
    ];
    for f in fixtures {
        let original = &f["request"]["body"];
        let back = chat_to_messages(&to_chat(original), &ctx()).unwrap();
        let mut want = original.clone();
        want["model"] = json!("claude-test-model");
        if want["stream"] == json!(false) {
            want = without(want, &["stream"]);
        }
        for m in want["messages"].as_array_mut().unwrap() {
            if let Some(s) = m["content"].as_str() {
                m["content"] = json!([{"type": "text", "text": s}]);
            }
            for b in m["content"].as_array_mut().unwrap() {
                *b = without(b.clone(), &["is_error"]);
            }
        }
        assert_eq!(back, want, "{}", f["source"]);
    }
}

#[test]
fn images_documents_and_server_tools() {
    let req = json!({"model": "x", "max_tokens": 10, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
        {"type": "image", "source": {"type": "url", "url": "https://e.com/a.png"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}},
        {"type": "text", "text": "describe"},
    ]}], "metadata": {"user_id": "u1"}, "top_k": 5,
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "tools": [{"name": "f", "input_schema": {"type": "object"}},
                  {"type": "web_search_20250305", "name": "web_search"}]});
    let err = messages_to_chat_request(&req, &ctx()).unwrap_err();
    assert_eq!((err.status, err.param), (400, Some("top_k")));
    let mut dropping = ctx();
    dropping.drop_params = true;
    let out = messages_to_chat_request(&req, &dropping).unwrap();
    assert_eq!(
        out["messages"][0]["content"],
        json!([
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
            {"type": "image_url", "image_url": {"url": "https://e.com/a.png"}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE"}},
            {"type": "text", "text": "describe"},
        ])
    );
    assert_eq!(out["user"], "u1");
    assert_eq!(out["tool_choice"], "required");
    assert_eq!(out["parallel_tool_calls"], false);
    assert_eq!(out["tools"].as_array().unwrap().len(), 1);
    assert!(out.get("top_k").is_none());
    for bad in [
        json!("x"),
        json!({"messages": [{"role": "system", "content": "x"}]}),
        json!({}),
    ] {
        assert_eq!(
            messages_to_chat_request(&bad, &ctx()).unwrap_err().status,
            400
        );
    }
}

#[test]
fn recorded_openai_completions_become_messages() {
    let basic = fixture!("openai/chat-completions-basic.json");
    let out = chat_to_messages_response(&basic["response"]["body"]).unwrap();
    assert_eq!(
        out,
        json!({
            "id": "msg_chatcmpl-C4Gm9xikLXbgE8He0BHWeoM03aa72", "type": "message", "role": "assistant",
            "model": "gpt-5-nano-2025-08-07",
            "content": [{"type": "text", "text": basic["response"]["body"]["choices"][0]["message"]["content"]}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 8, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                      "output_tokens": 377},
        })
    );
    let tools = fixture!("openai/chat-completions-tools.json");
    let out = chat_to_messages_response(&tools["response"]["body"]).unwrap();
    assert_eq!(
        out["content"],
        json!([{"type": "tool_use", "id": "call_8fxy20OEu9ulvvaa5b5CzVA4", "name": "get_current_weather",
            "input": {"location": "Boston, MA", "unit": "fahrenheit"}}])
    );
    assert_eq!(out["stop_reason"], "tool_use");
    assert_eq!(out["usage"]["input_tokens"], 162);
}

/// Anthropic response -> OpenAI completion -> Anthropic response keeps content, ids,
/// signatures, stop reason and usage.
#[test]
fn recorded_messages_round_trip() {
    for f in [
        fixture!("anthropic/messages-text.json"),
        fixture!("anthropic/messages-tool-use.json"),
        fixture!("anthropic/messages-tool-result.json"),
        fixture!("anthropic/messages-thinking.json"),
        fixture!("anthropic/messages-thinking-tool-use.json"),
    ] {
        let original = &f["response"]["body"];
        let (chat, _) = messages_to_chat(original, &ctx()).unwrap();
        let back = chat_to_messages_response(&chat).unwrap();
        assert_eq!(back["id"], original["id"]);
        assert_eq!(back["model"], original["model"]);
        assert_eq!(back["content"], original["content"], "{}", f["source"]);
        assert_eq!(back["stop_reason"], original["stop_reason"]);
        for k in [
            "input_tokens",
            "output_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
        ] {
            assert_eq!(back["usage"][k], original["usage"][k], "{k}");
        }
    }
}

#[test]
fn completion_edge_cases() {
    let with = |message: Value, finish: &str| {
        json!({"id": "chatcmpl-1", "model": "m", "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 30, "completion_tokens": 5,
                      "prompt_tokens_details": {"cached_tokens": 20}}})
    };
    let out = chat_to_messages_response(&with(
        json!({"role": "assistant", "content": "cut", "reasoning_content": "because"}),
        "length",
    ))
    .unwrap();
    assert_eq!(
        out["content"],
        json!([{"type": "thinking", "thinking": "because", "signature": ""}, {"type": "text", "text": "cut"}])
    );
    assert_eq!(out["stop_reason"], "max_tokens");
    assert_eq!(out["usage"]["input_tokens"], 10);
    assert_eq!(out["usage"]["cache_read_input_tokens"], 20);
    let out = chat_to_messages_response(&with(
        json!({"role": "assistant", "content": null, "refusal": "I can't help with that."}),
        "content_filter",
    ))
    .unwrap();
    assert_eq!(out["content"][0]["text"], "I can't help with that.");
    assert_eq!(out["stop_reason"], "refusal");
    let bad_args = with(
        json!({"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{oops"}}]}),
        "tool_calls",
    );
    assert_eq!(
        chat_to_messages_response(&bad_args).unwrap_err().status,
        502
    );
    assert_eq!(
        chat_to_messages_response(&json!({"choices": []}))
            .unwrap_err()
            .status,
        502
    );
}
