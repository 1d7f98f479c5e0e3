//! Anthropic Messages API, translated to and from the OpenAI chat pivot.
//!
//! Outbound (OpenAI-format client, Anthropic deployment): [`chat_to_messages`],
//! [`messages_to_chat`], [`MessagesToChatStream`], [`error_to_openai`].
//! Inbound (Anthropic-format client on `/v1/messages`, OpenAI-format deployment):
//! [`messages_to_chat_request`], [`chat_to_messages_response`],
//! [`ChatToMessagesStream`], [`error_from_openai`].
//! The mapping choices users should know are in docs/translation-anthropic.md.

mod errors;
mod inbound_request;
mod inbound_response;
mod inbound_stream;
mod messages;
mod request;
mod response;
mod stream;
mod tools;
mod wire;

#[cfg(test)]
mod tests;

pub use errors::{error_from_openai, error_to_openai};
pub use inbound_request::messages_to_chat_request;
pub use inbound_response::chat_to_messages_response;
pub use inbound_stream::ChatToMessagesStream;
pub use request::chat_to_messages;
pub use response::messages_to_chat;
pub use stream::MessagesToChatStream;

use serde_json::{json, Value};

use crate::config::Deployment;
use crate::error::{ApiError, Fault};
use crate::translate::Usage;
use wire::AnthropicUsage;

/// Value of the `anthropic-version` request header.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Prefix of the forced tool that carries a `response_format: json_schema` answer.
/// A tool_use of a tool with this prefix is turned back into message text.
pub const ANSWER_TOOL_PREFIX: &str = "answer_as_";

/// Upstream `:path` for the Messages API under a deployment's base path.
pub fn upstream_path(base_path: &str) -> String {
    let base = base_path.trim_end_matches('/');
    // LiteLLM accepts an api_base that already names the endpoint; so do we.
    if base.ends_with("/v1/messages") {
        base.to_string()
    } else {
        format!("{base}/v1/messages")
    }
}

/// The provider credential header (`x-api-key`); send [`ANTHROPIC_VERSION`] with it.
pub fn auth_header(dep: &Deployment) -> Option<(&'static str, String)> {
    dep.api_key.as_ref().map(|k| ("x-api-key", k.clone()))
}

/// A 502 for an upstream body we cannot make sense of.
fn upstream_error(message: impl Into<String>) -> ApiError {
    ApiError {
        status: 502,
        message: message.into(),
        kind: "upstream_error",
        param: None,
        code: None,
        fault: Fault::Upstream,
        headers: Vec::new(),
        limit: None,
    }
}

/// The 400 for a parameter the target API lacks (only used when drop_params is off).
fn unsupported_param(provider: &str, param: &'static str) -> ApiError {
    ApiError::bad_request(format!(
        "{provider} does not support the parameter `{param}`; \
         set drop_params: true to drop it instead"
    ))
    .with_param(param)
    .with_code("unsupported_parameter")
}

/// Anthropic stop_reason -> OpenAI finish_reason.
fn finish_reason(stop_reason: Option<&str>) -> &'static str {
    match stop_reason {
        Some("max_tokens") | Some("model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        // end_turn, stop_sequence, pause_turn and anything new end the turn normally.
        _ => "stop",
    }
}

/// Adds an Anthropic `usage` report; input tokens exclude cached ones there, and
/// `message_delta` repeats only some counts, so absent ones keep their earlier values.
fn read_usage(u: &AnthropicUsage, into: &mut Usage) {
    if u.input_tokens.is_some()
        || u.cache_read_input_tokens.is_some()
        || u.cache_creation_input_tokens.is_some()
    {
        // Saturating throughout: the counts are the upstream's, and may be anything.
        let old_plain = into
            .prompt_tokens
            .saturating_sub(into.cached_tokens)
            .saturating_sub(into.cache_creation_tokens);
        let plain = u.input_tokens.unwrap_or(old_plain);
        let read = u.cache_read_input_tokens.unwrap_or(into.cached_tokens);
        let created = u
            .cache_creation_input_tokens
            .unwrap_or(into.cache_creation_tokens);
        into.prompt_tokens = plain.saturating_add(read).saturating_add(created);
        into.cached_tokens = read;
        into.cache_creation_tokens = created;
    }
    if let Some(out) = u.output_tokens {
        into.completion_tokens = out;
    }
}

/// OpenAI `usage` plus the Anthropic cache counters LiteLLM exposes at top level.
fn usage_json(u: &Usage) -> Value {
    let mut v = u.to_openai();
    if let Some(details) = v.get_mut("prompt_tokens_details") {
        set(
            details,
            "cache_creation_tokens",
            json!(u.cache_creation_tokens),
        );
    }
    set(
        &mut v,
        "cache_creation_input_tokens",
        json!(u.cache_creation_tokens),
    );
    set(&mut v, "cache_read_input_tokens", json!(u.cached_tokens));
    v
}

/// Anthropic `usage` from an OpenAI-side usage record.
fn anthropic_usage(u: &Usage) -> Value {
    json!({
        "input_tokens": u
            .prompt_tokens
            .saturating_sub(u.cached_tokens)
            .saturating_sub(u.cache_creation_tokens),
        "cache_creation_input_tokens": u.cache_creation_tokens,
        "cache_read_input_tokens": u.cached_tokens,
        "output_tokens": u.completion_tokens,
    })
}

/// Sets `key` on a JSON object (no-op on other values, where indexing would panic).
fn set(v: &mut Value, key: &str, value: Value) {
    if let Some(obj) = v.as_object_mut() {
        obj.insert(key.to_string(), value);
    }
}

/// True when an event's data is whole JSON (or the `[DONE]` marker).
fn complete_event(ev: &crate::translate::sse::SseEvent) -> bool {
    let data = ev.data.trim();
    data == "[DONE]" || serde_json::from_str::<serde::de::IgnoredAny>(data).is_ok()
}

/// The text of a `{"type":"text"}` block list or a plain string.
fn text_of(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}
