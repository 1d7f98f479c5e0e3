//! Error bodies in both directions.

use serde_json::{json, Value};

use super::fixture;
use crate::providers::anthropic::{error_from_openai, error_to_openai};

fn to_openai(status: u16, body: &[u8]) -> (u16, Value) {
    let (s, b) = error_to_openai(status, body);
    (s, serde_json::from_slice(&b).unwrap())
}

fn from_openai(status: u16, body: &[u8]) -> (u16, Value) {
    let (s, b) = error_from_openai(status, body);
    (s, serde_json::from_slice(&b).unwrap())
}

fn anthropic(kind: &str, message: &str) -> Vec<u8> {
    json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_1"})
        .to_string()
        .into_bytes()
}

#[test]
fn recorded_anthropic_errors() {
    for (f, status, message, code) in [
        (
            fixture!("anthropic/error-400-invalid-request.json"),
            400,
            "This model does not support effort level 'xhigh'. Supported levels: high, low, max, medium.",
            Value::Null,
        ),
        (
            fixture!("anthropic/error-404-not-found.json"),
            404,
            "model: claude-sonet-4-5",
            json!("not_found"),
        ),
    ] {
        let body = f["response"]["body"].to_string();
        let (s, v) = to_openai(f["response"]["status"].as_u64().unwrap() as u16, body.as_bytes());
        assert_eq!(s, status);
        assert_eq!(
            v,
            json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": code}})
        );
    }
}

#[test]
fn statuses_are_kept_and_types_mapped() {
    for (status, kind, want_type, want_code) in [
        (
            401,
            "authentication_error",
            "invalid_request_error",
            json!("invalid_api_key"),
        ),
        (
            403,
            "permission_error",
            "invalid_request_error",
            json!("permission_denied"),
        ),
        (
            413,
            "request_too_large",
            "invalid_request_error",
            json!("request_too_large"),
        ),
        (
            429,
            "rate_limit_error",
            "rate_limit_error",
            json!("rate_limit_exceeded"),
        ),
        (500, "api_error", "server_error", Value::Null),
        (529, "overloaded_error", "server_error", json!("overloaded")),
        (
            418,
            "teapot_error",
            "invalid_request_error",
            json!("teapot_error"),
        ),
        (502, "", "server_error", Value::Null),
    ] {
        let (s, v) = to_openai(status, &anthropic(kind, "msg"));
        assert_eq!(s, status);
        assert_eq!(v["error"]["type"], want_type, "{kind}");
        assert_eq!(v["error"]["code"], want_code, "{kind}");
        assert_eq!(v["error"]["message"], "msg");
    }
}

#[test]
fn non_json_bodies_are_wrapped() {
    let (s, v) = to_openai(502, b"<html>Bad Gateway</html>");
    assert_eq!(s, 502);
    assert_eq!(v["error"]["message"], "<html>Bad Gateway</html>");
    assert_eq!(v["error"]["type"], "server_error");
    let (_, v) = to_openai(529, b"");
    assert_eq!(v["error"]["message"], "upstream returned HTTP 529");
    assert_eq!(v["error"]["code"], "overloaded");
    let long = vec![b'x'; 5000];
    let (_, v) = to_openai(500, &long);
    assert_eq!(v["error"]["message"].as_str().unwrap().len(), 1000);
    let (_, v) = from_openai(503, b"upstream connect error");
    assert_eq!(
        v,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "upstream connect error"}})
    );
}

#[test]
fn openai_errors_for_anthropic_clients() {
    let f = fixture!("openai/chat-completions-error-400.json");
    let (s, v) = from_openai(400, f["response"]["body"].to_string().as_bytes());
    assert_eq!(s, 400);
    assert_eq!(
        v,
        json!({"type": "error", "error": {"type": "invalid_request_error",
            "message": f["response"]["body"]["error"]["message"]}})
    );
    let f = fixture!("openai/chat-completions-error-404-model.json");
    let (s, v) = from_openai(404, f["response"]["body"].to_string().as_bytes());
    assert_eq!(
        (s, v["error"]["type"].as_str()),
        (404, Some("not_found_error"))
    );
    for (status, body, want) in [
        (
            429,
            json!({"error": {"message": "slow", "type": "requests", "code": "rate_limit_exceeded"}}),
            "rate_limit_error",
        ),
        (
            401,
            json!({"error": {"message": "bad key", "type": "invalid_request_error", "code": "invalid_api_key"}}),
            "authentication_error",
        ),
        (403, json!({"error": {"message": "no"}}), "permission_error"),
        (
            413,
            json!({"error": {"message": "big"}}),
            "request_too_large",
        ),
        (
            500,
            json!({"error": {"message": "boom", "type": "server_error"}}),
            "api_error",
        ),
        (
            529,
            json!({"error": "plain string error"}),
            "overloaded_error",
        ),
    ] {
        let (s, v) = from_openai(status, body.to_string().as_bytes());
        assert_eq!(s, status);
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], want, "{status}");
    }
    // Our own gateway errors (ApiError bodies) translate too.
    let own = crate::error::ApiError::unknown_model("nope").openai_body();
    let (_, v) = from_openai(404, &own);
    assert!(v["error"]["message"].as_str().unwrap().contains("`nope`"));
}
