//! Responses request -> OpenAI chat completion request, for deployments that do
//! not speak Responses natively.

use serde_json::{json, Map, Value};

use super::check::check_request;
use super::input::{messages, needs_openai};
use crate::error::ApiError;
use crate::translate::RequestCtx;

/// `include` values that ask for nothing a bridged response would carry.
const HARMLESS_INCLUDES: &[&str] = &[
    "reasoning.encrypted_content",
    "message.input_image.image_url",
];

/// Translates a Responses request body into an OpenAI chat completion request.
pub fn responses_to_chat(req: &Value, ctx: &RequestCtx) -> Result<Value, ApiError> {
    check_request(req)?;
    refuse_stored_state(req, ctx.drop_params)?;
    let drop = ctx.drop_params;
    let mut chat = Map::new();
    chat.insert("model".into(), json!(ctx.model));
    chat.insert("messages".into(), Value::Array(messages(req, drop)?));
    tools(req, drop, &mut chat)?;
    let present = |key: &str| req.get(key).filter(|v| !v.is_null());
    for key in [
        "temperature",
        "top_p",
        "frequency_penalty",
        "presence_penalty",
        "user",
        "service_tier",
    ] {
        if let Some(v) = present(key) {
            chat.insert(key.into(), v.clone());
        }
    }
    if let Some(id) = present("safety_identifier").filter(|_| !chat.contains_key("user")) {
        chat.insert("user".into(), id.clone());
    }
    if let Some(n) = present("max_output_tokens") {
        chat.insert("max_tokens".into(), n.clone());
    }
    if let Some(effort) = req.pointer("/reasoning/effort").filter(|v| v.is_string()) {
        chat.insert("reasoning_effort".into(), effort.clone());
    }
    text_config(req, &mut chat)?;
    unsupported_extras(req, drop)?;
    if req.get("stream").and_then(Value::as_bool) == Some(true) {
        chat.insert("stream".into(), json!(true));
        // Responses streams always end with usage, so the chat stream must carry it.
        chat.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Ok(Value::Object(chat))
}

/// Refuses what needs responses, conversations or prompts stored at OpenAI.
fn refuse_stored_state(req: &Value, drop: bool) -> Result<(), ApiError> {
    let set = |key: &str| req.get(key).is_some_and(|v| !v.is_null());
    if set("previous_response_id") {
        return Err(needs_openai(
            "previous_response_id",
            "previous_response_id requires an openai/ deployment (stored state); \
             send the full input instead"
                .into(),
        ));
    }
    if set("conversation") {
        return Err(needs_openai(
            "conversation",
            "conversation requires an openai/ deployment (stored state); \
             send the full input instead"
                .into(),
        ));
    }
    if set("prompt") {
        return Err(needs_openai(
            "prompt",
            "prompt (a stored prompt template) requires an openai/ deployment; \
             send instructions and input instead"
                .into(),
        ));
    }
    if req.get("background").and_then(Value::as_bool) == Some(true) {
        return Err(needs_openai(
            "background",
            "background: true requires an openai/ deployment (stored state); \
             omit background to get the answer on this connection"
                .into(),
        ));
    }
    if req.get("store").and_then(Value::as_bool) == Some(true) && !drop {
        return Err(needs_openai(
            "store",
            "store: true requires an openai/ deployment (stored state); omit store or set it \
             to false (drop_params would answer without storing)"
                .into(),
        ));
    }
    Ok(())
}

/// `tools` and `tool_choice`; OpenAI's built-in tools are refused (or dropped).
fn tools(req: &Value, drop: bool, chat: &mut Map<String, Value>) -> Result<(), ApiError> {
    let empty = Vec::new();
    let list = req.get("tools").and_then(Value::as_array).unwrap_or(&empty);
    let mut out = Vec::new();
    for (i, tool) in list.iter().enumerate() {
        match tool.get("type").and_then(Value::as_str) {
            Some("function") => out.push(function_tool(tool)),
            Some(kind) if !drop => {
                return Err(needs_openai(
                    "tools",
                    format!(
                        "tools[{i}] is the built-in tool '{kind}', which requires an openai/ \
                         deployment; remove it (drop_params would drop it)"
                    ),
                ))
            }
            _ => {}
        }
    }
    let choice = match req.get("tool_choice") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(json!(s)),
        Some(choice) => tool_choice(choice, drop, &mut out)?,
    };
    if out.is_empty() {
        return Ok(());
    }
    chat.insert("tools".into(), Value::Array(out));
    if let Some(choice) = choice {
        chat.insert("tool_choice".into(), choice);
    }
    if let Some(p) = req.get("parallel_tool_calls").filter(|v| v.is_boolean()) {
        chat.insert("parallel_tool_calls".into(), p.clone());
    }
    Ok(())
}

/// Responses' flat function tool -> chat's nested one (null fields left out).
fn function_tool(tool: &Value) -> Value {
    let mut function = Map::new();
    for key in ["name", "description", "parameters", "strict"] {
        if let Some(v) = tool.get(key).filter(|v| !v.is_null()) {
            function.insert(key.into(), v.clone());
        }
    }
    json!({"type": "function", "function": function})
}

/// An object tool_choice. `allowed_tools` becomes the plain mode over the
/// allowed subset of `tools`, which is what it means for the model.
fn tool_choice(
    choice: &Value,
    drop: bool,
    tools: &mut Vec<Value>,
) -> Result<Option<Value>, ApiError> {
    match choice.get("type").and_then(Value::as_str) {
        Some("function") => {
            let name = choice.get("name").cloned().unwrap_or(Value::Null);
            Ok(Some(
                json!({"type": "function", "function": {"name": name}}),
            ))
        }
        Some("allowed_tools") => {
            let allowed: Vec<&str> = choice
                .get("tools")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.get("name").and_then(Value::as_str))
                        .collect()
                })
                .unwrap_or_default();
            tools.retain(|t| {
                t.pointer("/function/name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| allowed.contains(&n))
            });
            let mode = choice.get("mode").and_then(Value::as_str).unwrap_or("auto");
            Ok(Some(json!(mode)))
        }
        _ if drop => Ok(None),
        other => Err(needs_openai(
            "tool_choice",
            format!(
                "tool_choice of type '{}' names a built-in tool, which requires an openai/ \
                 deployment (drop_params would drop it)",
                other.unwrap_or_default()
            ),
        )),
    }
}

/// `text.format` -> `response_format`; `text.verbosity` -> `verbosity`.
fn text_config(req: &Value, chat: &mut Map<String, Value>) -> Result<(), ApiError> {
    if let Some(v) = req.pointer("/text/verbosity").filter(|v| v.is_string()) {
        chat.insert("verbosity".into(), v.clone());
    }
    let Some(format) = req.pointer("/text/format").filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let invalid = |what: &str| {
        ApiError::bad_request(format!("Invalid 'text.format': {what}."))
            .with_param("text.format")
            .with_code("invalid_value")
    };
    match format.get("type").and_then(Value::as_str) {
        Some("text") => {}
        Some("json_object") => {
            chat.insert("response_format".into(), json!({"type": "json_object"}));
        }
        Some("json_schema") => {
            let name = format.get("name").filter(|v| v.is_string());
            let schema = format.get("schema").filter(|v| v.is_object());
            let (Some(name), Some(schema)) = (name, schema) else {
                return Err(invalid(
                    "json_schema needs a string 'name' and an object 'schema'",
                ));
            };
            let mut js = Map::new();
            js.insert("name".into(), name.clone());
            js.insert("schema".into(), schema.clone());
            for key in ["description", "strict"] {
                if let Some(v) = format.get(key).filter(|v| !v.is_null()) {
                    js.insert(key.into(), v.clone());
                }
            }
            chat.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": js}),
            );
        }
        _ => {
            return Err(invalid(
                "type must be 'text', 'json_object' or 'json_schema'",
            ))
        }
    }
    Ok(())
}

/// Options other providers cannot honour: refused unless drop_params.
fn unsupported_extras(req: &Value, drop: bool) -> Result<(), ApiError> {
    if drop {
        return Ok(());
    }
    if req.get("top_logprobs").and_then(Value::as_u64).unwrap_or(0) > 0 {
        return Err(needs_openai(
            "top_logprobs",
            "top_logprobs requires an openai/ deployment (drop_params would drop it)".into(),
        ));
    }
    if req.get("truncation").and_then(Value::as_str) == Some("auto") {
        return Err(needs_openai(
            "truncation",
            "truncation: auto requires an openai/ deployment (server-side context management; \
             drop_params would drop it)"
                .into(),
        ));
    }
    let includes = req.get("include").and_then(Value::as_array);
    for value in includes.into_iter().flatten().filter_map(Value::as_str) {
        if !HARMLESS_INCLUDES.contains(&value) {
            return Err(needs_openai(
                "include",
                format!(
                    "include '{value}' requires an openai/ deployment \
                     (drop_params would drop it)"
                ),
            ));
        }
    }
    Ok(())
}
