//! Validation of a Responses request body, applied before any deployment is used,
//! so malformed bodies get the same 400 whichever provider would have served them.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// Checks that a Responses body is an object with something to answer and that the
/// fields the gateway reads have the right JSON types.
pub fn check_request(req: &Value) -> Result<(), ApiError> {
    let Some(body) = req.as_object() else {
        return Err(ApiError::bad_request("Request body must be a JSON object."));
    };
    check_input(body)?;
    check_instructions(body)?;
    for key in ["stream", "store", "background", "parallel_tool_calls"] {
        expect(body, key, "a boolean", Value::is_boolean)?;
    }
    for key in [
        "temperature",
        "top_p",
        "frequency_penalty",
        "presence_penalty",
    ] {
        expect(body, key, "a number", Value::is_number)?;
    }
    for key in ["max_output_tokens", "max_tool_calls", "top_logprobs"] {
        expect(body, key, "a non-negative integer", Value::is_u64)?;
    }
    for key in [
        "previous_response_id",
        "user",
        "safety_identifier",
        "prompt_cache_key",
        "truncation",
        "service_tier",
    ] {
        expect(body, key, "a string", Value::is_string)?;
    }
    for key in ["metadata", "reasoning", "text", "stream_options", "prompt"] {
        expect(body, key, "an object", Value::is_object)?;
    }
    expect(body, "conversation", "a string or an object", |v| {
        v.is_string() || v.is_object()
    })?;
    expect(body, "include", "an array of strings", |v| {
        v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
    })?;
    check_text(body)?;
    check_tools(body)?;
    check_tool_choice(body)
}

/// A 400 for a field of the wrong type.
fn invalid_type(param: &'static str, expected: &str) -> ApiError {
    ApiError::bad_request(format!("Invalid type for '{param}': expected {expected}."))
        .with_param(param)
        .with_code("invalid_type")
}

/// Checks `key` when present and not null.
fn expect(
    body: &Map<String, Value>,
    key: &'static str,
    expected: &str,
    ok: impl Fn(&Value) -> bool,
) -> Result<(), ApiError> {
    match body.get(key) {
        Some(v) if !v.is_null() && !ok(v) => Err(invalid_type(key, expected)),
        _ => Ok(()),
    }
}

fn check_input(body: &Map<String, Value>) -> Result<(), ApiError> {
    let has_input = match body.get("input") {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                check_item(i, item)?;
            }
            !items.is_empty()
        }
        Some(_) => return Err(invalid_type("input", "a string or an array of input items")),
    };
    let has_instructions = body
        .get("instructions")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty());
    // A stored prompt template carries its own messages (OpenAI deployments only).
    let has_prompt = body.get("prompt").is_some_and(|p| !p.is_null());
    if has_input || has_instructions || has_prompt {
        return Ok(());
    }
    Err(
        ApiError::bad_request("Missing required parameter: 'input' (or 'instructions').")
            .with_param("input")
            .with_code("missing_required_parameter"),
    )
}

fn check_instructions(body: &Map<String, Value>) -> Result<(), ApiError> {
    expect(body, "instructions", "a string", Value::is_string)
}

fn item_error(i: usize, what: &str) -> ApiError {
    ApiError::bad_request(format!("Invalid 'input[{i}]': {what}."))
        .with_param("input")
        .with_code("invalid_value")
}

fn check_item(i: usize, item: &Value) -> Result<(), ApiError> {
    let Some(obj) = item.as_object() else {
        return Err(item_error(i, "expected an object"));
    };
    let kind = match obj.get("type") {
        None | Some(Value::Null) => "message",
        Some(Value::String(t)) => t.as_str(),
        Some(_) => return Err(item_error(i, "'type' must be a string")),
    };
    let string = |key: &str| obj.get(key).is_some_and(Value::is_string);
    match kind {
        "message" => {
            let role = obj.get("role").and_then(Value::as_str);
            if !matches!(role, Some("user" | "assistant" | "system" | "developer")) {
                return Err(item_error(
                    i,
                    "'role' must be one of 'user', 'assistant', 'system', 'developer'",
                ));
            }
            match obj.get("content") {
                Some(Value::String(_)) => Ok(()),
                Some(Value::Array(parts))
                    if parts
                        .iter()
                        .all(|p| p.get("type").is_some_and(Value::is_string)) =>
                {
                    Ok(())
                }
                _ => Err(item_error(
                    i,
                    "'content' must be a string or an array of typed content parts",
                )),
            }
        }
        "function_call" if !(string("call_id") && string("name") && string("arguments")) => {
            Err(item_error(
                i,
                "function_call needs string 'call_id', 'name' and 'arguments'",
            ))
        }
        "function_call_output" => {
            let output_ok = obj
                .get("output")
                .is_some_and(|o| o.is_string() || o.is_array());
            if string("call_id") && output_ok {
                Ok(())
            } else {
                Err(item_error(
                    i,
                    "function_call_output needs a string 'call_id' and a string or array 'output'",
                ))
            }
        }
        _ => Ok(()),
    }
}

fn check_text(body: &Map<String, Value>) -> Result<(), ApiError> {
    match body.get("text").and_then(|t| t.get("format")) {
        Some(f) if !f.is_null() && !f.get("type").is_some_and(Value::is_string) => Err(
            invalid_type("text.format", "an object with a string 'type'"),
        ),
        _ => Ok(()),
    }
}

fn check_tools(body: &Map<String, Value>) -> Result<(), ApiError> {
    let tools = match body.get("tools") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(tools)) => tools,
        Some(_) => return Err(invalid_type("tools", "an array")),
    };
    for (i, tool) in tools.iter().enumerate() {
        let kind = tool.get("type").and_then(Value::as_str);
        let bad = match kind {
            None => Some("expected an object with a string 'type'"),
            Some("function") if !tool.get("name").is_some_and(Value::is_string) => {
                Some("function tools need a string 'name'")
            }
            _ => None,
        };
        if let Some(what) = bad {
            return Err(
                ApiError::bad_request(format!("Invalid 'tools[{i}]': {what}."))
                    .with_param("tools")
                    .with_code("invalid_value"),
            );
        }
    }
    Ok(())
}

fn check_tool_choice(body: &Map<String, Value>) -> Result<(), ApiError> {
    match body.get("tool_choice") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if matches!(s.as_str(), "none" | "auto" | "required") => Ok(()),
        Some(Value::Object(o)) if o.get("type").is_some_and(Value::is_string) => Ok(()),
        Some(_) => Err(invalid_type(
            "tool_choice",
            "'none', 'auto', 'required' or an object with a string 'type'",
        )),
    }
}
