use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{HeaderMap, Method, StatusCode};
use serde_json::{json, Value};

use super::{answer, scripted_error};
use crate::faces::{Face, ProviderRequest};
use crate::reply::Reply;

fn headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-api-key", HeaderValue::from_static("sk-ant-test"));
    h.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
    h
}

fn call_with(method: Method, headers: &HeaderMap, body: &str) -> Reply {
    let req = ProviderRequest {
        method: &method,
        path: "/v1/messages",
        body: body.as_bytes(),
        headers,
        name: "alpha",
    };
    answer(&req)
}

fn call(body: &Value) -> Reply {
    call_with(Method::POST, &headers(), &body.to_string())
}

fn json_of(reply: &Reply) -> Value {
    serde_json::from_str(&reply.body_text()).unwrap_or(Value::Null)
}

fn ask(text: &str, extra: Value) -> Value {
    let mut body = json!({"model": "claude-test", "max_tokens": 100,
        "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]});
    if let (Some(map), Value::Object(extra)) = (body.as_object_mut(), extra) {
        map.extend(extra);
    }
    body
}

fn recorded(name: &str) -> Value {
    let text = match name {
        "text" => {
            include_str!("../../../../fixtures/providers/anthropic/messages-text.json")
        }
        "stream" => {
            include_str!("../../../../fixtures/providers/anthropic/messages-stream-text.json")
        }
        _ => unreachable!(),
    };
    serde_json::from_str(text).unwrap()
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

/// (event name, data) pairs of a stream reply, checking that each name matches its type.
fn events(reply: &Reply) -> Vec<(String, Value)> {
    assert!(reply.streaming);
    reply
        .chunks
        .iter()
        .map(|c| {
            let text = String::from_utf8_lossy(c);
            let (name, data) = text.trim_end().split_once('\n').unwrap();
            let name = name.strip_prefix("event: ").unwrap().to_owned();
            let data: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
            assert_eq!(data["type"], name.as_str());
            (name, data)
        })
        .collect()
}

fn error_of(reply: &Reply) -> (StatusCode, String, String) {
    let v = json_of(reply);
    assert_eq!(v["type"], "error");
    assert!(v["request_id"].as_str().unwrap().starts_with("req_"));
    let s = |k: &str| v["error"][k].as_str().unwrap().to_owned();
    (reply.status, s("type"), s("message"))
}

#[test]
fn validation_matches_the_api() {
    let bad = StatusCode::BAD_REQUEST;
    let invalid = "invalid_request_error".to_owned();
    let mut no_key = headers();
    no_key.remove("x-api-key");
    let r = call_with(Method::POST, &no_key, &ask("hi", json!({})).to_string());
    let auth = "x-api-key header is required".to_owned();
    assert_eq!(
        error_of(&r),
        (
            StatusCode::UNAUTHORIZED,
            "authentication_error".into(),
            auth
        )
    );
    let mut no_version = headers();
    no_version.remove("anthropic-version");
    let r = call_with(Method::POST, &no_version, &ask("hi", json!({})).to_string());
    let version = "anthropic-version: header is required".to_owned();
    assert_eq!(error_of(&r), (bad, invalid.clone(), version));
    let r = call_with(Method::POST, &headers(), "{nope");
    assert_eq!(error_of(&r).1, invalid);
    for (body, message) in [
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}),
            "max_tokens: Field required",
        ),
        (
            json!({"max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}),
            "model: Field required",
        ),
        (
            json!({"model": "m", "max_tokens": 5}),
            "messages: Field required",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": []}),
            "messages: at least one message is required",
        ),
    ] {
        assert_eq!(
            error_of(&call(&body)),
            (bad, invalid.clone(), message.to_owned())
        );
    }
    let thinking = ask(
        "hi",
        json!({"max_tokens": 1024, "thinking": {"type": "enabled", "budget_tokens": 1024}}),
    );
    assert!(error_of(&call(&thinking))
        .2
        .starts_with("`max_tokens` must be greater than"));
    let r = call(&ask("hi", json!({"model": "nonexistent-claude"})));
    let nf = "model: nonexistent-claude".to_owned();
    assert_eq!(
        error_of(&r),
        (StatusCode::NOT_FOUND, "not_found_error".into(), nf)
    );
    assert_eq!(
        call_with(Method::GET, &headers(), "").status,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn text_answer_has_the_recorded_shape() {
    let reply = call(&ask("What is the capital of France?", json!({})));
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers.get(CONTENT_TYPE).unwrap(), "application/json");
    assert!(reply.headers.get("request-id").is_some());
    let v = json_of(&reply);
    let rec = recorded("text");
    let rec = &rec["response"]["body"];
    assert_eq!(keys(&v), keys(rec));
    assert_eq!(keys(&v["usage"]), {
        let mut k = keys(&rec["usage"]);
        k.retain(|k| k != "inference_geo");
        k
    });
    assert!(v["id"].as_str().unwrap().starts_with("msg_01"));
    assert_eq!(v["model"], "claude-test");
    assert_eq!(
        v["content"],
        json!([{"type": "text", "text": "[alpha] What is the capital of France?"}])
    );
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(v["stop_sequence"], Value::Null);
    assert_eq!(v["usage"]["output_tokens"], 7);
    assert_eq!(v["usage"]["input_tokens"], 7);
    assert_eq!(v["usage"]["cache_read_input_tokens"], 0);
}

#[test]
fn tools_thinking_limits_and_cache() {
    let tools = json!({"tools": [{"name": "lookup", "input_schema": {"type": "object"}}]});
    let v = json_of(&call(&ask("use the tool please", tools)));
    assert_eq!(v["stop_reason"], "tool_use");
    let block = &v["content"][0];
    assert_eq!(
        (block["type"].as_str(), block["name"].as_str()),
        (Some("tool_use"), Some("lookup"))
    );
    assert!(block["id"].as_str().unwrap().starts_with("toolu_01"));
    assert_eq!(block["input"], json!({"input": "use the tool please"}));
    let v = json_of(&call(&ask(
        "think hard",
        json!({"max_tokens": 2000,
        "thinking": {"type": "enabled", "budget_tokens": 1024}}),
    )));
    assert_eq!(v["content"][0]["type"], "thinking");
    assert!(!v["content"][0]["signature"].as_str().unwrap().is_empty());
    assert_eq!(v["content"][1]["text"], "[alpha] think hard");
    let v = json_of(&call(&ask("one two three four", json!({"max_tokens": 2}))));
    assert_eq!(
        (v["stop_reason"].as_str(), v["content"][0]["text"].as_str()),
        (Some("max_tokens"), Some("[alpha] one"))
    );
    let v = json_of(&call(&ask(
        "alpha beta STOP gamma",
        json!({"stop_sequences": ["STOP"]}),
    )));
    assert_eq!(v["stop_reason"], "stop_sequence");
    assert_eq!(v["stop_sequence"], "STOP");
    // Like the API, the text runs up to the stop sequence, whitespace included.
    assert_eq!(v["content"][0]["text"], "[alpha] alpha beta ");
    let cached = json!({"system": [{"type": "text", "text": "x".repeat(400), "cache_control": {"type": "ephemeral"}}]});
    let v = json_of(&call(&ask("hi", cached)));
    assert_eq!(
        (
            v["usage"]["input_tokens"].as_u64(),
            v["usage"]["cache_read_input_tokens"].as_u64()
        ),
        (Some(50), Some(50))
    );
}

#[test]
fn streams_follow_the_recorded_event_sequence() {
    let reply = call(&ask("Say just hello", json!({"stream": true})));
    assert_eq!(
        reply.headers.get(CONTENT_TYPE).unwrap(),
        "text/event-stream; charset=utf-8"
    );
    let evs = events(&reply);
    let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
    let rec = recorded("stream");
    let rec_body = rec["response"]["body"].as_str().unwrap();
    let rec_names: Vec<&str> = rec_body
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    // Same grammar; the mock streams one delta per word.
    let squash = |n: &[&str]| {
        let mut v: Vec<String> = n.iter().map(|s| s.to_string()).collect();
        v.dedup();
        v
    };
    assert_eq!(squash(&names), squash(&rec_names));
    assert_eq!(evs[2].1, json!({"type": "ping"}));
    assert!(reply.chunks[2].starts_with(b"event: ping\ndata: {\"type\": \"ping\"}"));
    let text: String = evs
        .iter()
        .filter_map(|(_, v)| v["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, "[alpha] Say just hello");
    let (_, delta) = &evs[evs.len() - 2];
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"]["output_tokens"], 4);
    assert_eq!(evs[0].1["message"]["usage"]["output_tokens"], 1);
}

#[test]
fn streamed_tool_use_and_thinking() {
    let extra = json!({"stream": true, "max_tokens": 3000, "thinking": {"type": "enabled", "budget_tokens": 1024},
        "tools": [{"name": "lookup", "input_schema": {"type": "object"}}]});
    let evs = events(&call(&ask("call a tool with \"quotes\"", extra)));
    let starts: Vec<&str> = evs
        .iter()
        .filter_map(|(_, v)| v["content_block"]["type"].as_str())
        .collect();
    assert_eq!(starts, vec!["thinking", "tool_use"]);
    let frag: String = evs
        .iter()
        .filter_map(|(_, v)| v["delta"]["partial_json"].as_str())
        .collect();
    let input: Value = serde_json::from_str(&frag).unwrap();
    assert_eq!(input, json!({"input": "call a tool with \"quotes\""}));
    let sig: Vec<&str> = evs
        .iter()
        .filter_map(|(_, v)| v["delta"]["signature"].as_str())
        .collect();
    assert_eq!(sig.len(), 1);
    let thinking: String = evs
        .iter()
        .filter_map(|(_, v)| v["delta"]["thinking"].as_str())
        .collect();
    assert!(thinking.starts_with("The user wrote"));
    assert_eq!(evs[evs.len() - 2].1["delta"]["stop_reason"], "tool_use");
}

#[test]
fn scripted_errors_use_anthropic_envelope() {
    for (status, kind) in [
        (529, "overloaded_error"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (401, "authentication_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (418, "invalid_request_error"),
    ] {
        let reply = scripted_error(StatusCode::from_u16(status).unwrap());
        let (s, k, _) = error_of(&reply);
        assert_eq!((s.as_u16(), k.as_str()), (status, kind));
        assert!(reply.headers.get("request-id").is_some());
    }
}

#[test]
fn paths_pick_the_face() {
    assert_eq!(Face::for_path("/v1/messages"), Face::Anthropic);
    assert_eq!(Face::for_path("/anthropic/v1/messages/"), Face::Anthropic);
    assert_eq!(Face::for_path("/v1/chat/completions"), Face::OpenAi);
    assert_eq!(Face::for_path("/v1/messages/count_tokens"), Face::OpenAi);
}
