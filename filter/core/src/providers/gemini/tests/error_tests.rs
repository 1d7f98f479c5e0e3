//! Error bodies in both directions.

use serde_json::{json, Value};

use super::support::fixture;
use crate::providers::gemini::{error_from_openai, error_to_openai};

fn openai(status: u16, body: &Value) -> (u16, Value) {
    let (s, b) = error_to_openai(status, body.to_string().as_bytes());
    (s, serde_json::from_slice(&b).unwrap())
}

#[test]
fn recorded_404_becomes_model_not_found() {
    let fx = fixture!("gemini/error-404-model-not-found.json");
    let (status, body) = openai(404, &fx["response"]["body"]);
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"error": {"message": fx["response"]["body"]["error"]["message"],
            "type": "invalid_request_error", "param": null, "code": "model_not_found"}})
    );
}

#[test]
fn status_names_map_to_openai() {
    let cases = [
        (
            "RESOURCE_EXHAUSTED",
            429,
            429,
            "requests",
            json!("rate_limit_exceeded"),
        ),
        (
            "INVALID_ARGUMENT",
            400,
            400,
            "invalid_request_error",
            Value::Null,
        ),
        (
            "PERMISSION_DENIED",
            403,
            403,
            "invalid_request_error",
            json!("permission_denied"),
        ),
        (
            "UNAUTHENTICATED",
            401,
            401,
            "invalid_request_error",
            json!("invalid_api_key"),
        ),
        ("UNAVAILABLE", 503, 503, "server_error", Value::Null),
        ("INTERNAL", 500, 500, "server_error", Value::Null),
        ("DEADLINE_EXCEEDED", 504, 504, "server_error", Value::Null),
    ];
    for (name, code, want_status, kind, want_code) in cases {
        let body = json!({"error": {"code": code, "message": format!("m-{name}"), "status": name}});
        let (status, out) = openai(code, &body);
        assert_eq!(status, want_status, "{name}");
        assert_eq!(out["error"]["type"], kind, "{name}");
        assert_eq!(out["error"]["code"], want_code, "{name}");
        assert_eq!(out["error"]["message"], format!("m-{name}"));
    }
}

#[test]
fn odd_bodies_keep_the_status() {
    let wrapped =
        json!([{"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}}]);
    assert_eq!(openai(429, &wrapped).1["error"]["message"], "slow down");
    let (status, body) = error_to_openai(502, b"<html>bad gateway</html>");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 502);
    assert_eq!(body["error"]["type"], "server_error");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("bad gateway"));
    let (status, body) = error_to_openai(429, b"");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (429, json!("rate_limit_exceeded"))
    );
}

#[test]
fn openai_errors_for_gemini_clients() {
    let fx = fixture!("openai/chat-completions-error-404-model.json");
    let (status, body) = error_from_openai(404, fx["response"]["body"].to_string().as_bytes());
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 404);
    assert_eq!(body["error"]["status"], "NOT_FOUND");
    assert_eq!(body["error"]["code"], 404);
    assert_eq!(
        body["error"]["message"],
        fx["response"]["body"]["error"]["message"]
    );
    for (s, name) in [
        (400, "INVALID_ARGUMENT"),
        (401, "UNAUTHENTICATED"),
        (403, "PERMISSION_DENIED"),
        (429, "RESOURCE_EXHAUSTED"),
        (500, "INTERNAL"),
        (503, "UNAVAILABLE"),
    ] {
        let e = crate::error::ApiError::bad_request("x");
        let (_, body) = error_from_openai(s, &e.openai_body());
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["status"], name);
        assert_eq!(body["error"]["message"], "x");
    }
    let (_, body) = error_from_openai(500, b"oops");
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["error"]["message"],
        "oops"
    );
}
