//! Gemini stream -> OpenAI chunks, on every recorded stream, re-chunked.

use serde_json::{json, Value};

use super::support::{
    assemble, check_rechunking, ctx, fixture, gemini_events, normalize, recorded_text, run,
    stream_body,
};
use crate::providers::gemini::{GeminiToChatStream, THOUGHT_SEP};
use crate::translate::{StreamTranslator, Usage};

fn usage(prompt: u64, completion: u64, reasoning: u64) -> Usage {
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        reasoning_tokens: reasoning,
        ..Usage::default()
    }
}

fn translator() -> GeminiToChatStream {
    GeminiToChatStream::new(ctx("fallback", true, true))
}

/// Translates the recording split every way and checks the assembled result.
fn golden(fx: &Value, finish: &str, want_usage: Usage) -> super::support::Assembled {
    let body = stream_body(fx);
    let out = check_rechunking(body.as_bytes(), translator);
    let a = assemble(&out);
    assert!(a.done, "ends with [DONE]");
    assert!(a.error.is_none());
    assert_eq!(a.roles, 1);
    assert_eq!(a.content, recorded_text(&body, false));
    assert_eq!(a.reasoning, recorded_text(&body, true));
    assert_eq!(a.finish.as_deref(), Some(finish));
    assert_eq!(a.usage, Some(want_usage.to_openai()));
    let first = &gemini_events(&body)[0];
    assert!(a
        .ids
        .iter()
        .all(|id| Some(id.as_str()) == first["responseId"].as_str()));
    assert!(a
        .models
        .iter()
        .all(|m| Some(m.as_str()) == first["modelVersion"].as_str()));
    let mut t = translator();
    t.push(body.as_bytes());
    t.finish();
    assert_eq!(t.usage(), want_usage);
    a
}

#[test]
fn text_stream() {
    let a = golden(
        &fixture!("gemini/stream-generate-content-text.json"),
        "stop",
        usage(13, 8, 0),
    );
    assert_eq!(a.content, "The capital of France is Paris.\n");
}

#[test]
fn cumulative_usage_stream_takes_the_last() {
    let a = golden(
        &fixture!("gemini/stream-generate-content-usage.json"),
        "stop",
        usage(18, 115, 35),
    );
    let want: Vec<String> = (1..=30).map(|n| n.to_string()).collect();
    assert_eq!(a.content, want.join("\n"));
}

#[test]
fn function_call_stream() {
    let fx = fixture!("gemini/stream-function-call.json");
    let a = golden(&fx, "tool_calls", usage(29, 212, 202));
    let body = stream_body(&fx);
    let sig = gemini_events(&body)[0]["candidates"][0]["content"]["parts"][0]["thoughtSignature"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        a.tool_calls,
        vec![(
            0,
            format!("call_0{THOUGHT_SEP}{sig}"),
            "get_country".into(),
            "{}".into()
        )]
    );
    assert_eq!(a.content, "");
}

#[test]
fn google_search_stream_surfaces_grounding() {
    let fx = fixture!("gemini/stream-google-search.json");
    // Tool-use prompt tokens (102) count as prompt tokens.
    let a = golden(&fx, "stop", usage(17 + 102, 241 + 412, 412));
    let body = stream_body(&fx);
    let last = gemini_events(&body).pop().unwrap();
    let want = &last["candidates"][0]["groundingMetadata"];
    assert!(want["groundingChunks"]
        .as_array()
        .is_some_and(|c| c.len() == 5));
    assert_eq!(a.grounding.as_ref(), Some(want));
    assert_eq!(a.usage.as_ref().unwrap()["total_tokens"], 772);
}

#[test]
fn thinking_stream() {
    let a = golden(
        &fixture!("gemini/stream-thinking.json"),
        "stop",
        usage(34, 469 + 787, 787),
    );
    assert!(a.reasoning.starts_with("**Clarifying User Goals**"));
    assert!(a.content.starts_with("This is a great question!"));
}

#[test]
fn json_array_stream() {
    let a = golden(
        &fixture!("gemini/stream-generate-content-json-array.json"),
        "stop",
        usage(11, 2 + 291, 291),
    );
    assert_eq!(a.content, "Scoop");
    assert!(a.reasoning.starts_with("**Considering the Constraint**"));
}

#[test]
fn truncated_streams_end_with_an_error_event() {
    let fixtures = [
        fixture!("gemini/stream-generate-content-text.json"),
        fixture!("gemini/stream-function-call.json"),
        fixture!("gemini/stream-thinking.json"),
        fixture!("gemini/stream-generate-content-json-array.json"),
    ];
    for fx in &fixtures {
        let body = stream_body(fx);
        let finish_at = body.rfind("\"finishReason\"").unwrap();
        // Cut at every event start before the final event, and inside the final one.
        let mut cuts: Vec<usize> = body
            .match_indices("data: ")
            .map(|(i, _)| i)
            .chain(body.match_indices(",\r\n{").map(|(i, _)| i))
            .filter(|i| *i < finish_at)
            .collect();
        cuts.extend([0, finish_at, finish_at + 5]);
        for cut in cuts {
            let cut_body = &body.as_bytes()[..cut];
            let out = run(translator(), &[cut_body]);
            let (a, b) = cut_body.split_at(cut / 2);
            assert_eq!(normalize(&run(translator(), &[a, b])), normalize(&out));
            let a = assemble(&out);
            assert!(!a.done, "no [DONE] after a cut at {cut}");
            assert!(a.finish.is_none());
            let err = a
                .error
                .unwrap_or_else(|| panic!("error event after a cut at {cut}"));
            assert_eq!(err["type"], "server_error");
            assert!(err["message"].as_str().unwrap().contains("Gemini"));
        }
    }
}

#[test]
fn error_event_mid_stream() {
    let body = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hi\"}]}}]}\r\n\r\n\
                data: {\"error\": {\"code\": 503, \"message\": \"The model is overloaded.\", \"status\": \"UNAVAILABLE\"}}\r\n\r\n";
    let out = check_rechunking(body.as_bytes(), translator);
    let a = assemble(&out);
    assert_eq!(a.content, "Hi");
    assert!(!a.done);
    let err = a.error.unwrap();
    assert_eq!(err["message"], "The model is overloaded.");
    assert_eq!(err["type"], "server_error");
}

#[test]
fn blocked_prompt_stream_and_usage_off() {
    let body = "data: {\"promptFeedback\": {\"blockReason\": \"SAFETY\"}, \"usageMetadata\": {\"promptTokenCount\": 7, \"totalTokenCount\": 7}}\r\n\r\n";
    let t = || GeminiToChatStream::new(ctx("m", true, false));
    let out = check_rechunking(body.as_bytes(), t);
    let a = assemble(&out);
    assert_eq!(a.finish.as_deref(), Some("content_filter"));
    assert!(a.usage.is_none(), "no usage chunk without include_usage");
    assert!(a.done);
}

#[test]
fn parallel_calls_get_incrementing_indexes() {
    let ev = json!({"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"name": "a", "args": {"x": 1}}},
        {"functionCall": {"name": "b", "args": {"y": [true, null]}, "id": "fc-9"}}]},
        "finishReason": "STOP"}], "responseId": "r1", "modelVersion": "gemini-x"});
    let body = format!("data: {ev}\r\n\r\n");
    let out = run(translator(), &[body.as_bytes()]);
    let a = assemble(&out);
    assert_eq!(
        a.tool_calls,
        vec![
            (0, "call_0".into(), "a".into(), "{\"x\":1}".into()),
            (1, "fc-9".into(), "b".into(), "{\"y\":[true,null]}".into()),
        ]
    );
    assert_eq!(a.finish.as_deref(), Some("tool_calls"));
    assert_eq!(a.usage, Some(Usage::default().to_openai()));
}
