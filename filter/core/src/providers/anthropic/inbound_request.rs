//! Anthropic Messages request (from an Anthropic-format client) -> OpenAI chat request.

use serde_json::{json, Map, Value};

use super::{set, text_of, unsupported_param};
use crate::error::ApiError;
use crate::translate::RequestCtx;

fn bad(message: String) -> ApiError {
    ApiError::bad_request(message).with_param("messages")
}

/// Translates a Messages request into an OpenAI chat request for `ctx.model`.
pub fn messages_to_chat_request(req: &Value, ctx: &RequestCtx) -> Result<Value, ApiError> {
    let obj = req
        .as_object()
        .ok_or_else(|| ApiError::bad_request("the request body must be a JSON object"))?;
    let mut messages = Vec::new();
    match obj.get("system") {
        Some(Value::String(s)) if !s.is_empty() => {
            messages.push(json!({"role": "system", "content": s}));
        }
        Some(Value::Array(blocks)) if !blocks.is_empty() => {
            let parts: Vec<Value> = blocks
                .iter()
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .map(|t| json!({"type": "text", "text": t}))
                .collect();
            messages.push(json!({"role": "system", "content": parts}));
        }
        _ => {}
    }
    let list = obj
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("`messages` is required and must be an array".into()))?;
    for (i, msg) in list.iter().enumerate() {
        match msg.get("role").and_then(Value::as_str) {
            Some("user") => user_messages(msg.get("content"), i, &mut messages)?,
            Some("assistant") => messages.push(assistant_message(msg.get("content"), i)?),
            _ => return Err(bad(format!("messages[{i}].role must be user or assistant"))),
        }
    }

    let mut out = Map::new();
    out.insert("model".into(), json!(ctx.model));
    out.insert("messages".into(), Value::Array(messages));
    if let Some(n) = obj.get("max_tokens").and_then(Value::as_u64) {
        // max_completion_tokens is the current name; reasoning models refuse max_tokens.
        out.insert("max_completion_tokens".into(), json!(n));
    }
    for key in ["temperature", "top_p"] {
        if let Some(v) = obj.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    if obj.get("top_k").is_some_and(|v| !v.is_null()) && !ctx.drop_params {
        return Err(unsupported_param(
            "this deployment (OpenAI format)",
            "top_k",
        ));
    }
    if let Some(stops) = obj.get("stop_sequences").and_then(Value::as_array) {
        if !stops.is_empty() {
            out.insert("stop".into(), Value::Array(stops.clone()));
        }
    }
    if let Some(user) = req.pointer("/metadata/user_id").and_then(Value::as_str) {
        out.insert("user".into(), json!(user));
    }
    if let Some(tools) = obj.get("tools").and_then(Value::as_array) {
        let converted = convert_tools(tools, ctx)?;
        if !converted.is_empty() {
            out.insert("tools".into(), Value::Array(converted));
            tool_choice(obj.get("tool_choice"), &mut out);
        }
    }
    if let Some(effort) = reasoning_effort(obj.get("thinking")) {
        out.insert("reasoning_effort".into(), json!(effort));
    }
    if obj.get("stream").and_then(Value::as_bool) == Some(true) {
        out.insert("stream".into(), json!(true));
        // Anthropic streams always report usage; ask the OpenAI side for it.
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Ok(Value::Object(out))
}

/// Thinking budget -> reasoning_effort, the inverse of the outbound budgets.
fn reasoning_effort(thinking: Option<&Value>) -> Option<&'static str> {
    let t = thinking?;
    match t.get("type").and_then(Value::as_str) {
        Some("enabled") => {}
        Some("adaptive") => return Some("medium"),
        _ => return None,
    }
    let budget = t.get("budget_tokens").and_then(Value::as_u64).unwrap_or(0);
    Some(if budget < 4096 {
        "low"
    } else if budget < 16384 {
        "medium"
    } else {
        "high"
    })
}

fn convert_tools(tools: &[Value], ctx: &RequestCtx) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::with_capacity(tools.len());
    for (i, t) in tools.iter().enumerate() {
        // Client tools have no type (or "custom"); typed ones are Anthropic server tools.
        match t.get("type").and_then(Value::as_str) {
            None | Some("custom") => {}
            Some(_) if ctx.drop_params => continue,
            Some(kind) => {
                return Err(ApiError::bad_request(format!(
                    "tools[{i}]: server tool `{kind}` cannot be served by an OpenAI-format \
                     deployment; set drop_params: true to drop it"
                ))
                .with_param("tools"))
            }
        }
        let name = t.get("name").and_then(Value::as_str).ok_or_else(|| {
            ApiError::bad_request(format!("tools[{i}].name is required")).with_param("tools")
        })?;
        let mut function = json!({"name": name});
        if let Some(d) = t.get("description").filter(|d| d.is_string()) {
            set(&mut function, "description", d.clone());
        }
        let parameters = t
            .get("input_schema")
            .cloned()
            .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
        set(&mut function, "parameters", parameters);
        out.push(json!({"type": "function", "function": function}));
    }
    Ok(out)
}

fn tool_choice(choice: Option<&Value>, out: &mut Map<String, Value>) {
    let Some(c) = choice else { return };
    let mapped = match c.get("type").and_then(Value::as_str) {
        Some("auto") => json!("auto"),
        Some("any") => json!("required"),
        Some("none") => json!("none"),
        Some("tool") => {
            let name = c.get("name").cloned().unwrap_or(Value::Null);
            json!({"type": "function", "function": {"name": name}})
        }
        _ => return,
    };
    out.insert("tool_choice".into(), mapped);
    if c.get("disable_parallel_tool_use") == Some(&Value::Bool(true)) {
        out.insert("parallel_tool_calls".into(), json!(false));
    }
}

/// A user turn: tool_result blocks become `tool` messages ahead of the remaining content.
fn user_messages(content: Option<&Value>, i: usize, out: &mut Vec<Value>) -> Result<(), ApiError> {
    let blocks = match content {
        Some(Value::String(s)) => {
            out.push(json!({"role": "user", "content": s}));
            return Ok(());
        }
        Some(Value::Array(blocks)) => blocks,
        _ => return Err(bad(format!("messages[{i}].content is required"))),
    };
    let mut parts = Vec::new();
    for (j, b) in blocks.iter().enumerate() {
        match b.get("type").and_then(Value::as_str) {
            Some("tool_result") => {
                let id = b.get("tool_use_id").cloned().unwrap_or(Value::Null);
                // OpenAI tool messages carry text only.
                let text = text_of(b.get("content"));
                out.push(json!({"role": "tool", "tool_call_id": id, "content": text}));
            }
            Some("text") => {
                let text = b.get("text").and_then(Value::as_str).unwrap_or_default();
                parts.push(json!({"type": "text", "text": text}));
            }
            Some("image") => parts.push(image_part(b.get("source"), "image_url", i, j)?),
            Some("document") => parts.push(image_part(b.get("source"), "file", i, j)?),
            other => {
                return Err(bad(format!(
                    "messages[{i}].content[{j}]: block type `{}` is not supported for \
                     an OpenAI-format deployment",
                    other.unwrap_or("?")
                )))
            }
        }
    }
    match parts.as_slice() {
        [] => {}
        [only] if only["type"] == "text" => {
            out.push(json!({"role": "user", "content": only["text"]}));
        }
        _ => out.push(json!({"role": "user", "content": parts})),
    }
    Ok(())
}

/// An image or document source as an OpenAI `image_url` or `file` part.
fn image_part(source: Option<&Value>, kind: &str, i: usize, j: usize) -> Result<Value, ApiError> {
    let field = |k: &str| source.and_then(|s| s.get(k)).and_then(Value::as_str);
    let url = match field("type") {
        Some("base64") => format!(
            "data:{};base64,{}",
            field("media_type").unwrap_or_default(),
            field("data").unwrap_or_default()
        ),
        Some("url") if kind == "image_url" => field("url").unwrap_or_default().to_string(),
        _ => {
            return Err(bad(format!(
                "messages[{i}].content[{j}]: only base64 sources (and image URLs) are supported"
            )))
        }
    };
    Ok(if kind == "file" {
        json!({"type": "file", "file": {"file_data": url}})
    } else {
        json!({"type": "image_url", "image_url": {"url": url}})
    })
}

/// An assistant turn: text, tool_use -> tool_calls, thinking -> reasoning_content.
fn assistant_message(content: Option<&Value>, i: usize) -> Result<Value, ApiError> {
    let blocks = match content {
        Some(Value::String(s)) => return Ok(json!({"role": "assistant", "content": s})),
        Some(Value::Array(blocks)) => blocks,
        _ => return Err(bad(format!("messages[{i}].content is required"))),
    };
    let mut text: Option<String> = None;
    let mut reasoning: Option<String> = None;
    let mut thinking_blocks = Vec::new();
    let mut calls = Vec::new();
    for b in blocks {
        let field = |k: &str| b.get(k).and_then(Value::as_str).unwrap_or_default();
        match field("type") {
            "text" => text.get_or_insert_with(String::new).push_str(field("text")),
            "thinking" => {
                reasoning
                    .get_or_insert_with(String::new)
                    .push_str(field("thinking"));
                thinking_blocks.push(b.clone());
            }
            "redacted_thinking" => thinking_blocks.push(b.clone()),
            "tool_use" => {
                let input = b.get("input").cloned().unwrap_or_else(|| json!({}));
                calls.push(json!({
                    "id": field("id"),
                    "type": "function",
                    "function": {"name": field("name"), "arguments": input.to_string()},
                }));
            }
            _ => {}
        }
    }
    let mut msg = json!({"role": "assistant", "content": text});
    if !calls.is_empty() {
        set(&mut msg, "tool_calls", Value::Array(calls));
    }
    if let Some(r) = reasoning {
        set(&mut msg, "reasoning_content", Value::String(r));
    }
    if !thinking_blocks.is_empty() {
        set(&mut msg, "thinking_blocks", Value::Array(thinking_blocks));
    }
    Ok(msg)
}
