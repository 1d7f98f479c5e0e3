//! `instructions` + `input` items -> OpenAI chat `messages`.

use serde_json::{json, Map, Value};

use crate::error::ApiError;

/// A 400 for something only OpenAI's own Responses backend can do.
pub(super) fn needs_openai(param: &'static str, message: String) -> ApiError {
    ApiError::bad_request(message)
        .with_param(param)
        .with_code("unsupported_parameter")
}

fn invalid_item(i: usize, what: &str) -> ApiError {
    ApiError::bad_request(format!("Invalid 'input[{i}]': {what}."))
        .with_param("input")
        .with_code("invalid_value")
}

/// Item types that only exist with OpenAI's built-in tools.
const BUILT_IN_ITEMS: &[&str] = &[
    "file_search_call",
    "web_search_call",
    "computer_call",
    "computer_call_output",
    "image_generation_call",
    "code_interpreter_call",
    "local_shell_call",
    "local_shell_call_output",
    "shell_call",
    "shell_call_output",
    "apply_patch_call",
    "apply_patch_call_output",
    "mcp_list_tools",
    "mcp_approval_request",
    "mcp_approval_response",
    "mcp_call",
    "custom_tool_call",
    "custom_tool_call_output",
    "compaction",
];

/// Builds the chat messages: instructions first, then one message per input
/// item, with consecutive function calls folded into one assistant message.
pub(super) fn messages(req: &Value, drop_params: bool) -> Result<Vec<Value>, ApiError> {
    let mut out: Vec<Value> = Vec::new();
    if let Some(text) = req.get("instructions").and_then(Value::as_str) {
        if !text.is_empty() {
            out.push(json!({"role": "system", "content": text}));
        }
    }
    match req.get("input") {
        Some(Value::String(text)) => out.push(json!({"role": "user", "content": text})),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                push_item(&mut out, i, item, drop_params)?;
            }
        }
        _ => {}
    }
    Ok(out)
}

fn push_item(out: &mut Vec<Value>, i: usize, item: &Value, drop: bool) -> Result<(), ApiError> {
    let kind = item
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message");
    match kind {
        "message" => out.push(message(i, item)?),
        "function_call" => push_call(out, item),
        "function_call_output" => out.push(json!({
            "role": "tool",
            "tool_call_id": item.get("call_id").cloned().unwrap_or(Value::Null),
            "content": tool_output(i, item.get("output"))?,
        })),
        // Reasoning is not replayed: other providers reject unsigned thinking.
        "reasoning" => {}
        "item_reference" => {
            return Err(needs_openai(
                "input",
                format!(
                    "input[{i}] is an item_reference, which requires an openai/ deployment \
                     (stored state); send the full item instead"
                ),
            ))
        }
        t if BUILT_IN_ITEMS.contains(&t) => {
            if !drop {
                return Err(needs_openai(
                    "input",
                    format!(
                        "input[{i}] is a '{t}' item, which requires an openai/ deployment \
                         (built-in tools); remove it, or set drop_params to drop it"
                    ),
                ));
            }
        }
        t => return Err(invalid_item(i, &format!("unsupported item type '{t}'"))),
    }
    Ok(())
}

/// Adds a tool call to the assistant message just before it, or starts one.
fn push_call(out: &mut Vec<Value>, item: &Value) {
    let field = |k: &str| item.get(k).cloned().unwrap_or_else(|| json!(""));
    let call = json!({
        "id": field("call_id"),
        "type": "function",
        "function": {"name": field("name"), "arguments": field("arguments")},
    });
    if let Some(last) = out.last_mut().and_then(Value::as_object_mut) {
        if last.get("role").and_then(Value::as_str) == Some("assistant") {
            match last.get_mut("tool_calls").and_then(Value::as_array_mut) {
                Some(calls) => calls.push(call),
                None => {
                    last.insert("tool_calls".into(), json!([call]));
                }
            }
            return;
        }
    }
    out.push(json!({"role": "assistant", "content": null, "tool_calls": [call]}));
}

fn message(i: usize, item: &Value) -> Result<Value, ApiError> {
    let role = match item.get("role").and_then(Value::as_str) {
        Some("user") => "user",
        Some("assistant") => "assistant",
        // Providers other than OpenAI have one kind of system prompt.
        Some("system" | "developer") => "system",
        _ => return Err(invalid_item(i, "unknown or missing 'role'")),
    };
    let content = match item.get("content") {
        Some(Value::String(s)) => json!(s),
        Some(Value::Array(parts)) => {
            let parts = parts
                .iter()
                .map(|p| part(i, role, p))
                .collect::<Result<Vec<_>, _>>()?;
            compact(role, parts)
        }
        _ => return Err(invalid_item(i, "'content' must be a string or an array")),
    };
    Ok(json!({"role": role, "content": content}))
}

/// Text-only content becomes a plain string where chat expects one (assistant
/// turns) or where there is a single part; anything else stays a part list.
fn compact(role: &str, parts: Vec<Value>) -> Value {
    let all_text = parts.iter().all(|p| p.get("type") == Some(&json!("text")));
    let text = || -> String {
        parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect()
    };
    if all_text && (role == "assistant" || parts.len() == 1) {
        json!(text())
    } else {
        Value::Array(parts)
    }
}

/// One Responses content part as a chat content part.
fn part(i: usize, role: &str, p: &Value) -> Result<Value, ApiError> {
    let kind = p.get("type").and_then(Value::as_str).unwrap_or_default();
    let text_of = |key: &str| p.get(key).and_then(Value::as_str).unwrap_or_default();
    let converted = match kind {
        "input_text" | "output_text" | "text" => json!({"type": "text", "text": text_of("text")}),
        // Chat has no refusal input for other providers; the words still matter.
        "refusal" => json!({"type": "text", "text": text_of("refusal")}),
        "input_image" if role == "user" => image(i, p)?,
        "input_file" if role == "user" => file(i, p)?,
        "input_audio" if role == "user" => {
            json!({"type": "input_audio", "input_audio": p.get("input_audio").cloned().unwrap_or(Value::Null)})
        }
        "input_image" | "input_file" | "input_audio" => {
            return Err(invalid_item(
                i,
                &format!("'{kind}' parts are only allowed in user messages"),
            ))
        }
        other => {
            return Err(invalid_item(
                i,
                &format!("unsupported content part type '{other}'"),
            ))
        }
    };
    Ok(converted)
}

fn image(i: usize, p: &Value) -> Result<Value, ApiError> {
    if let Some(url) = p.get("image_url").and_then(Value::as_str) {
        let mut image_url = Map::new();
        image_url.insert("url".into(), json!(url));
        if let Some(detail) = p.get("detail").filter(|d| d.is_string()) {
            image_url.insert("detail".into(), detail.clone());
        }
        return Ok(json!({"type": "image_url", "image_url": image_url}));
    }
    if p.get("file_id").is_some_and(|f| !f.is_null()) {
        return Err(needs_openai(
            "input",
            format!(
                "input[{i}] refers to an uploaded file by file_id, which requires an openai/ \
                 deployment (stored files); send image_url (an https or data: URL) instead"
            ),
        ));
    }
    Err(invalid_item(i, "input_image needs 'image_url'"))
}

fn file(i: usize, p: &Value) -> Result<Value, ApiError> {
    if let Some(data) = p.get("file_data").and_then(Value::as_str) {
        let mut f = Map::new();
        f.insert("file_data".into(), json!(data));
        if let Some(name) = p.get("filename").filter(|n| n.is_string()) {
            f.insert("filename".into(), name.clone());
        }
        return Ok(json!({"type": "file", "file": f}));
    }
    Err(needs_openai(
        "input",
        format!(
            "input[{i}] refers to a file by file_id or file_url, which requires an openai/ \
             deployment; send the file inline as file_data instead"
        ),
    ))
}

/// A function_call_output's `output`: a string, or parts (text, images).
fn tool_output(i: usize, output: Option<&Value>) -> Result<Value, ApiError> {
    match output {
        Some(Value::String(s)) => Ok(json!(s)),
        Some(Value::Array(parts)) => {
            let parts = parts
                .iter()
                .map(|p| part(i, "user", p))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(compact("assistant", parts))
        }
        _ => Err(invalid_item(
            i,
            "function_call_output needs a string or array 'output'",
        )),
    }
}
