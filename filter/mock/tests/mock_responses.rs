//! The Responses face over TCP, with scripts applied exactly as for chat.

mod support;

use serde_json::{json, Value};
use support::{Mock, TestResult};

const RESPONSES: &str = "/v1/responses";

fn body(text: &str, extra: Value) -> String {
    let mut body = json!({"model": "gpt-4o-mini", "input": [{"role": "user", "content": text}]});
    if let (Some(map), Value::Object(extra)) = (body.as_object_mut(), extra) {
        map.extend(extra);
    }
    body.to_string()
}

/// Event names of a Responses SSE body, in order.
fn event_names(text: &str) -> Vec<String> {
    text.split("\n\n")
        .filter_map(|e| e.strip_prefix("event: "))
        .map(|e| e.lines().next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn non_stream_response_over_the_wire() -> TestResult {
    let mock = Mock::start("alpha")?;
    let resp = mock.post("/openai/v1/responses", &body("Hello there", json!({})))?;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert_eq!(resp.header("x-mock-name"), Some("alpha"));
    let v = resp.json()?;
    assert_eq!(v["object"], "response");
    assert_eq!(v["output"][0]["content"][0]["text"], "[alpha] Hello there");
    assert_eq!(v["usage"]["output_tokens"], 3);
    Ok(())
}

#[test]
fn stream_is_chunked_sse_ending_with_response_completed() -> TestResult {
    let mock = Mock::start("alpha")?;
    let resp = mock.post(RESPONSES, &body("The capital", json!({"stream": true})))?;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert!(resp.complete);
    let names = event_names(&resp.body);
    assert_eq!(names.first().map(String::as_str), Some("response.created"));
    assert_eq!(names.last().map(String::as_str), Some("response.completed"));
    assert_eq!(
        names
            .iter()
            .filter(|n| *n == "response.output_text.delta")
            .count(),
        3
    );
    assert!(
        !resp.body.contains("[DONE]"),
        "Responses streams have no [DONE]"
    );
    // Every event is named: none starts with a bare `data:` line.
    assert!(resp.sse_data().is_empty());
    Ok(())
}

#[test]
fn tool_call_over_the_wire() -> TestResult {
    let mock = Mock::start("alpha")?;
    let tools = json!({"tools": [{"type": "function", "name": "lookup", "parameters": {}}]});
    let v = mock
        .post(RESPONSES, &body("use the tool please", tools))?
        .json()?;
    assert_eq!(v["output"][0]["type"], "function_call");
    assert_eq!(v["output"][0]["name"], "lookup");
    assert_eq!(
        v["output"][0]["arguments"],
        r#"{"input":"use the tool please"}"#
    );
    Ok(())
}

#[test]
fn scripts_apply_to_responses_like_chat() -> TestResult {
    let mock = Mock::start("s")?;
    mock.post(
        "/__mock/script",
        r#"[{"status":429},{"status":503,"headers":{"retry-after":"2"}}]"#,
    )?;
    let limited = mock.post(RESPONSES, &body("a", json!({})))?;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.json()?["error"]["code"], "rate_limit_exceeded");
    let down = mock.post(RESPONSES, &body("a", json!({})))?;
    assert_eq!(down.status, 503);
    assert_eq!(down.header("retry-after"), Some("2"));
    assert_eq!(down.json()?["error"]["type"], "server_error");
    assert_eq!(mock.post(RESPONSES, &body("a", json!({})))?.status, 200);
    // A header script replaces the body.
    let script = r#"{"status":400,"body":{"error":{"message":"bad","type":"invalid_request_error","param":"temperature","code":"decimal_below_min_value"}}}"#;
    let resp = mock.send(
        "POST",
        RESPONSES,
        &[("x-mock-script", script)],
        &body("a", json!({})),
    )?;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json()?["error"]["param"], "temperature");
    // The request log shows the Responses call.
    let log = mock.get("/__mock/requests")?.json()?;
    assert_eq!(log["requests"][0]["path"], RESPONSES);
    Ok(())
}

#[test]
fn drop_after_chunks_cuts_the_event_stream() -> TestResult {
    let mock = Mock::start("d")?;
    mock.post("/__mock/script", r#"{"drop_after_chunks":3}"#)?;
    let resp = mock.post(
        RESPONSES,
        &body("one two three four", json!({"stream": true})),
    )?;
    assert_eq!(resp.status, 200);
    assert!(!resp.complete);
    assert_eq!(
        event_names(&resp.body),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added"
        ]
    );
    let clean = mock.post(
        RESPONSES,
        &body("one two three four", json!({"stream": true})),
    )?;
    assert!(clean.complete);
    assert_eq!(
        event_names(&clean.body).last().map(String::as_str),
        Some("response.completed")
    );
    Ok(())
}
