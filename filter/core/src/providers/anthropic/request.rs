//! OpenAI chat completions request -> Anthropic Messages request.

use serde_json::{json, Map, Value};

use super::messages::{self, SystemText};
use super::{set, tools, unsupported_param};
use crate::error::ApiError;
use crate::translate::RequestCtx;

/// True for a parameter value that asks for nothing.
type Neutral = fn(&Value) -> bool;

/// OpenAI parameters Anthropic has no equivalent for, each with the values that ask for
/// nothing (those are accepted silently: clients often send defaults).
const UNSUPPORTED: &[(&str, Neutral)] = &[
    ("n", |v| v.as_u64() == Some(1)),
    ("logprobs", |v| *v == Value::Bool(false)),
    ("top_logprobs", |_| false),
    ("presence_penalty", is_zero),
    ("frequency_penalty", is_zero),
    ("logit_bias", |v| v.as_object().is_some_and(Map::is_empty)),
    ("seed", |_| false),
    ("audio", |_| false),
    ("modalities", |v| *v == json!(["text"])),
    ("prediction", |_| false),
    ("web_search_options", |_| false),
    ("functions", |_| false),
    ("function_call", |_| false),
    ("store", |v| *v == Value::Bool(false)),
    ("verbosity", |_| false),
];

fn is_zero(v: &Value) -> bool {
    v.as_f64() == Some(0.0)
}

/// Thinking budgets for OpenAI's `reasoning_effort`.
fn effort_budget(effort: &str) -> Option<Option<u64>> {
    Some(match effort {
        "none" => None,
        "minimal" | "low" => Some(1024),
        "medium" => Some(4096),
        "high" => Some(16384),
        _ => return None,
    })
}

/// Translates an OpenAI chat request into an Anthropic Messages request for `ctx.model`.
pub fn chat_to_messages(req: &Value, ctx: &RequestCtx) -> Result<Value, ApiError> {
    let obj = req
        .as_object()
        .ok_or_else(|| ApiError::bad_request("the request body must be a JSON object"))?;
    for (param, neutral) in UNSUPPORTED {
        match obj.get(*param) {
            None | Some(Value::Null) => {}
            Some(v) if neutral(v) => {}
            Some(_) if ctx.drop_params => {}
            Some(_) => return Err(unsupported_param("anthropic", param)),
        }
    }
    let conv = messages::convert(obj.get("messages"))?;
    let mut out = Map::new();
    out.insert("model".into(), json!(ctx.model));
    out.insert("messages".into(), Value::Array(conv.messages));

    let mut max_tokens = match obj
        .get("max_completion_tokens")
        .filter(|v| !v.is_null())
        .or_else(|| obj.get("max_tokens").filter(|v| !v.is_null()))
    {
        None => ctx.default_max_tokens,
        Some(v) => v.as_u64().filter(|n| *n > 0).ok_or_else(|| {
            ApiError::bad_request("max_tokens must be a positive integer").with_param("max_tokens")
        })?,
    };
    let thinking = thinking(obj)?;
    if let Some(budget) = thinking
        .as_ref()
        .and_then(|t| t.get("budget_tokens"))
        .and_then(Value::as_u64)
    {
        // max_tokens covers thinking too; keep the client's limit for the visible answer.
        if max_tokens <= budget {
            max_tokens = budget.saturating_add(max_tokens);
        }
    }
    out.insert("max_tokens".into(), json!(max_tokens));

    for key in ["temperature", "top_p", "top_k"] {
        if let Some(v) = obj.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    match obj.get("stop") {
        Some(Value::String(s)) => {
            out.insert("stop_sequences".into(), json!([s]));
        }
        Some(Value::Array(list)) if !list.is_empty() => {
            out.insert("stop_sequences".into(), Value::Array(list.clone()));
        }
        _ => {}
    }
    let user = obj
        .get("user")
        .or_else(|| obj.get("safety_identifier"))
        .and_then(Value::as_str);
    if let Some(user) = user.filter(|u| !u.is_empty()) {
        out.insert("metadata".into(), json!({"user_id": user}));
    }

    let enabled = thinking
        .as_ref()
        .is_some_and(|t| t.get("type").and_then(Value::as_str) != Some("disabled"));
    let plan = tools::plan(obj, enabled)?;
    let mut system = conv.system;
    if let Some(note) = plan.system_note {
        system.push(SystemText {
            text: note,
            cache_control: None,
        });
    }
    if let Some(system) = system_value(system) {
        out.insert("system".into(), system);
    }
    if !plan.tools.is_empty() {
        out.insert("tools".into(), Value::Array(plan.tools));
    }
    if let Some(choice) = plan.tool_choice {
        out.insert("tool_choice".into(), choice);
    }
    if let Some(t) = thinking {
        out.insert("thinking".into(), t);
    }
    if obj.get("stream").and_then(Value::as_bool) == Some(true) {
        out.insert("stream".into(), json!(true));
    }
    Ok(Value::Object(out))
}

/// An explicit Anthropic `thinking` object wins over `reasoning_effort`.
fn thinking(obj: &Map<String, Value>) -> Result<Option<Value>, ApiError> {
    match obj.get("thinking") {
        None | Some(Value::Null) => {}
        Some(t @ Value::Object(_)) => return Ok(Some(t.clone())),
        Some(_) => {
            return Err(ApiError::bad_request("thinking must be an object").with_param("thinking"))
        }
    }
    let Some(effort) = obj.get("reasoning_effort").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let budget = effort.as_str().and_then(effort_budget).ok_or_else(|| {
        ApiError::bad_request("reasoning_effort must be none, minimal, low, medium or high")
            .with_param("reasoning_effort")
    })?;
    Ok(budget.map(|b| json!({"type": "enabled", "budget_tokens": b})))
}

/// A plain string, or text blocks when any part carries cache_control.
fn system_value(parts: Vec<SystemText>) -> Option<Value> {
    if parts.is_empty() {
        return None;
    }
    if parts.iter().any(|p| p.cache_control.is_some()) {
        let blocks = parts
            .into_iter()
            .map(|p| {
                let mut b = json!({"type": "text", "text": p.text});
                if let Some(cc) = p.cache_control {
                    set(&mut b, "cache_control", cc);
                }
                b
            })
            .collect();
        return Some(Value::Array(blocks));
    }
    let texts: Vec<String> = parts.into_iter().map(|p| p.text).collect();
    Some(Value::String(texts.join("\n\n")))
}
