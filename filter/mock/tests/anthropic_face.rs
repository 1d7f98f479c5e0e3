//! The Anthropic face over TCP, scripts included.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{Mock, Resp, TestResult};

const MESSAGES: &str = "/v1/messages?beta=true";
const AUTH: [(&str, &str); 3] = [
    ("content-type", "application/json"),
    ("x-api-key", "sk-ant-test"),
    ("anthropic-version", "2023-06-01"),
];

fn body(text: &str, extra: Value) -> String {
    let mut b = json!({"model": "claude-haiku-4-5", "max_tokens": 64,
        "messages": [{"role": "user", "content": text}]});
    if let (Some(map), Value::Object(extra)) = (b.as_object_mut(), extra) {
        map.extend(extra);
    }
    b.to_string()
}

fn post(mock: &Mock, path: &str, extra_headers: &[(&str, &str)], body: &str) -> TestResult<Resp> {
    let mut headers = AUTH.to_vec();
    headers.extend_from_slice(extra_headers);
    mock.send("POST", path, &headers, body)
}

/// `(event name, data)` pairs of an Anthropic stream body.
fn events(resp: &Resp) -> Vec<(String, Value)> {
    resp.body
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .filter_map(|e| {
            let (name, data) = e.split_once('\n')?;
            let data = serde_json::from_str(data.strip_prefix("data: ")?).ok()?;
            Some((name.strip_prefix("event: ")?.to_owned(), data))
        })
        .collect()
}

#[test]
fn message_over_the_wire() -> TestResult {
    let mock = Mock::start("claude")?;
    let resp = post(&mock, MESSAGES, &[], &body("Hello there", json!({})))?;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert!(resp
        .header("request-id")
        .is_some_and(|v| v.starts_with("req_")));
    assert_eq!(resp.header("x-mock-name"), Some("claude"));
    let v = resp.json()?;
    assert_eq!(v["type"], "message");
    assert_eq!(v["content"][0]["text"], "[claude] Hello there");
    assert_eq!(v["usage"]["output_tokens"], 3);
    let logged = mock.get("/__mock/requests")?.json()?;
    assert_eq!(logged["requests"][0]["path"], MESSAGES);
    Ok(())
}

#[test]
fn stream_over_the_wire() -> TestResult {
    let mock = Mock::start("claude")?;
    let resp = post(
        &mock,
        "/anthropic/v1/messages",
        &[],
        &body("Say hi", json!({"stream": true})),
    )?;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert!(resp.complete);
    // Every event is named: none starts with a bare `data:` line.
    assert!(resp.sse_data().is_empty());
    let evs = events(&resp);
    assert_eq!(evs.first().map(|e| e.0.as_str()), Some("message_start"));
    assert_eq!(evs.last().map(|e| e.0.as_str()), Some("message_stop"));
    let text: String = evs
        .iter()
        .filter_map(|(_, v)| v["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, "[claude] Say hi");
    Ok(())
}

#[test]
fn missing_credentials_and_fields_get_anthropic_errors() -> TestResult {
    let mock = Mock::start("claude")?;
    let resp = mock.send(
        "POST",
        MESSAGES,
        &[("anthropic-version", "2023-06-01")],
        &body("x", json!({})),
    )?;
    assert_eq!(resp.status, 401);
    let v = resp.json()?;
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "authentication_error");
    let no_max =
        json!({"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "x"}]});
    let resp = post(&mock, MESSAGES, &[], &no_max.to_string())?;
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.json()?["error"]["message"],
        "max_tokens: Field required"
    );
    Ok(())
}

#[test]
fn scripted_status_without_body_is_an_anthropic_error() -> TestResult {
    let mock = Mock::start("claude")?;
    mock.post(
        "/__mock/script",
        r#"[{"status":529},{"status":429,"headers":{"retry-after":"3"}}]"#,
    )?;
    let resp = post(&mock, MESSAGES, &[], &body("x", json!({})))?;
    assert_eq!(resp.status, 529);
    let v = resp.json()?;
    assert_eq!(
        v["error"],
        json!({"type": "overloaded_error", "message": "Overloaded"})
    );
    assert!(v["request_id"]
        .as_str()
        .is_some_and(|r| r.starts_with("req_")));
    let resp = post(&mock, MESSAGES, &[], &body("x", json!({})))?;
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), Some("3"));
    assert_eq!(resp.json()?["error"]["type"], "rate_limit_error");
    // The OpenAI face keeps its own envelope for the same script.
    mock.post("/__mock/script", r#"{"status":529}"#)?;
    let chat = json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
    let resp = mock.post("/v1/chat/completions", &chat.to_string())?;
    assert!(resp.json()?.get("type").is_none());
    Ok(())
}

#[test]
fn header_scripts_cut_streams_and_replace_bodies() -> TestResult {
    let mock = Mock::start("claude")?;
    let script = r#"{"drop_after_chunks":3}"#;
    let resp = post(
        &mock,
        MESSAGES,
        &[("x-mock-script", script)],
        &body("one two three", json!({"stream": true})),
    )?;
    assert_eq!(resp.status, 200);
    assert!(!resp.complete, "the connection was cut mid-stream");
    let names: Vec<String> = events(&resp).into_iter().map(|e| e.0).collect();
    assert_eq!(names, vec!["message_start", "content_block_start", "ping"]);
    let custom =
        r#"{"status":200,"body":"event: message_start\ndata: {\"type\":\"message_start\"}\n\n"}"#;
    let resp = post(
        &mock,
        MESSAGES,
        &[("x-mock-script", custom)],
        &body("x", json!({})),
    )?;
    assert_eq!(
        resp.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(events(&resp).len(), 1);
    Ok(())
}

#[test]
fn ttfb_holds_the_first_body_byte() -> TestResult {
    let mock = Mock::start("claude")?;
    let script = r#"{"ttfb_ms":300}"#;
    let resp = post(
        &mock,
        MESSAGES,
        &[("x-mock-script", script)],
        &body("x", json!({"stream": true})),
    )?;
    let (head, first) = (
        resp.head_at.ok_or("no head")?,
        resp.body_at.ok_or("no body")?,
    );
    assert!(first >= Duration::from_millis(300), "{first:?}");
    assert!(head < Duration::from_millis(300), "{head:?}");
    assert!(resp.complete);
    Ok(())
}
