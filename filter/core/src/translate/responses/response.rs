//! OpenAI chat completion -> Responses object.

use serde_json::{json, Value};

use super::items::{
    bad_upstream, echo_settings, function_item, id_base, item_id, message_item, reasoning_item,
    refusal_part, response_id, response_object, status_for, text_part, usage_object, Header,
    Outcome,
};
use crate::error::ApiError;
use crate::translate::{unix_now, Usage};

/// Translates a chat completion into the Responses object for the original request.
pub fn chat_to_responses(resp: &Value, req: &Value) -> Result<Value, ApiError> {
    if !resp.is_object() {
        return Err(bad_upstream("upstream answer is not a JSON object"));
    }
    if let Some(err) = resp.get("error").filter(|e| !e.is_null()) {
        let msg = err
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("unknown error");
        return Err(bad_upstream(format!("upstream error: {msg}")));
    }
    let choice = resp
        .pointer("/choices/0")
        .ok_or_else(|| bad_upstream("upstream answer has no choices"))?;
    let message = choice
        .get("message")
        .filter(|m| m.is_object())
        .ok_or_else(|| bad_upstream("upstream answer has no message"))?;
    let finish = choice.get("finish_reason").and_then(Value::as_str);
    let (status, incomplete) = status_for(finish);
    let base = id_base(resp.get("id").and_then(Value::as_str));
    let mut output = Vec::new();
    if let Some(text) = message
        .get("reasoning_content")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        output.push(reasoning_item(
            &item_id("rs", &base, output.len()),
            Some(text),
        ));
    }
    let content = content_parts(message);
    if !content.is_empty() {
        let item_status = if incomplete.is_some() {
            "incomplete"
        } else {
            "completed"
        };
        let id = item_id("msg", &base, output.len());
        output.push(message_item(&id, item_status, content));
    }
    let calls = message.get("tool_calls").and_then(Value::as_array);
    for call in calls.into_iter().flatten() {
        let field = |p: &str| call.pointer(p).and_then(Value::as_str).unwrap_or_default();
        // Some upstreams send arguments as an object rather than a JSON string.
        let arguments = match call.pointer("/function/arguments") {
            Some(Value::String(s)) => s.clone(),
            Some(v) if !v.is_null() => v.to_string(),
            _ => String::new(),
        };
        let id = item_id("fc", &base, output.len());
        let name = field("/function/name");
        output.push(function_item(
            &id,
            "completed",
            field("/id"),
            name,
            &arguments,
        ));
    }
    let usage = resp
        .get("usage")
        .filter(|u| u.is_object())
        .map(|u| usage_object(&Usage::from_openai(u)));
    let header = Header {
        id: response_id(&base),
        created_at: resp
            .get("created")
            .and_then(Value::as_u64)
            .unwrap_or_else(unix_now),
        model: resp
            .get("model")
            .or_else(|| req.get("model"))
            .cloned()
            .unwrap_or(Value::Null),
    };
    let outcome = Outcome {
        status,
        incomplete,
        error: None,
        output,
        usage,
    };
    Ok(response_object(&echo_settings(req), &header, outcome))
}

/// The message's text (string or text parts) and refusal as Responses content parts.
fn content_parts(message: &Value) -> Vec<Value> {
    let text: String = match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    };
    let mut parts = Vec::new();
    if !text.is_empty() {
        parts.push(text_part(&text, annotations(message)));
    }
    if let Some(refusal) = message
        .get("refusal")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
    {
        parts.push(refusal_part(refusal));
    }
    parts
}

/// Chat `url_citation` annotations flattened into Responses' shape.
fn annotations(message: &Value) -> Value {
    let list = message.get("annotations").and_then(Value::as_array);
    let out: Vec<Value> = list
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let c = a.get("url_citation")?;
            Some(json!({
                "type": "url_citation",
                "start_index": c.get("start_index").cloned().unwrap_or(json!(0)),
                "end_index": c.get("end_index").cloned().unwrap_or(json!(0)),
                "url": c.get("url").cloned().unwrap_or(json!("")),
                "title": c.get("title").cloned().unwrap_or(json!("")),
            }))
        })
        .collect();
    Value::Array(out)
}
