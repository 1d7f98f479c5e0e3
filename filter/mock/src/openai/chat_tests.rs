use hyper::header::CONTENT_TYPE;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::answer;
use crate::faces::ProviderRequest;
use crate::reply::Reply;

fn call(body: &Value) -> Reply {
    let text = body.to_string();
    let req = ProviderRequest {
        method: &Method::POST,
        path: "/v1/chat/completions",
        body: text.as_bytes(),
        headers: &hyper::HeaderMap::new(),
        name: "alpha",
    };
    answer(&req)
}

fn json_of(reply: &Reply) -> Value {
    serde_json::from_str(&reply.body_text()).unwrap_or(Value::Null)
}

/// The JSON payloads of a stream's events, and whether it ended with [DONE].
fn events(reply: &Reply) -> (Vec<Value>, bool) {
    let text = reply.body_text();
    let done = text.ends_with("data: [DONE]\n\n");
    let values = text
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter(|e| *e != "[DONE]")
        .filter_map(|e| serde_json::from_str(e).ok())
        .collect();
    (values, done)
}

fn user(text: &str) -> Value {
    json!({"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]})
}

#[test]
fn non_stream_answer_has_the_real_shape() {
    let reply = call(&user("What is the capital of the UK?"));
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.headers.get(CONTENT_TYPE).map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );
    let v = json_of(&reply);
    assert!(v["id"]
        .as_str()
        .is_some_and(|id| id.starts_with("chatcmpl-")));
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "gpt-4o-mini");
    assert!(v["created"].as_u64().is_some_and(|c| c > 1_700_000_000));
    let msg = &v["choices"][0]["message"];
    assert_eq!(msg["role"], "assistant");
    assert_eq!(msg["content"], "[alpha] What is the capital of the UK?");
    assert_eq!(msg["refusal"], Value::Null);
    assert_eq!(msg["annotations"], json!([]));
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["usage"]["completion_tokens"], 8);
    // "be brief" (8) + question (30) = 38 chars -> 9 tokens.
    assert_eq!(v["usage"]["prompt_tokens"], 9);
    assert_eq!(v["usage"]["total_tokens"], 17);
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
    assert_eq!(
        v["usage"]["completion_tokens_details"]["reasoning_tokens"],
        0
    );
    assert_eq!(v["service_tier"], "default");
    assert!(v["system_fingerprint"]
        .as_str()
        .is_some_and(|f| f.starts_with("fp_")));
}

#[test]
fn ids_are_unique_per_response() {
    let a = json_of(&call(&user("hi")));
    let b = json_of(&call(&user("hi")));
    assert_ne!(a["id"], b["id"]);
}

#[test]
fn content_parts_are_concatenated_and_long_text_truncated() {
    let parts = json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "one "}, {"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "two"}]}]});
    assert_eq!(
        json_of(&call(&parts))["choices"][0]["message"]["content"],
        "[alpha] one two"
    );
    let long = json_of(&call(&user(&"word ".repeat(100))));
    let content = long["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(content.chars().count() <= 200);
    assert!(content.starts_with("[alpha] word"));
}

#[test]
fn max_tokens_cuts_words_and_reports_length() {
    let mut body = user("one two three four five");
    body["max_completion_tokens"] = json!(3);
    let v = json_of(&call(&body));
    assert_eq!(v["choices"][0]["message"]["content"], "[alpha] one two");
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["usage"]["completion_tokens"], 3);
    body["max_completion_tokens"] = json!(50);
    assert_eq!(json_of(&call(&body))["choices"][0]["finish_reason"], "stop");
}

fn with_tools(text: &str) -> Value {
    let mut body = user(text);
    body["tools"] = json!([{"type": "function", "function": {"name": "get_capital", "parameters": {}}},
                           {"type": "function", "function": {"name": "other"}}]);
    body
}

#[test]
fn tool_word_triggers_a_call_of_the_first_tool() {
    let v = json_of(&call(&with_tools("Use the tool, please")));
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], Value::Null);
    let call0 = &choice["message"]["tool_calls"][0];
    assert!(call0["id"]
        .as_str()
        .is_some_and(|id| id.starts_with("call_")));
    assert_eq!(call0["type"], "function");
    assert_eq!(call0["function"]["name"], "get_capital");
    let args: Value = serde_json::from_str(call0["function"]["arguments"].as_str().unwrap_or(""))
        .unwrap_or(Value::Null);
    assert_eq!(args, json!({"input": "Use the tool, please"}));
    // Without the word, or when the last message is not the user's, it answers in text.
    assert_eq!(
        json_of(&call(&with_tools("toolbox?")))["choices"][0]["finish_reason"],
        "stop"
    );
    let mut after = with_tools("use a tool");
    if let Some(messages) = after["messages"].as_array_mut() {
        messages.push(json!({"role": "tool", "tool_call_id": "c", "content": "London"}));
    }
    assert_eq!(
        json_of(&call(&after))["choices"][0]["finish_reason"],
        "stop"
    );
}

#[test]
fn text_stream_is_framed_like_the_api() {
    let mut body = user("The capital");
    body["stream"] = json!(true);
    let reply = call(&body);
    assert!(reply.streaming);
    assert_eq!(
        reply.headers.get(CONTENT_TYPE).map(|v| v.as_bytes()),
        Some(&b"text/event-stream; charset=utf-8"[..])
    );
    let (chunks, done) = events(&reply);
    assert!(done);
    // role chunk, 3 words, finish chunk; no usage field at all without include_usage.
    assert_eq!(chunks.len(), 5);
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": "", "refusal": null})
    );
    let words: Vec<&str> = chunks[1..4]
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(words, vec!["[alpha]", " The", " capital"]);
    assert_eq!(chunks[4]["choices"][0]["delta"], json!({}));
    assert_eq!(chunks[4]["choices"][0]["finish_reason"], "stop");
    let id = &chunks[0]["id"];
    assert!(chunks.iter().all(|c| &c["id"] == id
        && c["object"] == "chat.completion.chunk"
        && c.get("usage").is_none()));
    assert_eq!(reply.chunks.len(), 6, "one write per event");
}

#[test]
fn include_usage_adds_null_usage_and_a_final_usage_chunk() {
    let mut body = user("hello world");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let (chunks, done) = events(&call(&body));
    assert!(done);
    let (last, rest) = chunks
        .split_last()
        .map(|(l, r)| (l.clone(), r.to_vec()))
        .unwrap_or_default();
    assert!(rest
        .iter()
        .all(|c| c["usage"] == Value::Null && c.get("usage").is_some()));
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"]["completion_tokens"], 3);
    assert_eq!(
        last["usage"]["total_tokens"],
        last["usage"]["prompt_tokens"]
            .as_u64()
            .map(|p| p + 3)
            .unwrap_or(0)
    );
}

#[test]
fn tool_call_stream_sends_header_then_argument_fragments() {
    let mut body = with_tools("call the tool");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let (chunks, done) = events(&call(&body));
    assert!(done);
    let first = &chunks[0]["choices"][0]["delta"];
    assert_eq!(first["role"], "assistant");
    assert_eq!(first["content"], Value::Null);
    assert_eq!(
        first["tool_calls"][0]["function"],
        json!({"name": "get_capital", "arguments": ""})
    );
    assert!(first["tool_calls"][0]["id"]
        .as_str()
        .is_some_and(|id| id.starts_with("call_")));
    let args: String = chunks[1..]
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(args, r#"{"input":"call the tool"}"#);
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(chunks[chunks.len() - 1]["choices"], json!([]));
}

#[test]
fn validation_errors_match_the_api() {
    let missing_model = call(&json!({"messages": [{"role": "user", "content": "x"}]}));
    assert_eq!(missing_model.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        json_of(&missing_model)["error"]["message"],
        "you must provide a model parameter"
    );
    let missing_messages = call(&json!({"model": "m"}));
    assert_eq!(missing_messages.status, StatusCode::BAD_REQUEST);
    assert_eq!(json_of(&missing_messages)["error"]["param"], "messages");
    let empty = call(&json!({"model": "m", "messages": []}));
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert_eq!(json_of(&empty)["error"]["code"], "empty_array");
    assert_eq!(json_of(&empty)["error"]["type"], "invalid_request_error");
}
