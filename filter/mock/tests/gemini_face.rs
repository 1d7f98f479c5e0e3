//! The Gemini face end to end over TCP: streams, auth, and scripts.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{Mock, TestResult};

const GEN: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
const SSE: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";

fn body(text: &str) -> String {
    json!({"contents": [{"role": "user", "parts": [{"text": text}]}]}).to_string()
}

fn post(mock: &Mock, path: &str, extra: &[(&str, &str)], text: &str) -> TestResult<support::Resp> {
    let mut headers = vec![
        ("content-type", "application/json"),
        ("x-goog-api-key", "k"),
    ];
    headers.extend_from_slice(extra);
    mock.send("POST", path, &headers, &body(text))
}

fn sse_events(body: &str) -> Vec<Value> {
    body.split("\r\n\r\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter_map(|e| serde_json::from_str(e).ok())
        .collect()
}

#[test]
fn generate_and_stream_over_the_wire() -> TestResult {
    let mock = Mock::start("gem")?;
    let resp = post(&mock, GEN, &[], "Hello there")?;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-mock-name"), Some("gem"));
    let v = resp.json()?;
    assert_eq!(
        v["candidates"][0]["content"]["parts"][0]["text"],
        "[gem] Hello there"
    );
    let resp = post(&mock, SSE, &[], "Hello there")?;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("text/event-stream"));
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert!(resp.complete);
    let events = sse_events(&resp.body);
    assert_eq!(events.len(), 3);
    assert_eq!(events[2]["candidates"][0]["finishReason"], "STOP");
    let resp = post(
        &mock,
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        &[],
        "x",
    )?;
    let arr: Vec<Value> = serde_json::from_str(&resp.body)?;
    assert_eq!(arr.len(), 2);
    Ok(())
}

#[test]
fn missing_key_is_403_in_gemini_shape() -> TestResult {
    let mock = Mock::start("gem")?;
    let resp = mock.send(
        "POST",
        GEN,
        &[("content-type", "application/json")],
        &body("hi"),
    )?;
    assert_eq!(resp.status, 403);
    assert_eq!(resp.json()?["error"]["status"], "PERMISSION_DENIED");
    let resp = mock.send("POST", &format!("{GEN}?key=abc"), &[], &body("hi"))?;
    assert_eq!(resp.status, 200);
    Ok(())
}

#[test]
fn scripted_429_without_body_is_resource_exhausted() -> TestResult {
    let mock = Mock::start("gem")?;
    let resp = post(
        &mock,
        GEN,
        &[(
            "x-mock-script",
            r#"{"status":429,"headers":{"retry-after":"3"}}"#,
        )],
        "hi",
    )?;
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), Some("3"));
    let v = resp.json()?;
    assert_eq!(v["error"]["status"], "RESOURCE_EXHAUSTED");
    assert_eq!(v["error"]["code"], 429);
    Ok(())
}

#[test]
fn drop_after_chunks_cuts_the_sse_stream() -> TestResult {
    let mock = Mock::start("gem")?;
    mock.post("/__mock/script", r#"{"drop_after_chunks": 2}"#)?;
    let resp = post(&mock, SSE, &[], "one two three four")?;
    assert_eq!(resp.status, 200);
    assert!(!resp.complete, "the connection was aborted mid-stream");
    let events = sse_events(&resp.body);
    assert_eq!(events.len(), 2);
    assert!(events
        .iter()
        .all(|e| e["candidates"][0].get("finishReason").is_none()));
    Ok(())
}

#[test]
fn ttfb_and_chunk_delay_apply() -> TestResult {
    let mock = Mock::start("gem")?;
    let script = r#"{"ttfb_ms": 150, "chunk_delay_ms": 20}"#;
    let resp = post(&mock, SSE, &[("x-mock-script", script)], "a b c")?;
    assert_eq!(resp.status, 200);
    let head = resp.head_at.ok_or("no head")?;
    let first = resp.body_at.ok_or("no body")?;
    assert!(
        first >= head + Duration::from_millis(120),
        "{head:?} {first:?}"
    );
    assert_eq!(sse_events(&resp.body).len(), 4);
    Ok(())
}

#[test]
fn embeddings_over_the_wire() -> TestResult {
    let mock = Mock::start("gem")?;
    let req =
        json!({"content": {"parts": [{"text": "hi"}]}, "outputDimensionality": 3}).to_string();
    let headers = [("x-goog-api-key", "k")];
    let resp = mock.send(
        "POST",
        "/v1beta/models/gemini-embedding-001:embedContent",
        &headers,
        &req,
    )?;
    assert_eq!(
        resp.json()?["embedding"]["values"].as_array().map(Vec::len),
        Some(3)
    );
    let resp = mock.send(
        "POST",
        "/v1beta/models/nonexistent-embed:embedContent",
        &headers,
        &req,
    )?;
    assert_eq!(resp.status, 404);
    Ok(())
}

#[test]
fn scripted_bodies_and_the_request_log() -> TestResult {
    let mock = Mock::start("gem")?;
    let script = json!({"body": "data: {\"candidates\": []}\n\ndata: {\"x\": 1}\n\n"}).to_string();
    let resp = post(&mock, SSE, &[("x-mock-script", &script)], "hi")?;
    assert_eq!(resp.sse_data(), vec!["{\"candidates\": []}", "{\"x\": 1}"]);
    let log = mock.get("/__mock/requests")?.json()?;
    let entry = &log["requests"][0];
    assert_eq!(entry["path"], SSE);
    assert_eq!(entry["headers"]["x-goog-api-key"], "k");
    Ok(())
}
