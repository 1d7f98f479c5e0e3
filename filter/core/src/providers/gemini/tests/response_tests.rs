//! Gemini response -> OpenAI chat completion.

use serde_json::{json, Value};

use super::support::{ctx, fixture};
use crate::providers::gemini::{gemini_to_chat, THOUGHT_SEP};
use crate::translate::Usage;

fn translate(resp: &Value) -> (Value, Usage) {
    let (mut body, usage) = gemini_to_chat(resp, &ctx("fallback-model", false, false)).unwrap();
    assert!(body["created"].as_u64().is_some());
    body.as_object_mut().unwrap().remove("created");
    (body, usage)
}

fn usage(prompt: u64, completion: u64, reasoning: u64, cached: u64) -> Value {
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        cached_tokens: cached,
        cache_creation_tokens: 0,
        reasoning_tokens: reasoning,
    }
    .to_openai()
}

#[test]
fn text_response() {
    let fx = fixture!("gemini/generate-content-text.json");
    let (body, u) = translate(&fx["response"]["body"]);
    assert_eq!(
        body,
        json!({
            "id": "bzlXaa_EE_aHqtsPi_zw8Ao",
            "object": "chat.completion",
            "model": "gemini-2.5-flash",
            "choices": [{"index": 0, "logprobs": null, "finish_reason": "stop",
                "message": {"role": "assistant", "content": "Hello! How can I help you today?"}}],
            "usage": usage(9, 43, 34, 0),
        })
    );
    assert_eq!(u.total(), 52);
}

#[test]
fn function_call_with_thought_signature() {
    let fx = fixture!("gemini/generate-content-function-call.json");
    let resp = &fx["response"]["body"];
    let sig = resp["candidates"][0]["content"]["parts"][0]["thoughtSignature"]
        .as_str()
        .unwrap();
    let (body, u) = translate(resp);
    assert_eq!(
        body["choices"][0],
        json!({"index": 0, "logprobs": null, "finish_reason": "tool_calls",
            "message": {"role": "assistant", "content": null, "tool_calls": [{
                "id": format!("call_0{THOUGHT_SEP}{sig}"), "type": "function",
                "function": {"name": "get_capital", "arguments": "{\"country\":\"France\"}"}}]}})
    );
    assert_eq!(body["usage"], usage(57, 139, 124, 0));
    assert_eq!(u.total(), 196);
}

#[test]
fn function_call_without_signature() {
    let fx = fixture!("gemini/generate-content-function-response.json");
    let (body, _) = translate(&fx["response"]["body"]);
    let call = &body["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["id"], "call_0");
    assert_eq!(call["function"]["name"], "final_result");
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"city": "Mexico City", "country": "Mexico"}));
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(body["usage"], usage(47, 8, 0, 0));
    assert_eq!(body["model"], "gemini-2.0-flash");
}

#[test]
fn grounding_metadata_is_surfaced() {
    let fx = fixture!("gemini/generate-content-google-search.json");
    let resp = &fx["response"]["body"];
    let (body, _) = translate(resp);
    let msg = &body["choices"][0]["message"];
    assert_eq!(
        msg["grounding_metadata"],
        resp["candidates"][0]["groundingMetadata"]
    );
    assert_eq!(
        msg["content"],
        resp["candidates"][0]["content"]["parts"][0]["text"]
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    let meta = &resp["usageMetadata"];
    assert_eq!(
        body["usage"]["total_tokens"].as_u64(),
        meta["totalTokenCount"].as_u64()
    );
}

#[test]
fn thoughts_become_reasoning_content() {
    let resp = json!({"candidates": [{"content": {"role": "model", "parts": [
        {"text": "**Plan**\n", "thought": true}, {"text": "Answer", "thoughtSignature": "x"}]},
        "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 1,
            "thoughtsTokenCount": 10, "cachedContentTokenCount": 2, "totalTokenCount": 15}});
    let (body, u) = translate(&resp);
    let msg = &body["choices"][0]["message"];
    assert_eq!(msg["content"], "Answer");
    assert_eq!(msg["reasoning_content"], "**Plan**\n");
    assert_eq!(body["usage"], usage(4, 11, 10, 2));
    assert_eq!(u.cached_tokens, 2);
    assert_eq!(body["model"], "fallback-model");
}

#[test]
fn finish_reasons() {
    let cases = [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("IMAGE_SAFETY", "content_filter"),
        ("OTHER", "stop"),
        ("MALFORMED_FUNCTION_CALL", "stop"),
    ];
    for (gemini, openai) in cases {
        let resp = json!({"candidates": [{"content": {"parts": [{"text": "x"}]},
            "finishReason": gemini}]});
        let (body, _) = translate(&resp);
        assert_eq!(body["choices"][0]["finish_reason"], openai, "{gemini}");
    }
}

#[test]
fn blocked_prompt_is_content_filter_with_empty_content() {
    let resp = json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
        "usageMetadata": {"promptTokenCount": 5, "totalTokenCount": 5}});
    let (body, u) = translate(&resp);
    assert_eq!(body["choices"][0]["finish_reason"], "content_filter");
    assert_eq!(body["choices"][0]["message"]["content"], "");
    assert_eq!(u.prompt_tokens, 5);
}

#[test]
fn several_candidates_become_choices() {
    let resp = json!({"candidates": [
        {"content": {"parts": [{"text": "a"}]}, "finishReason": "STOP", "index": 0},
        {"content": {"parts": [{"text": "b"}]}, "finishReason": "MAX_TOKENS", "index": 1}]});
    let (body, _) = translate(&resp);
    assert_eq!(body["choices"][1]["index"], 1);
    assert_eq!(body["choices"][1]["message"]["content"], "b");
    assert_eq!(body["choices"][1]["finish_reason"], "length");
}

#[test]
fn error_objects_and_odd_bodies_are_errors() {
    let err = gemini_to_chat(
        &json!({"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}),
        &ctx("m", false, false),
    )
    .unwrap_err();
    assert_eq!((err.status, err.code), (429, Some("rate_limit_exceeded")));
    assert_eq!(
        gemini_to_chat(&json!([1]), &ctx("m", false, false))
            .unwrap_err()
            .status,
        502
    );
}

#[test]
fn usage_counts_near_u64_max_saturate() {
    let resp = json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": u64::MAX, "toolUsePromptTokenCount": 5,
            "candidatesTokenCount": u64::MAX, "thoughtsTokenCount": 9},
    });
    let (body, u) = translate(&resp);
    assert_eq!((u.prompt_tokens, u.completion_tokens), (u64::MAX, u64::MAX));
    assert_eq!(body["usage"]["total_tokens"], u64::MAX);
}
