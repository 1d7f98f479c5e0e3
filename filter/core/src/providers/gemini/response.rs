//! Gemini `GenerateContentResponse` -> OpenAI chat completion.

use serde_json::{json, Map, Value};

use super::error::api_error_from_gemini;
use super::{finish_reason, tool_call, upstream_error, usage_from_metadata};
use crate::error::ApiError;
use crate::translate::{unix_now, RequestCtx, Usage};

/// Translates a `generateContent` response into an OpenAI `chat.completion`.
///
/// Thought parts become `message.reasoning_content`; a candidate's
/// `groundingMetadata` (Google Search results) is returned unchanged as
/// `message.grounding_metadata`.
pub fn gemini_to_chat(resp: &Value, ctx: &RequestCtx) -> Result<(Value, Usage), ApiError> {
    if let Some(err) = resp.get("error") {
        return Err(api_error_from_gemini(err, 502));
    }
    if !resp.is_object() {
        return Err(upstream_error(
            "Gemini returned a response that is not a JSON object",
        ));
    }
    let usage = resp
        .get("usageMetadata")
        .map(usage_from_metadata)
        .unwrap_or_default();
    let candidates = resp
        .get("candidates")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut choices: Vec<Value> = candidates
        .iter()
        .enumerate()
        .map(|(pos, cand)| {
            let index = cand
                .get("index")
                .and_then(Value::as_u64)
                .unwrap_or(pos as u64);
            let (message, finish) = candidate_message(cand);
            json!({"index": index, "message": message, "logprobs": null, "finish_reason": finish})
        })
        .collect();
    if choices.is_empty() {
        // No candidates: the prompt itself was blocked (promptFeedback.blockReason).
        let blocked = resp.pointer("/promptFeedback/blockReason").is_some();
        let finish = if blocked { "content_filter" } else { "stop" };
        choices.push(json!({
            "index": 0,
            "message": {"role": "assistant", "content": ""},
            "logprobs": null,
            "finish_reason": finish,
        }));
    }
    let body = json!({
        "id": response_id(resp),
        "object": "chat.completion",
        "created": unix_now(),
        "model": model_name(resp, ctx),
        "choices": choices,
        "usage": usage.to_openai(),
    });
    Ok((body, usage))
}

/// The OpenAI id for a Gemini response: its responseId.
pub(super) fn response_id(resp: &Value) -> String {
    resp.get("responseId")
        .and_then(Value::as_str)
        .map_or_else(|| "chatcmpl-gemini".to_string(), str::to_string)
}

/// The model Gemini says answered (modelVersion), else the deployment's model.
pub(super) fn model_name(resp: &Value, ctx: &RequestCtx) -> String {
    resp.get("modelVersion")
        .and_then(Value::as_str)
        .map_or_else(|| ctx.model.clone(), str::to_string)
}

/// A non-empty groundingMetadata object (streams send `{}` on early chunks).
pub(super) fn grounding(cand: &Value) -> Option<&Value> {
    cand.get("groundingMetadata")
        .filter(|g| g.as_object().is_some_and(|o| !o.is_empty()))
}

/// True for a thought summary part.
pub(super) fn is_thought(part: &Value) -> bool {
    part.get("thought").and_then(Value::as_bool) == Some(true)
}

fn candidate_message(cand: &Value) -> (Value, &'static str) {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    let parts = cand
        .pointer("/content/parts")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for part in parts {
        if let Some(call) = tool_call(part, calls.len()) {
            calls.push(call);
        } else if let Some(t) = part.get("text").and_then(Value::as_str) {
            if is_thought(part) {
                reasoning.push_str(t);
            } else {
                text.push_str(t);
            }
        }
    }
    let mut msg = Map::new();
    msg.insert("role".into(), json!("assistant"));
    let content = if text.is_empty() && !calls.is_empty() {
        Value::Null
    } else {
        Value::String(text)
    };
    msg.insert("content".into(), content);
    if !reasoning.is_empty() {
        msg.insert("reasoning_content".into(), Value::String(reasoning));
    }
    let has_calls = !calls.is_empty();
    if has_calls {
        msg.insert("tool_calls".into(), Value::Array(calls));
    }
    if let Some(g) = grounding(cand) {
        msg.insert("grounding_metadata".into(), g.clone());
    }
    let reason = cand
        .get("finishReason")
        .and_then(Value::as_str)
        .unwrap_or("STOP");
    (Value::Object(msg), finish_reason(reason, has_calls))
}
