//! End-to-end tests against the real binary over TCP.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{Mock, TestResult};

const CHAT: &str = "/v1/chat/completions";

fn chat_body(text: &str, extra: Value) -> String {
    let mut body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]});
    if let (Some(map), Value::Object(extra)) = (body.as_object_mut(), extra) {
        map.extend(extra);
    }
    body.to_string()
}

#[test]
fn health_names_the_instance_and_every_response_carries_it() -> TestResult {
    let mock = Mock::start("alpha")?;
    let health = mock.get("/__mock/health")?;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()?, json!({"status": "ok", "name": "alpha"}));
    assert_eq!(health.header("x-mock-name"), Some("alpha"));
    let missing = mock.post("/v1/nope", "{}")?;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("x-mock-name"), Some("alpha"));
    Ok(())
}

#[test]
fn non_stream_chat_completion_over_the_wire() -> TestResult {
    let mock = Mock::start("alpha")?;
    let resp = mock.post(
        "/openai/v1/chat/completions",
        &chat_body("Hello there", json!({})),
    )?;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert!(resp
        .header("x-request-id")
        .is_some_and(|v| v.starts_with("req_")));
    assert!(resp.header("content-length").is_some());
    let v = resp.json()?;
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["content"], "[alpha] Hello there");
    assert_eq!(v["usage"]["completion_tokens"], 3);
    Ok(())
}

#[test]
fn stream_is_chunked_sse_with_usage_and_done() -> TestResult {
    let mock = Mock::start("alpha")?;
    let extra = json!({"stream": true, "stream_options": {"include_usage": true}});
    let resp = mock.post(CHAT, &chat_body("The capital", extra))?;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert!(resp.header("content-length").is_none());
    assert!(resp.complete);
    assert!(resp.body.ends_with("\n\ndata: [DONE]\n\n"));
    let data = resp.sse_data();
    // role, 3 words, finish, usage, [DONE]
    assert_eq!(data.len(), 7);
    let chunks: Vec<Value> = data[..6]
        .iter()
        .map(|d| serde_json::from_str(d))
        .collect::<Result<_, _>>()?;
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "[alpha] The capital");
    assert_eq!(chunks[4]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[5]["choices"], json!([]));
    assert_eq!(chunks[5]["usage"]["completion_tokens"], 3);
    Ok(())
}

#[test]
fn tool_word_with_tools_answers_with_a_tool_call() -> TestResult {
    let mock = Mock::start("alpha")?;
    let tools =
        json!({"tools": [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]});
    let v = mock
        .post(CHAT, &chat_body("please use the tool", tools))?
        .json()?;
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    let call = &v["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "lookup");
    assert_eq!(
        call["function"]["arguments"],
        r#"{"input":"please use the tool"}"#
    );
    Ok(())
}

#[test]
fn queued_scripts_are_consumed_once_each_in_order() -> TestResult {
    let mock = Mock::start("q")?;
    let queued = mock.post(
        "/__mock/script",
        r#"[{"status":503,"headers":{"retry-after":"2"}},{"status":429}]"#,
    )?;
    assert_eq!(queued.json()?["queued"], 2);
    // Control requests never consume scripts.
    assert_eq!(mock.get("/__mock/health")?.status, 200);
    let first = mock.post(CHAT, &chat_body("a", json!({})))?;
    assert_eq!(first.status, 503);
    assert_eq!(first.header("retry-after"), Some("2"));
    assert_eq!(first.json()?["error"]["type"], "server_error");
    assert_eq!(mock.post(CHAT, &chat_body("a", json!({})))?.status, 429);
    assert_eq!(mock.post(CHAT, &chat_body("a", json!({})))?.status, 200);
    mock.post("/__mock/script", r#"{"status":500}"#)?;
    assert_eq!(
        mock.send("DELETE", "/__mock/script", &[], "")?.json()?["cleared"],
        1
    );
    assert_eq!(mock.post(CHAT, &chat_body("a", json!({})))?.status, 200);
    Ok(())
}

#[test]
fn header_script_wins_over_queue_and_default() -> TestResult {
    let mock = Mock::start("h")?;
    mock.post("/__mock/default", r#"{"status":503}"#)?;
    mock.post("/__mock/script", r#"{"status":429}"#)?;
    let script = r#"{"status":418,"body":{"custom":true},"headers":{"x-extra":"1"}}"#;
    let resp = mock.send(
        "POST",
        CHAT,
        &[("x-mock-script", script)],
        &chat_body("a", json!({})),
    )?;
    assert_eq!(resp.status, 418);
    assert_eq!(resp.json()?, json!({"custom": true}));
    assert_eq!(resp.header("x-extra"), Some("1"));
    // The queued script was left for the next request, then the default applies.
    assert_eq!(mock.post(CHAT, &chat_body("a", json!({})))?.status, 429);
    assert_eq!(mock.post(CHAT, &chat_body("a", json!({})))?.status, 503);
    assert_eq!(mock.post(CHAT, &chat_body("a", json!({})))?.status, 503);
    mock.send("DELETE", "/__mock/default", &[], "")?;
    assert_eq!(mock.post(CHAT, &chat_body("a", json!({})))?.status, 200);
    let bad = mock.send("POST", CHAT, &[("x-mock-script", "{nope")], "{}")?;
    assert_eq!(bad.status, 400);
    Ok(())
}

#[test]
fn drop_after_chunks_breaks_the_stream() -> TestResult {
    let mock = Mock::start("d")?;
    mock.post("/__mock/script", r#"{"drop_after_chunks":2}"#)?;
    let resp = mock.post(
        CHAT,
        &chat_body("one two three four", json!({"stream": true})),
    )?;
    assert_eq!(resp.status, 200);
    assert!(!resp.complete, "no terminating chunk after a scripted drop");
    assert_eq!(resp.sse_data().len(), 2);
    assert!(!resp.body.contains("[DONE]"));
    // The same stream without a script ends cleanly.
    let clean = mock.post(
        CHAT,
        &chat_body("one two three four", json!({"stream": true})),
    )?;
    assert!(clean.complete && clean.body.ends_with("data: [DONE]\n\n"));
    Ok(())
}

#[test]
fn drop_connection_sends_nothing() -> TestResult {
    let mock = Mock::start("d")?;
    let resp = mock.send(
        "POST",
        CHAT,
        &[("x-mock-script", r#"{"drop_connection":true}"#)],
        "{}",
    )?;
    assert_eq!(resp.status, 0);
    assert!(resp.headers.is_empty() && resp.body.is_empty());
    assert_eq!(
        mock.get("/__mock/health")?.status,
        200,
        "server keeps serving"
    );
    Ok(())
}

#[test]
fn delays_hold_headers_or_first_byte() -> TestResult {
    let mock = Mock::start("t")?;
    let delayed = mock.send(
        "POST",
        CHAT,
        &[("x-mock-script", r#"{"delay_ms":300}"#)],
        &chat_body("a", json!({})),
    )?;
    assert!(delayed
        .head_at
        .is_some_and(|t| t >= Duration::from_millis(300)));
    let script = r#"{"ttfb_ms":400,"chunk_delay_ms":20}"#;
    let stream = mock.send(
        "POST",
        CHAT,
        &[("x-mock-script", script)],
        &chat_body("a b c", json!({"stream": true})),
    )?;
    let (head, body) = (
        stream.head_at.ok_or("no head")?,
        stream.body_at.ok_or("no body")?,
    );
    assert!(
        body >= Duration::from_millis(400),
        "first byte waited: {body:?}"
    );
    assert!(
        head + Duration::from_millis(200) < body,
        "headers went first: {head:?} vs {body:?}"
    );
    assert!(stream.complete && stream.body.ends_with("data: [DONE]\n\n"));
    Ok(())
}

#[test]
fn request_log_records_what_reached_the_provider() -> TestResult {
    let mock = Mock::start("log")?;
    let body = chat_body("logged", json!({}));
    mock.send(
        "POST",
        "/v1/chat/completions?api-version=1",
        &[("X-Custom", "Yes"), ("content-type", "application/json")],
        &body,
    )?;
    mock.get("/__mock/health")?;
    let log = mock.get("/__mock/requests")?.json()?;
    let requests = log["requests"].as_array().ok_or("no list")?;
    assert_eq!(requests.len(), 1, "control calls are not logged");
    assert_eq!(requests[0]["method"], "POST");
    assert_eq!(requests[0]["path"], "/v1/chat/completions?api-version=1");
    assert_eq!(requests[0]["headers"]["x-custom"], "Yes");
    assert_eq!(requests[0]["body"], body);
    mock.send("DELETE", "/__mock/requests", &[], "")?;
    assert_eq!(mock.get("/__mock/requests")?.json()?["requests"], json!([]));
    Ok(())
}

#[test]
fn invalid_requests_get_openai_errors() -> TestResult {
    let mock = Mock::start("e")?;
    let bad_json = mock.post(CHAT, "{")?;
    assert_eq!(bad_json.status, 400);
    assert_eq!(bad_json.json()?["error"]["type"], "invalid_request_error");
    assert_eq!(
        mock.post(CHAT, r#"{"messages":[{"role":"user","content":"x"}]}"#)?
            .status,
        400
    );
    assert_eq!(
        mock.post(CHAT, r#"{"model":"m","messages":[]}"#)?.status,
        400
    );
    let unknown = mock.post(
        CHAT,
        r#"{"model":"nonexistent-1","messages":[{"role":"user","content":"x"}]}"#,
    )?;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()?["error"]["code"], "model_not_found");
    assert_eq!(mock.post("/__mock/script", r#"{"delay":1}"#)?.status, 400);
    Ok(())
}

#[test]
fn embeddings_and_models() -> TestResult {
    let mock = Mock::start("e")?;
    let v = mock
        .post(
            "/v1/embeddings",
            r#"{"model":"text-embedding-3-small","input":["a","b"]}"#,
        )?
        .json()?;
    assert_eq!(v["object"], "list");
    assert_eq!(v["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(mock.get("/v1/models")?.json()?["object"], "list");
    Ok(())
}

#[test]
fn sigterm_exits_cleanly() -> TestResult {
    let mut mock = Mock::start("s")?;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &mock.child.id().to_string()])
        .status()?;
    assert!(status.success());
    let exit = mock.child.wait()?;
    assert_eq!(exit.code(), Some(0));
    Ok(())
}

#[test]
fn chaos_flag_sets_a_schedule_from_start_up() -> TestResult {
    let mock = Mock::start_with(
        "c",
        &["--chaos", r#"[{"mode":"500","status":503,"count":1}]"#],
    )?;
    let first = mock.post(CHAT, &chat_body("hi", json!({})))?;
    assert_eq!(first.status, 503);
    assert_eq!(first.json()?["error"]["type"], "server_error");
    assert_eq!(mock.post(CHAT, &chat_body("hi", json!({})))?.status, 200);
    let log = mock.get("/__mock/requests")?.json()?;
    assert_eq!(log["requests"][0]["chaos"], "500");
    assert_eq!(log["requests"][1]["chaos"], Value::Null);
    Ok(())
}

#[test]
fn chaos_flag_with_a_bad_schedule_exits_with_usage() -> TestResult {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate-mock"))
        .args(["--chaos", r#"{"mode":"sideways"}"#])
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--chaos: "));
    Ok(())
}

#[test]
fn chaos_down_sends_nothing_and_is_logged() -> TestResult {
    let mock = Mock::start("d")?;
    assert_eq!(
        mock.post("/__mock/chaos", r#"{"mode":"down","duration_ms":60000}"#)?
            .status,
        200
    );
    let resp = mock.post(CHAT, &chat_body("hi", json!({})))?;
    assert_eq!(resp.status, 0);
    assert!(resp.headers.is_empty() && resp.body.is_empty());
    let log = mock.get("/__mock/requests")?.json()?;
    assert_eq!(log["requests"][0]["chaos"], "down");
    assert!(log["requests"][0]["ts_ms"].as_u64().is_some());
    Ok(())
}
