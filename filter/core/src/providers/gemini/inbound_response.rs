//! OpenAI chat completion -> Gemini `GenerateContentResponse`, for clients of
//! the native Gemini routes served by non-Gemini deployments.

use serde_json::{json, Value};

use super::{split_tool_call_id, upstream_error};
use crate::error::ApiError;
use crate::translate::Usage;

/// Gemini `finishReason` for an OpenAI `finish_reason`.
pub(super) fn gemini_finish(reason: &str) -> &'static str {
    match reason {
        "length" => "MAX_TOKENS",
        "content_filter" => "SAFETY",
        _ => "STOP",
    }
}

/// Gemini `usageMetadata` for a usage record (candidates exclude thoughts).
pub(super) fn usage_metadata(u: &Usage) -> Value {
    let mut meta = json!({
        "promptTokenCount": u.prompt_tokens,
        "candidatesTokenCount": u.completion_tokens.saturating_sub(u.reasoning_tokens),
        "totalTokenCount": u.total(),
    });
    if u.reasoning_tokens > 0 {
        meta["thoughtsTokenCount"] = json!(u.reasoning_tokens);
    }
    if u.cached_tokens > 0 {
        meta["cachedContentTokenCount"] = json!(u.cached_tokens);
    }
    meta
}

/// A `functionCall` part for an OpenAI tool call (arguments that are not a
/// JSON object become `{}`); the id is kept so the client can echo it.
pub(super) fn function_call_part(call: &Value) -> Value {
    let id = call.get("id").and_then(Value::as_str).unwrap_or_default();
    let (id, _) = split_tool_call_id(id);
    let name = call.pointer("/function/name").and_then(Value::as_str);
    let args = call.pointer("/function/arguments").and_then(Value::as_str);
    let args = args
        .and_then(|a| serde_json::from_str::<Value>(a).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    let mut fc = json!({"name": name.unwrap_or_default(), "args": args});
    if !id.is_empty() {
        fc["id"] = json!(id);
    }
    json!({ "functionCall": fc })
}

/// Translates an OpenAI chat completion into a Gemini `GenerateContentResponse`.
pub fn chat_to_gemini_response(resp: &Value) -> Result<Value, ApiError> {
    let choices = resp
        .get("choices")
        .and_then(Value::as_array)
        .ok_or_else(|| upstream_error("the deployment's response has no choices"))?;
    let mut candidates = Vec::with_capacity(choices.len());
    for (pos, choice) in choices.iter().enumerate() {
        let msg = choice.get("message").unwrap_or(&Value::Null);
        let mut parts = Vec::new();
        let reasoning = msg
            .get("reasoning_content")
            .or_else(|| msg.get("reasoning"))
            .and_then(Value::as_str);
        if let Some(r) = reasoning.filter(|r| !r.is_empty()) {
            parts.push(json!({"text": r, "thought": true}));
        }
        if let Some(t) = msg.get("content").and_then(Value::as_str) {
            parts.push(json!({ "text": t }));
        }
        let calls = msg.get("tool_calls").and_then(Value::as_array);
        parts.extend(calls.into_iter().flatten().map(function_call_part));
        if parts.is_empty() {
            parts.push(json!({"text": ""}));
        }
        let reason = choice.get("finish_reason").and_then(Value::as_str);
        candidates.push(json!({
            "content": {"role": "model", "parts": parts},
            "finishReason": gemini_finish(reason.unwrap_or("stop")),
            "index": choice.get("index").and_then(Value::as_u64).unwrap_or(pos as u64),
        }));
    }
    let usage = resp
        .get("usage")
        .map(Usage::from_openai)
        .unwrap_or_default();
    Ok(json!({
        "candidates": candidates,
        "usageMetadata": usage_metadata(&usage),
        "modelVersion": resp.get("model").cloned().unwrap_or(json!("")),
        "responseId": resp.get("id").cloned().unwrap_or(json!("")),
    }))
}
