//! `POST .../responses`: OpenAI's Responses API with the same deterministic
//! answers as chat completions (echo text, or a call of the first function tool).

use hyper::StatusCode;
use serde_json::{json, Map, Value};

use super::chat::{content_text, mentions_tool, text_outcome, tool_outcome, Outcome};
use super::{created, error, invalid, missing, parse_object, require_model, responses_stream};
use crate::faces::ProviderRequest;
use crate::reply::Reply;
use crate::util::rand_hex;

/// Everything needed to render the answer as one object or as an event stream.
pub(super) struct Plan {
    pub id: String,
    pub item_id: String,
    pub created_at: u64,
    pub model: String,
    pub outcome: Outcome,
    /// The answer was cut by `max_output_tokens`.
    pub incomplete: bool,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Request settings the response object echoes.
    pub echo: Map<String, Value>,
}

/// Answers one Responses request.
pub fn answer(req: &ProviderRequest<'_>) -> Reply {
    let body = match parse_object(req.body) {
        Ok(body) => body,
        Err(reply) => return *reply,
    };
    let model = match require_model(&body) {
        Ok(model) => model,
        Err(reply) => return *reply,
    };
    let items: Vec<Value> = match body.get("input") {
        Some(Value::String(s)) => vec![json!({"role": "user", "content": s})],
        Some(Value::Array(items)) => items.clone(),
        None | Some(Value::Null) if body.get("instructions").is_some_and(Value::is_string) => {
            Vec::new()
        }
        None | Some(Value::Null) => return missing("input"),
        Some(_) => {
            return invalid("Invalid type for 'input': expected a string or an array.".into())
        }
    };
    // The mock keeps no state, so every stored id is unknown, as on a fresh account.
    if let Some(prev) = body.get("previous_response_id").and_then(Value::as_str) {
        return error(
            StatusCode::NOT_FOUND,
            format!("Previous response with id '{prev}' not found."),
            Some("previous_response_id"),
            Some("previous_response_not_found"),
        );
    }
    let plan = plan(req.name, model, &items, &body);
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        responses_stream::reply(&plan)
    } else {
        Reply::json(StatusCode::OK, &response_object(&plan, true))
    }
}

fn is_user_message(item: &Value) -> bool {
    let kind = item
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message");
    kind == "message" && item.get("role").and_then(Value::as_str) == Some("user")
}

/// Text an input item contributes to the prompt.
fn item_text(item: &Value) -> String {
    match item.get("type").and_then(Value::as_str) {
        Some("function_call_output") => content_text(item.get("output")),
        Some("function_call") => content_text(item.get("arguments")),
        _ => content_text(item.get("content")),
    }
}

fn first_function_tool(body: &Map<String, Value>) -> Option<String> {
    let tools = body.get("tools")?.as_array()?;
    let tool = tools
        .iter()
        .find(|t| t.get("type").and_then(Value::as_str) == Some("function"))?;
    tool.get("name")?.as_str().map(str::to_owned)
}

fn plan(name: &str, model: String, items: &[Value], body: &Map<String, Value>) -> Plan {
    let last_user = items
        .iter()
        .rev()
        .find(|i| is_user_message(i))
        .map(|i| content_text(i.get("content")))
        .unwrap_or_default();
    let instructions = body
        .get("instructions")
        .and_then(Value::as_str)
        .unwrap_or("");
    let prompt_chars = instructions.chars().count()
        + items
            .iter()
            .map(|i| item_text(i).chars().count())
            .sum::<usize>();
    let last_is_user = items.last().is_some_and(is_user_message);
    let tool = first_function_tool(body).filter(|_| last_is_user && mentions_tool(&last_user));
    let limit = body
        .get("max_output_tokens")
        .and_then(Value::as_u64)
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let (outcome, incomplete) = match tool {
        Some(tool_name) => (tool_outcome(tool_name, &last_user), false),
        None => {
            let (outcome, finish) = text_outcome(name, &last_user, limit);
            (outcome, finish == "length")
        }
    };
    let output_tokens = match &outcome {
        Outcome::Text(pieces) => pieces.len(),
        Outcome::Tool { fragments, .. } => fragments.len(),
    } as u64;
    let prefix = if matches!(outcome, Outcome::Tool { .. }) {
        "fc"
    } else {
        "msg"
    };
    Plan {
        id: format!("resp_{}", rand_hex(48)),
        item_id: format!("{prefix}_{}", rand_hex(48)),
        created_at: created(),
        model,
        outcome,
        incomplete,
        input_tokens: (prompt_chars as u64 / 4).max(1),
        output_tokens,
        echo: echo(body),
    }
}

/// The settings a response object reports, with the API's defaults.
fn echo(body: &Map<String, Value>) -> Map<String, Value> {
    let get = |key: &str, default: Value| {
        body.get(key)
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or(default)
    };
    let text = body.get("text");
    let mut m = Map::new();
    m.insert("background".into(), json!(false));
    m.insert("instructions".into(), get("instructions", Value::Null));
    m.insert(
        "max_output_tokens".into(),
        get("max_output_tokens", Value::Null),
    );
    m.insert("max_tool_calls".into(), get("max_tool_calls", Value::Null));
    m.insert("metadata".into(), get("metadata", json!({})));
    m.insert(
        "parallel_tool_calls".into(),
        get("parallel_tool_calls", json!(true)),
    );
    m.insert("previous_response_id".into(), Value::Null);
    m.insert(
        "prompt_cache_key".into(),
        get("prompt_cache_key", Value::Null),
    );
    m.insert(
        "reasoning".into(),
        json!({
            "effort": body.get("reasoning").and_then(|r| r.get("effort")).cloned().unwrap_or(Value::Null),
            "summary": body.get("reasoning").and_then(|r| r.get("summary")).cloned().unwrap_or(Value::Null),
        }),
    );
    m.insert(
        "safety_identifier".into(),
        get("safety_identifier", Value::Null),
    );
    m.insert("service_tier".into(), json!("default"));
    m.insert("store".into(), get("store", json!(true)));
    m.insert("temperature".into(), get("temperature", json!(1.0)));
    m.insert(
        "text".into(),
        json!({
            "format": text.and_then(|t| t.get("format")).cloned().unwrap_or_else(|| json!({"type": "text"})),
            "verbosity": text.and_then(|t| t.get("verbosity")).cloned().unwrap_or_else(|| json!("medium")),
        }),
    );
    m.insert("tool_choice".into(), get("tool_choice", json!("auto")));
    m.insert("tools".into(), get("tools", json!([])));
    m.insert("top_logprobs".into(), get("top_logprobs", json!(0)));
    m.insert("top_p".into(), get("top_p", json!(1.0)));
    m.insert("truncation".into(), get("truncation", json!("disabled")));
    m.insert("user".into(), get("user", Value::Null));
    m
}

/// The single output item, in progress (empty) or done.
pub(super) fn output_item(plan: &Plan, done: bool) -> Value {
    let status = match (done, plan.incomplete) {
        (false, _) => "in_progress",
        (true, true) => "incomplete",
        (true, false) => "completed",
    };
    match &plan.outcome {
        Outcome::Text(pieces) => {
            let content = if done {
                vec![text_part(&pieces.concat())]
            } else {
                Vec::new()
            };
            json!({"id": plan.item_id, "type": "message", "status": status, "content": content, "role": "assistant"})
        }
        Outcome::Tool {
            id,
            name,
            fragments,
        } => {
            let arguments = if done {
                fragments.concat()
            } else {
                String::new()
            };
            json!({"id": plan.item_id, "type": "function_call", "status": status,
                   "arguments": arguments, "call_id": id, "name": name})
        }
    }
}

/// An `output_text` content part.
pub(super) fn text_part(text: &str) -> Value {
    json!({"type": "output_text", "annotations": [], "logprobs": [], "text": text})
}

/// The response object: finished (with output and usage) or just created.
pub(super) fn response_object(plan: &Plan, done: bool) -> Value {
    let mut m = plan.echo.clone();
    let status = match (done, plan.incomplete) {
        (false, _) => "in_progress",
        (true, true) => "incomplete",
        (true, false) => "completed",
    };
    m.insert("id".into(), json!(plan.id));
    m.insert("object".into(), json!("response"));
    m.insert("created_at".into(), json!(plan.created_at));
    m.insert("status".into(), json!(status));
    m.insert("error".into(), Value::Null);
    let details = (done && plan.incomplete).then(|| json!({"reason": "max_output_tokens"}));
    m.insert("incomplete_details".into(), details.unwrap_or(Value::Null));
    m.insert("model".into(), json!(plan.model));
    let output = if done {
        vec![output_item(plan, true)]
    } else {
        Vec::new()
    };
    m.insert("output".into(), Value::Array(output));
    let usage = done.then(|| {
        json!({
            "input_tokens": plan.input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": plan.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": plan.input_tokens + plan.output_tokens,
        })
    });
    m.insert("usage".into(), usage.unwrap_or(Value::Null));
    Value::Object(m)
}

#[cfg(test)]
#[path = "responses_tests.rs"]
mod tests;
