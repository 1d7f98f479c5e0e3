//! OpenAI chat completion -> Anthropic Messages response (for Anthropic-format clients).

use serde_json::{json, Value};

use super::{anthropic_usage, upstream_error};
use crate::error::ApiError;
use crate::translate::Usage;

/// OpenAI finish_reason -> Anthropic stop_reason.
pub(super) fn stop_reason(finish: Option<&str>) -> &'static str {
    match finish {
        Some("length") => "max_tokens",
        Some("tool_calls") | Some("function_call") => "tool_use",
        Some("content_filter") => "refusal",
        _ => "end_turn",
    }
}

/// Anthropic message ids start with `msg_`.
pub(super) fn message_id(id: &str) -> String {
    if id.starts_with("msg_") {
        id.to_string()
    } else {
        format!("msg_{id}")
    }
}

/// Parses tool-call arguments into the object Anthropic's `input` must be.
pub(super) fn tool_input(arguments: &str) -> Result<Value, ApiError> {
    if arguments.trim().is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(upstream_error(
            "upstream returned tool call arguments that are not a JSON object",
        )),
    }
}

/// Translates an OpenAI chat completion into an Anthropic message.
pub fn chat_to_messages_response(resp: &Value) -> Result<Value, ApiError> {
    let choice = resp
        .pointer("/choices/0")
        .ok_or_else(|| upstream_error("upstream response has no choices"))?;
    let msg = choice.get("message").unwrap_or(&Value::Null);
    let mut content = Vec::new();
    let signed = msg.get("thinking_blocks").and_then(Value::as_array);
    match (signed, msg.get("reasoning_content").and_then(Value::as_str)) {
        (Some(blocks), _) if !blocks.is_empty() => {
            content.extend(blocks.iter().filter(|b| b.get("type").is_some()).cloned());
        }
        // Unsigned reasoning: the signature is empty; only this gateway will see it again.
        (_, Some(r)) if !r.is_empty() => {
            content.push(json!({"type": "thinking", "thinking": r, "signature": ""}));
        }
        _ => {}
    }
    match msg.get("content") {
        Some(Value::String(s)) if !s.is_empty() => {
            content.push(json!({"type": "text", "text": s}));
        }
        Some(Value::Array(parts)) => {
            for p in parts {
                if let Some(t) = p
                    .get("text")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                {
                    content.push(json!({"type": "text", "text": t}));
                }
            }
        }
        _ => {}
    }
    if let Some(r) = msg.get("refusal").and_then(Value::as_str) {
        content.push(json!({"type": "text", "text": r}));
    }
    if let Some(calls) = msg.get("tool_calls").and_then(Value::as_array) {
        for call in calls {
            let f = |k: &str| call.pointer(k).and_then(Value::as_str).unwrap_or_default();
            content.push(json!({
                "type": "tool_use",
                "id": f("/id"),
                "name": f("/function/name"),
                "input": tool_input(f("/function/arguments"))?,
            }));
        }
    }
    let usage = Usage::from_openai(resp.get("usage").unwrap_or(&Value::Null));
    let finish = choice.get("finish_reason").and_then(Value::as_str);
    Ok(json!({
        "id": message_id(resp.get("id").and_then(Value::as_str).unwrap_or_default()),
        "type": "message",
        "role": "assistant",
        "model": resp.get("model").cloned().unwrap_or(Value::Null),
        "content": content,
        "stop_reason": stop_reason(finish),
        "stop_sequence": null,
        "usage": anthropic_usage(&usage),
    }))
}
