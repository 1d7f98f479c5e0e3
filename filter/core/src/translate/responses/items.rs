//! Building blocks of a Responses object shared by the whole-body and stream
//! translations, so both produce the same ids, items and echoed settings.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Map, Value};

use crate::error::{ApiError, Fault};
use crate::translate::{unix_now, Usage};

/// Longest id fragment taken from the upstream id.
const MAX_BASE: usize = 48;

/// The id fragment shared by a response and its items, taken from the chat id.
pub(super) fn id_base(chat_id: Option<&str>) -> String {
    let raw = chat_id.unwrap_or_default();
    let raw = raw.strip_prefix("chatcmpl-").unwrap_or(raw);
    let base: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(MAX_BASE)
        .collect();
    if !base.is_empty() {
        return base;
    }
    // Upstreams that send no id still need distinct ids per response.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:x}{:06x}", unix_now(), n)
}

/// `resp_<base>`.
pub(super) fn response_id(base: &str) -> String {
    format!("resp_{base}")
}

/// Id of the output item at `index`: `msg_`, `rs_` or `fc_` + base + index.
pub(super) fn item_id(prefix: &str, base: &str, index: usize) -> String {
    format!("{prefix}_{base}_{index}")
}

/// An `output_text` content part.
pub(super) fn text_part(text: &str, annotations: Value) -> Value {
    json!({"type": "output_text", "annotations": annotations, "logprobs": [], "text": text})
}

/// A `refusal` content part.
pub(super) fn refusal_part(refusal: &str) -> Value {
    json!({"type": "refusal", "refusal": refusal})
}

/// An assistant `message` output item.
pub(super) fn message_item(id: &str, status: &str, content: Vec<Value>) -> Value {
    json!({"id": id, "type": "message", "status": status, "content": content, "role": "assistant"})
}

/// A `reasoning` output item; the chat reasoning text becomes its summary.
pub(super) fn reasoning_item(id: &str, text: Option<&str>) -> Value {
    let summary: Vec<Value> = text
        .map(|t| json!({"type": "summary_text", "text": t}))
        .into_iter()
        .collect();
    json!({"id": id, "type": "reasoning", "summary": summary})
}

/// A `function_call` output item.
pub(super) fn function_item(
    id: &str,
    status: &str,
    call_id: &str,
    name: &str,
    arguments: &str,
) -> Value {
    json!({
        "id": id, "type": "function_call", "status": status,
        "arguments": arguments, "call_id": call_id, "name": name,
    })
}

/// The Responses `usage` object.
pub(super) fn usage_object(u: &Usage) -> Value {
    json!({
        "input_tokens": u.prompt_tokens,
        "input_tokens_details": {"cached_tokens": u.cached_tokens},
        "output_tokens": u.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "total_tokens": u.total(),
    })
}

/// Response status and `incomplete_details.reason` for a chat finish_reason.
pub(super) fn status_for(finish_reason: Option<&str>) -> (&'static str, Option<&'static str>) {
    match finish_reason {
        Some("length") => ("incomplete", Some("max_output_tokens")),
        Some("content_filter") => ("incomplete", Some("content_filter")),
        _ => ("completed", None),
    }
}

/// The request settings a Responses object echoes, with the API's defaults.
///
/// `store` is always false: a bridged response is never stored anywhere.
pub(super) fn echo_settings(req: &Value) -> Map<String, Value> {
    let get = |key: &str| req.get(key).filter(|v| !v.is_null()).cloned();
    let or = |key: &str, default: Value| get(key).unwrap_or(default);
    let reasoning = json!({
        "effort": req.pointer("/reasoning/effort").cloned().unwrap_or(Value::Null),
        "summary": req.pointer("/reasoning/summary").cloned().unwrap_or(Value::Null),
    });
    let text = json!({
        "format": req.pointer("/text/format").filter(|v| !v.is_null()).cloned()
            .unwrap_or_else(|| json!({"type": "text"})),
        "verbosity": req.pointer("/text/verbosity").filter(|v| !v.is_null()).cloned()
            .unwrap_or_else(|| json!("medium")),
    });
    let mut m = Map::new();
    m.insert("background".into(), json!(false));
    m.insert(
        "frequency_penalty".into(),
        or("frequency_penalty", json!(0.0)),
    );
    m.insert("instructions".into(), or("instructions", Value::Null));
    m.insert(
        "max_output_tokens".into(),
        or("max_output_tokens", Value::Null),
    );
    m.insert("max_tool_calls".into(), or("max_tool_calls", Value::Null));
    m.insert("metadata".into(), or("metadata", json!({})));
    m.insert(
        "parallel_tool_calls".into(),
        or("parallel_tool_calls", json!(true)),
    );
    m.insert(
        "presence_penalty".into(),
        or("presence_penalty", json!(0.0)),
    );
    m.insert("previous_response_id".into(), Value::Null);
    m.insert(
        "prompt_cache_key".into(),
        or("prompt_cache_key", Value::Null),
    );
    m.insert(
        "prompt_cache_retention".into(),
        or("prompt_cache_retention", Value::Null),
    );
    m.insert("reasoning".into(), reasoning);
    m.insert(
        "safety_identifier".into(),
        or("safety_identifier", Value::Null),
    );
    m.insert("service_tier".into(), or("service_tier", json!("default")));
    m.insert("store".into(), json!(false));
    m.insert("temperature".into(), or("temperature", json!(1.0)));
    m.insert("text".into(), text);
    m.insert("tool_choice".into(), or("tool_choice", json!("auto")));
    m.insert("tools".into(), or("tools", json!([])));
    m.insert("top_logprobs".into(), or("top_logprobs", json!(0)));
    m.insert("top_p".into(), or("top_p", json!(1.0)));
    m.insert("truncation".into(), or("truncation", json!("disabled")));
    m.insert("user".into(), or("user", Value::Null));
    m
}

/// Identity of one response: id, creation time and model.
#[derive(Debug, Clone)]
pub(super) struct Header {
    /// `resp_...`.
    pub id: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Model as the upstream reported it.
    pub model: Value,
}

/// What state a response object is in.
pub(super) struct Outcome<'a> {
    /// `in_progress`, `completed`, `incomplete` or `failed`.
    pub status: &'a str,
    /// `incomplete_details.reason`.
    pub incomplete: Option<&'a str>,
    /// `error` object for failed responses.
    pub error: Option<Value>,
    /// Output items.
    pub output: Vec<Value>,
    /// Usage, once known.
    pub usage: Option<Value>,
}

/// A full Responses object: echoed settings plus identity and outcome.
pub(super) fn response_object(settings: &Map<String, Value>, h: &Header, o: Outcome<'_>) -> Value {
    let mut m = settings.clone();
    m.insert("id".into(), json!(h.id));
    m.insert("object".into(), json!("response"));
    m.insert("created_at".into(), json!(h.created_at));
    m.insert("status".into(), json!(o.status));
    m.insert("error".into(), o.error.unwrap_or(Value::Null));
    let details = o.incomplete.map(|r| json!({"reason": r}));
    m.insert("incomplete_details".into(), details.unwrap_or(Value::Null));
    m.insert("model".into(), h.model.clone());
    m.insert("output".into(), Value::Array(o.output));
    m.insert("usage".into(), o.usage.unwrap_or(Value::Null));
    Value::Object(m)
}

/// A 502 for an upstream answer that cannot be read as a chat completion.
pub(super) fn bad_upstream(message: impl Into<String>) -> ApiError {
    let mut e = ApiError::internal(502, message);
    e.fault = Fault::Upstream;
    e
}
