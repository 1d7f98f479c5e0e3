//! Anthropic Messages response -> OpenAI chat completion.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::wire::AnthropicUsage;
use super::{finish_reason, read_usage, upstream_error, usage_json, ANSWER_TOOL_PREFIX};
use crate::error::ApiError;
use crate::translate::{unix_now, RequestCtx, Usage};

/// Translates a successful Messages response; returns the completion and its usage.
pub fn messages_to_chat(resp: &Value, ctx: &RequestCtx) -> Result<(Value, Usage), ApiError> {
    let blocks = resp
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| upstream_error("anthropic response has no `content` array"))?;
    let mut text: Option<String> = None;
    let mut reasoning: Option<String> = None;
    let mut thinking_blocks = Vec::new();
    let mut tool_calls = Vec::new();
    let mut answer: Option<String> = None;
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => {
                let t = block
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                text.get_or_insert_with(String::new).push_str(t);
            }
            Some("thinking") => {
                let t = block
                    .get("thinking")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                reasoning.get_or_insert_with(String::new).push_str(t);
                thinking_blocks.push(json!({
                    "type": "thinking",
                    "thinking": t,
                    "signature": block.get("signature").cloned().unwrap_or(Value::Null),
                }));
            }
            Some("redacted_thinking") => thinking_blocks.push(json!({
                "type": "redacted_thinking",
                "data": block.get("data").cloned().unwrap_or(Value::Null),
            })),
            Some("tool_use") => {
                let name = block
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let input = block.get("input").cloned().unwrap_or_else(|| json!({}));
                let arguments = input.to_string();
                if name.starts_with(ANSWER_TOOL_PREFIX) {
                    answer = Some(arguments);
                    continue;
                }
                tool_calls.push(json!({
                    "id": block.get("id").cloned().unwrap_or(Value::Null),
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }));
            }
            // Server tool blocks, citations and future types have no OpenAI chat form.
            _ => {}
        }
    }
    let stop_reason = resp.get("stop_reason").and_then(Value::as_str);
    let finish = if answer.is_some() && tool_calls.is_empty() && stop_reason == Some("tool_use") {
        "stop"
    } else {
        finish_reason(stop_reason)
    };
    // The structured answer replaces any preamble the model wrote around the tool call.
    let content = match answer.or(text) {
        Some(t) => Value::String(t),
        None if tool_calls.is_empty() => Value::String(String::new()),
        None => Value::Null,
    };
    let mut message = Map::new();
    message.insert("role".into(), json!("assistant"));
    message.insert("content".into(), content);
    if !tool_calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(tool_calls));
    }
    if let Some(r) = reasoning {
        message.insert("reasoning_content".into(), Value::String(r));
    }
    if !thinking_blocks.is_empty() {
        message.insert("thinking_blocks".into(), Value::Array(thinking_blocks));
    }
    let mut usage = Usage::default();
    if let Some(u) = resp.get("usage") {
        read_usage(
            &AnthropicUsage::deserialize(u).unwrap_or_default(),
            &mut usage,
        );
    }
    let model = resp
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or(&ctx.model);
    let completion = json!({
        "id": resp.get("id").and_then(Value::as_str).unwrap_or_default(),
        "object": "chat.completion",
        "created": unix_now(),
        "model": model,
        "choices": [{
            "index": 0,
            "message": Value::Object(message),
            "logprobs": null,
            "finish_reason": finish,
        }],
        "usage": usage_json(&usage),
    });
    Ok((completion, usage))
}
