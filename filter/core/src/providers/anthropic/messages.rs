//! OpenAI `messages` -> Anthropic `system` + alternating `messages` of content blocks.

use serde_json::{json, Map, Value};

use super::set;
use crate::error::ApiError;

/// One system text, in order; `cache_control` kept for prompt caching.
pub(super) struct SystemText {
    pub text: String,
    pub cache_control: Option<Value>,
}

/// The translated conversation.
pub(super) struct Converted {
    pub system: Vec<SystemText>,
    pub messages: Vec<Value>,
}

fn bad(message: String) -> ApiError {
    ApiError::bad_request(message).with_param("messages")
}

/// Converts the OpenAI message list.
pub(super) fn convert(messages: Option<&Value>) -> Result<Converted, ApiError> {
    let list = match messages {
        Some(Value::Array(list)) => list,
        None | Some(Value::Null) => return Err(bad("`messages` is required".into())),
        Some(_) => return Err(bad("`messages` must be an array".into())),
    };
    let mut out = Converted {
        system: Vec::new(),
        messages: Vec::new(),
    };
    for (i, msg) in list.iter().enumerate() {
        let role = msg.get("role").and_then(Value::as_str).unwrap_or_default();
        let mut blocks = match role {
            "system" | "developer" => {
                system_texts(msg, i, &mut out.system)?;
                continue;
            }
            "user" => user_blocks(msg.get("content"), i)?,
            "assistant" => assistant_blocks(msg, i)?,
            "tool" => vec![tool_result(msg, i)?],
            "" => return Err(bad(format!("messages[{i}].role is required"))),
            other => {
                return Err(bad(format!(
                    "messages[{i}].role `{other}` is not supported \
                     (use system, developer, user, assistant or tool)"
                )))
            }
        };
        // LiteLLM lets a whole message carry cache_control; it marks the message's last block.
        if let (Some(cc), Some(last)) = (msg.get("cache_control"), blocks.last_mut()) {
            set(last, "cache_control", cc.clone());
        }
        let turn = if role == "assistant" {
            "assistant"
        } else {
            "user"
        };
        push_turn(&mut out.messages, turn, blocks);
    }
    for m in &mut out.messages {
        if m["role"] == "user" {
            tool_results_first(m);
        }
    }
    trim_final_assistant(&mut out.messages);
    Ok(out)
}

/// Appends to the previous message when it has the same role (Anthropic needs alternation).
fn push_turn(messages: &mut Vec<Value>, role: &str, blocks: Vec<Value>) {
    if blocks.is_empty() {
        return;
    }
    if let Some(last) = messages.last_mut() {
        if last["role"] == role {
            if let Some(content) = last.get_mut("content").and_then(Value::as_array_mut) {
                content.extend(blocks);
                return;
            }
        }
    }
    messages.push(json!({"role": role, "content": blocks}));
}

/// Anthropic wants tool_result blocks ahead of other content in a user turn.
fn tool_results_first(message: &mut Value) {
    if let Some(content) = message.get_mut("content").and_then(Value::as_array_mut) {
        let blocks = std::mem::take(content);
        let (mut results, rest): (Vec<Value>, Vec<Value>) =
            blocks.into_iter().partition(|b| b["type"] == "tool_result");
        results.extend(rest);
        *content = results;
    }
}

/// A final assistant turn is a prefill, which Anthropic refuses with trailing whitespace.
fn trim_final_assistant(messages: &mut Vec<Value>) {
    let Some(last) = messages.last_mut() else {
        return;
    };
    if last["role"] != "assistant" {
        return;
    }
    let Some(content) = last.get_mut("content").and_then(Value::as_array_mut) else {
        return;
    };
    let many = content.len() > 1;
    let Some(block) = content.last_mut() else {
        return;
    };
    let Some(trimmed) = block.get("text").and_then(Value::as_str).map(str::trim_end) else {
        return;
    };
    if trimmed.is_empty() && many {
        content.pop();
    } else if trimmed.is_empty() {
        messages.pop();
    } else {
        set(block, "text", Value::String(trimmed.to_string()));
    }
}

fn system_texts(msg: &Value, i: usize, out: &mut Vec<SystemText>) -> Result<(), ApiError> {
    let message_cc = msg.get("cache_control").cloned();
    match msg.get("content") {
        Some(Value::String(s)) if !s.is_empty() => out.push(SystemText {
            text: s.clone(),
            cache_control: message_cc,
        }),
        Some(Value::Array(parts)) => {
            let start = out.len();
            for (j, part) in parts.iter().enumerate() {
                if part.get("type").and_then(Value::as_str) != Some("text") {
                    return Err(bad(format!(
                        "messages[{i}].content[{j}]: system messages may only hold text parts"
                    )));
                }
                let text = part.get("text").and_then(Value::as_str).unwrap_or_default();
                if !text.is_empty() {
                    out.push(SystemText {
                        text: text.to_string(),
                        cache_control: part.get("cache_control").cloned(),
                    });
                }
            }
            if let Some(cc) = message_cc.filter(|_| out.len() > start) {
                if let Some(last) = out.last_mut() {
                    last.cache_control = Some(cc);
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn text_block(text: &str, part: Option<&Value>) -> Value {
    let mut block = json!({"type": "text", "text": text});
    if let Some(cc) = part.and_then(|p| p.get("cache_control")) {
        set(&mut block, "cache_control", cc.clone());
    }
    block
}

/// User content: a string or OpenAI content parts.
fn user_blocks(content: Option<&Value>, i: usize) -> Result<Vec<Value>, ApiError> {
    let parts = match content {
        Some(Value::String(s)) if s.is_empty() => return Ok(Vec::new()),
        Some(Value::String(s)) => return Ok(vec![text_block(s, None)]),
        Some(Value::Array(parts)) => parts,
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(_) => {
            return Err(bad(format!(
                "messages[{i}].content must be a string or an array of content parts"
            )))
        }
    };
    let mut blocks = Vec::new();
    for (j, part) in parts.iter().enumerate() {
        if let Some(block) = content_part(part, i, j)? {
            blocks.push(block);
        }
    }
    Ok(blocks)
}

/// One OpenAI content part as an Anthropic block (None for empty text).
fn content_part(part: &Value, i: usize, j: usize) -> Result<Option<Value>, ApiError> {
    let kind = part.get("type").and_then(Value::as_str).unwrap_or_default();
    let block = match kind {
        "text" => {
            let text = part.get("text").and_then(Value::as_str).unwrap_or_default();
            if text.is_empty() {
                return Ok(None);
            }
            text_block(text, Some(part))
        }
        "image_url" => {
            let url = match part.get("image_url") {
                Some(Value::String(u)) => u.as_str(),
                Some(obj) => obj.get("url").and_then(Value::as_str).unwrap_or_default(),
                None => "",
            };
            let source = image_source(url)
                .map_err(|m| bad(format!("messages[{i}].content[{j}].image_url: {m}")))?;
            json!({"type": "image", "source": source})
        }
        "file" => file_block(part.get("file"))
            .map_err(|m| bad(format!("messages[{i}].content[{j}].file: {m}")))?,
        other => {
            return Err(bad(format!(
                "messages[{i}].content[{j}]: content part type `{other}` is not supported by \
                 anthropic (use text, image_url or file)"
            )))
        }
    };
    let mut block = block;
    if block.get("cache_control").is_none() {
        if let Some(cc) = part.get("cache_control") {
            set(&mut block, "cache_control", cc.clone());
        }
    }
    Ok(Some(block))
}

/// `data:` URLs become base64 sources, http(s) URLs URL sources.
fn image_source(url: &str) -> Result<Value, String> {
    if let Some((media_type, data)) = parse_data_url(url)? {
        return Ok(json!({"type": "base64", "media_type": media_type, "data": data}));
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(json!({"type": "url", "url": url}));
    }
    Err("expected a data: URL or an http(s) URL".into())
}

/// Splits `data:<media>;base64,<data>`; Ok(None) when the URL is not a data URL.
fn parse_data_url(url: &str) -> Result<Option<(&str, &str)>, String> {
    let Some(rest) = url.strip_prefix("data:") else {
        return Ok(None);
    };
    let (meta, data) = rest.split_once(',').ok_or("malformed data: URL")?;
    let media_type = meta
        .strip_suffix(";base64")
        .ok_or("data: URLs must be base64-encoded")?;
    if media_type.is_empty() {
        return Err("data: URL without a media type".into());
    }
    Ok(Some((media_type, data)))
}

/// OpenAI `file` parts with inline data: PDFs become documents, images image blocks.
fn file_block(file: Option<&Value>) -> Result<Value, String> {
    let data_url = file
        .and_then(|f| f.get("file_data"))
        .and_then(Value::as_str)
        .ok_or("only inline `file_data` (a data: URL) is supported, not file ids")?;
    let (media_type, data) = parse_data_url(data_url)?.ok_or("`file_data` must be a data: URL")?;
    let source = json!({"type": "base64", "media_type": media_type, "data": data});
    if media_type == "application/pdf" {
        Ok(json!({"type": "document", "source": source}))
    } else if media_type.starts_with("image/") {
        Ok(json!({"type": "image", "source": source}))
    } else {
        Err(format!("media type {media_type} is not supported"))
    }
}

/// Assistant turn: signed thinking first, then text, then tool_use blocks.
fn assistant_blocks(msg: &Value, i: usize) -> Result<Vec<Value>, ApiError> {
    let mut blocks = Vec::new();
    // Unsigned reasoning_content cannot be replayed (Anthropic verifies signatures), so only
    // thinking_blocks are sent back.
    if let Some(thinking) = msg.get("thinking_blocks").and_then(Value::as_array) {
        for b in thinking {
            match b.get("type").and_then(Value::as_str) {
                Some("thinking") => blocks.push(json!({
                    "type": "thinking",
                    "thinking": b.get("thinking").cloned().unwrap_or(json!("")),
                    "signature": b.get("signature").cloned().unwrap_or(json!("")),
                })),
                Some("redacted_thinking") => blocks.push(json!({
                    "type": "redacted_thinking",
                    "data": b.get("data").cloned().unwrap_or(json!("")),
                })),
                _ => {}
            }
        }
    }
    match msg.get("content") {
        Some(Value::String(s)) if !s.is_empty() => blocks.push(text_block(s, None)),
        Some(Value::Array(parts)) => {
            for part in parts {
                let text = part
                    .get("text")
                    .or_else(|| part.get("refusal"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !text.is_empty() {
                    blocks.push(text_block(text, Some(part)));
                }
            }
        }
        _ => {}
    }
    if let Some(calls) = msg.get("tool_calls").and_then(Value::as_array) {
        for (j, call) in calls.iter().enumerate() {
            blocks.push(tool_use(call, i, j)?);
        }
    }
    Ok(blocks)
}

/// An assistant tool call as a tool_use block with the same id.
fn tool_use(call: &Value, i: usize, j: usize) -> Result<Value, ApiError> {
    let at = format!("messages[{i}].tool_calls[{j}]");
    let id = call
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("{at}.id is required")))?;
    let function = call.get("function");
    let name = function
        .and_then(|f| f.get("name"))
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("{at}.function.name is required")))?;
    let input = match function.and_then(|f| f.get("arguments")) {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::String(s)) if s.trim().is_empty() => Value::Object(Map::new()),
        Some(Value::String(s)) => serde_json::from_str::<Value>(s)
            .map_err(|e| bad(format!("{at}.function.arguments is not valid JSON: {e}")))?,
        Some(other) => other.clone(),
    };
    if !input.is_object() {
        return Err(bad(format!(
            "{at}.function.arguments must encode a JSON object"
        )));
    }
    Ok(json!({"type": "tool_use", "id": id, "name": name, "input": input}))
}

/// A tool message as a user-side tool_result block.
fn tool_result(msg: &Value, i: usize) -> Result<Value, ApiError> {
    let id = msg
        .get("tool_call_id")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("messages[{i}].tool_call_id is required")))?;
    let mut block = json!({"type": "tool_result", "tool_use_id": id});
    match msg.get("content") {
        Some(Value::String(s)) if !s.is_empty() => set(&mut block, "content", json!(s)),
        Some(Value::Array(_)) => {
            let parts = user_blocks(msg.get("content"), i)?;
            if !parts.is_empty() {
                set(&mut block, "content", Value::Array(parts));
            }
        }
        _ => {}
    }
    Ok(block)
}
