//! chat_to_responses: recorded chat completions in, Responses objects out, with
//! the shape of the recorded Responses answers.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::support::{fixture, keys};
use crate::translate::responses::chat_to_responses;

/// Keys a real Responses object has that a bridged one leaves out.
const NOT_BRIDGED: &[&str] = &["billing", "completed_at"];

fn assert_response_shape(got: &Value, recorded: &Value) {
    let want: BTreeSet<String> = keys(recorded)
        .into_iter()
        .filter(|k| !NOT_BRIDGED.contains(&k.as_str()))
        .collect();
    let have = keys(got);
    let missing: Vec<_> = want.difference(&have).collect();
    assert!(missing.is_empty(), "missing keys {missing:?} in {got}");
    assert_eq!(keys(&got["usage"]), keys(&recorded["usage"]));
    assert_eq!(keys(&got["reasoning"]), keys(&recorded["reasoning"]));
    assert_eq!(keys(&got["text"]), keys(&recorded["text"]));
}

#[test]
fn text_completion_matches_recorded_response_shape() {
    let chat = &fixture!("chat-completions-basic")["response"]["body"];
    let recorded = fixture!("responses-basic");
    let req = &recorded["request"]["body"];
    let got = chat_to_responses(chat, req).unwrap();
    let recorded = &recorded["response"]["body"];
    assert_response_shape(&got, recorded);
    let msg = &got["output"][0];
    assert_eq!(keys(msg), keys(&recorded["output"][0]));
    assert_eq!(
        keys(&msg["content"][0]),
        keys(&recorded["output"][0]["content"][0])
    );
    let text = chat["choices"][0]["message"]["content"].as_str().unwrap();
    let want = json!({
        "id": "resp_C4Gm9xikLXbgE8He0BHWeoM03aa72", "object": "response", "created_at": 1755133833,
        "status": "completed", "error": null, "incomplete_details": null, "model": "gpt-5-nano-2025-08-07",
        "output": [{"id": "msg_C4Gm9xikLXbgE8He0BHWeoM03aa72_0", "type": "message", "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]}],
        "usage": {"input_tokens": 8, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 377,
                  "output_tokens_details": {"reasoning_tokens": 320}, "total_tokens": 385},
        "background": false, "frequency_penalty": 0.0, "instructions": null, "max_output_tokens": null,
        "max_tool_calls": null, "metadata": {}, "parallel_tool_calls": true, "presence_penalty": 0.0,
        "previous_response_id": null, "prompt_cache_key": null, "prompt_cache_retention": null,
        "reasoning": {"effort": null, "summary": null}, "safety_identifier": null, "service_tier": "default",
        "store": false, "temperature": 1.0, "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto", "tools": [], "top_logprobs": 0, "top_p": 1.0, "truncation": "disabled",
        "user": null,
    });
    assert_eq!(got, want);
}

#[test]
fn tool_call_completion_matches_recorded_function_call_shape() {
    let chat = &fixture!("chat-completions-tools")["response"]["body"];
    let recorded = fixture!("responses-function-call");
    let req = &recorded["request"]["body"];
    let got = chat_to_responses(chat, req).unwrap();
    let recorded = &recorded["response"]["body"];
    assert_response_shape(&got, recorded);
    assert_eq!(got["output"].as_array().unwrap().len(), 1);
    let call = &got["output"][0];
    assert_eq!(keys(call), keys(&recorded["output"][0]));
    assert_eq!(call["type"], "function_call");
    assert_eq!(call["status"], "completed");
    assert_eq!(call["id"], "fc_C4GmWI2Sl7HnrQsKorSAZkJy94dpT_0");
    assert_eq!(call["call_id"], "call_8fxy20OEu9ulvvaa5b5CzVA4");
    assert_eq!(call["name"], "get_current_weather");
    assert_eq!(
        call["arguments"],
        "{\"location\":\"Boston, MA\",\"unit\":\"fahrenheit\"}"
    );
    assert_eq!(got["status"], "completed");
    // The request's settings are echoed as the API does.
    assert_eq!(got["tools"], req["tools"]);
    assert_eq!(got["tool_choice"], "auto");
    assert_eq!(
        got["usage"]["output_tokens_details"]["reasoning_tokens"],
        256
    );
}

fn chat(message: Value, finish: &str) -> Value {
    json!({"id": "chatcmpl-abc", "object": "chat.completion", "created": 1700000000, "model": "claude-x",
           "choices": [{"index": 0, "message": message, "finish_reason": finish}],
           "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
                     "prompt_tokens_details": {"cached_tokens": 4}}})
}

#[test]
fn finish_reasons_map_to_status() {
    let req = json!({"model": "g", "input": "x"});
    let cases = [
        ("stop", "completed", Value::Null, "completed"),
        ("tool_calls", "completed", Value::Null, "completed"),
        (
            "length",
            "incomplete",
            json!({"reason": "max_output_tokens"}),
            "incomplete",
        ),
        (
            "content_filter",
            "incomplete",
            json!({"reason": "content_filter"}),
            "incomplete",
        ),
    ];
    for (finish, status, details, item_status) in cases {
        let got = chat_to_responses(
            &chat(json!({"role": "assistant", "content": "Hi"}), finish),
            &req,
        )
        .unwrap();
        assert_eq!(got["status"], status, "{finish}");
        assert_eq!(got["incomplete_details"], details, "{finish}");
        assert_eq!(got["output"][0]["status"], item_status, "{finish}");
    }
}

#[test]
fn reasoning_text_refusal_annotations_and_calls_in_order() {
    let message = json!({"role": "assistant", "reasoning_content": "Think.", "content": "See [1].",
    "refusal": "Not that part.",
    "annotations": [{"type": "url_citation", "url_citation": {"start_index": 4, "end_index": 7, "url": "https://x", "title": "X"}}],
    "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "a", "arguments": "{}"}},
        {"id": "call_2", "type": "function", "function": {"name": "b", "arguments": {"k": 1}}},
    ]});
    let req = json!({"model": "g", "input": "x", "instructions": "Be nice.", "temperature": 0.5, "top_p": 0.8,
        "max_output_tokens": 64, "tool_choice": "required", "parallel_tool_calls": false,
        "text": {"format": {"type": "json_object"}}, "reasoning": {"effort": "low"}, "metadata": {"a": "b"},
        "user": "u", "store": false});
    let got = chat_to_responses(&chat(message, "tool_calls"), &req).unwrap();
    let want_output = json!([
        {"id": "rs_abc_0", "type": "reasoning", "summary": [{"type": "summary_text", "text": "Think."}]},
        {"id": "msg_abc_1", "type": "message", "status": "completed", "role": "assistant", "content": [
            {"type": "output_text", "text": "See [1].", "logprobs": [],
             "annotations": [{"type": "url_citation", "start_index": 4, "end_index": 7, "url": "https://x", "title": "X"}]},
            {"type": "refusal", "refusal": "Not that part."},
        ]},
        {"id": "fc_abc_2", "type": "function_call", "status": "completed", "call_id": "call_1", "name": "a", "arguments": "{}"},
        {"id": "fc_abc_3", "type": "function_call", "status": "completed", "call_id": "call_2", "name": "b", "arguments": "{\"k\":1}"},
    ]);
    assert_eq!(got["output"], want_output);
    assert_eq!(got["id"], "resp_abc");
    assert_eq!(got["model"], "claude-x");
    for (key, want) in [
        ("instructions", json!("Be nice.")),
        ("temperature", json!(0.5)),
        ("top_p", json!(0.8)),
        ("max_output_tokens", json!(64)),
        ("tool_choice", json!("required")),
        ("parallel_tool_calls", json!(false)),
        (
            "text",
            json!({"format": {"type": "json_object"}, "verbosity": "medium"}),
        ),
        ("reasoning", json!({"effort": "low", "summary": null})),
        ("metadata", json!({"a": "b"})),
        ("user", json!("u")),
        ("store", json!(false)),
    ] {
        assert_eq!(got[key], want, "{key}");
    }
    assert_eq!(got["usage"]["input_tokens_details"]["cached_tokens"], 4);
    assert_eq!(got["usage"]["total_tokens"], 15);
}

#[test]
fn empty_answer_has_no_items_and_missing_usage_is_null() {
    let mut resp = chat(json!({"role": "assistant", "content": null}), "length");
    resp.as_object_mut().unwrap().remove("usage");
    resp.as_object_mut().unwrap().remove("id");
    let got = chat_to_responses(&resp, &json!({"model": "g", "input": "x"})).unwrap();
    assert_eq!(got["output"], json!([]));
    assert_eq!(got["usage"], Value::Null);
    assert!(got["id"].as_str().unwrap().starts_with("resp_"));
    assert_eq!(got["status"], "incomplete");
}

#[test]
fn unreadable_upstream_answers_are_502() {
    let req = json!({"model": "g", "input": "x"});
    for resp in [
        json!("text"),
        json!({"id": "x", "choices": []}),
        json!({"choices": [{"index": 0, "message": "hi"}]}),
        json!({"error": {"message": "overloaded", "type": "server_error"}}),
    ] {
        let err = chat_to_responses(&resp, &req).unwrap_err();
        assert_eq!(err.status, 502, "{resp}");
        assert_eq!(err.fault, crate::error::Fault::Upstream);
    }
}
