//! Google Generative Language API (Gemini): `generateContent`,
//! `streamGenerateContent` and the embedding methods, translated to and from
//! OpenAI chat completions (the pivot) and OpenAI embeddings.
//!
//! Mapping choices a user can observe are listed in `docs/translation-gemini.md`.

pub(crate) mod embeddings;
mod error;
mod inbound;
mod inbound_response;
mod inbound_stream;
pub(crate) mod jsonseq;
mod params;
mod request;
mod response;
mod stream;

pub use embeddings::{embeddings_to_gemini, gemini_to_embeddings, EmbedOptions};
pub use error::{error_from_openai, error_to_openai};
pub use inbound::gemini_to_chat_request;
pub use inbound_response::chat_to_gemini_response;
pub use inbound_stream::ChatToGeminiStream;
pub use request::chat_to_gemini;
pub use response::gemini_to_chat;
pub use stream::GeminiToChatStream;

use serde_json::Value;

use crate::config::Deployment;
use crate::error::ApiError;
use crate::translate::{RequestCtx, Usage};

/// The header that carries the Gemini API key.
pub const AUTH_HEADER: &str = "x-goog-api-key";

/// Separates a tool-call id from the Gemini thought signature riding along in it.
///
/// Gemini 3 refuses a function-call history whose thought signatures were
/// dropped, and the id is the one field every OpenAI client echoes back.
pub const THOUGHT_SEP: &str = "__thought__";

/// `{base}/v1beta/models/{model}`: the resource every Gemini method hangs off.
pub fn model_path(base_path: &str, model: &str) -> String {
    let base = base_path.trim_end_matches('/');
    let model = model.strip_prefix("models/").unwrap_or(model);
    // An api_base that already names the API version is used as given.
    if base.ends_with("/v1beta") || base.ends_with("/v1") || base.ends_with("/v1alpha") {
        format!("{base}/models/{model}")
    } else {
        format!("{base}/v1beta/models/{model}")
    }
}

/// Upstream `:path` for chat: `:generateContent`, or `:streamGenerateContent?alt=sse`.
pub fn upstream_path(base_path: &str, model: &str, stream: bool) -> String {
    let method = if stream {
        ":streamGenerateContent?alt=sse"
    } else {
        ":generateContent"
    };
    format!("{}{method}", model_path(base_path, model))
}

/// The provider credential header; None means no key is configured.
pub fn auth_header(dep: &Deployment) -> Option<(&'static str, String)> {
    dep.api_key.as_ref().map(|k| (AUTH_HEADER, k.clone()))
}

/// OpenAI `finish_reason` for a Gemini `finishReason`.
pub(crate) fn finish_reason(reason: &str, has_tool_calls: bool) -> &'static str {
    match reason {
        "MAX_TOKENS" => "length",
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY"
        | "LANGUAGE" => "content_filter",
        _ if has_tool_calls => "tool_calls",
        _ => "stop",
    }
}

/// Usage from a Gemini `usageMetadata` object.
///
/// Tool-use prompt tokens (Google Search grounding) are billed as input, so
/// they count as prompt tokens; the total then equals Gemini's totalTokenCount.
pub(crate) fn usage_from_metadata(meta: &Value) -> Usage {
    let n = |k: &str| meta.get(k).and_then(Value::as_u64).unwrap_or(0);
    let thoughts = n("thoughtsTokenCount");
    Usage {
        // Saturating: the counts are the upstream's, and may be anything.
        prompt_tokens: n("promptTokenCount").saturating_add(n("toolUsePromptTokenCount")),
        completion_tokens: n("candidatesTokenCount").saturating_add(thoughts),
        cached_tokens: n("cachedContentTokenCount"),
        cache_creation_tokens: 0,
        reasoning_tokens: thoughts,
    }
}

/// The OpenAI tool-call id for a Gemini function call: its own id when it has
/// one, else `call_<n>`, with any thought signature appended after [`THOUGHT_SEP`].
pub(crate) fn tool_call_id(part: &Value, n: usize) -> String {
    let base = part
        .pointer("/functionCall/id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map_or_else(|| format!("call_{n}"), str::to_string);
    match part.get("thoughtSignature").and_then(Value::as_str) {
        Some(sig) if !sig.is_empty() => format!("{base}{THOUGHT_SEP}{sig}"),
        _ => base,
    }
}

/// Splits an OpenAI tool-call id into the Gemini id and thought signature.
pub(crate) fn split_tool_call_id(id: &str) -> (&str, Option<&str>) {
    match id.split_once(THOUGHT_SEP) {
        Some((id, sig)) => (id, Some(sig)),
        None => (id, None),
    }
}

/// The OpenAI `tool_calls` entry for a Gemini `functionCall` part.
pub(crate) fn tool_call(part: &Value, n: usize) -> Option<Value> {
    let call = part.get("functionCall")?;
    let name = call.get("name").and_then(Value::as_str).unwrap_or_default();
    let args = match call.get("args") {
        Some(a) if !a.is_null() => a.to_string(),
        _ => "{}".to_string(),
    };
    Some(serde_json::json!({
        "id": tool_call_id(part, n),
        "type": "function",
        "function": {"name": name, "arguments": args},
    }))
}

/// Refuses (or, with drop_params, ignores) a parameter the target API lacks.
pub(crate) fn unsupported(
    param: &'static str,
    target: &str,
    ctx: &RequestCtx,
) -> Result<(), ApiError> {
    if ctx.drop_params {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "{target} does not support the parameter '{param}'; \
         set drop_params: true to drop it instead"
    ))
    .with_param(param))
}

/// An upstream failure told to the client (502, the provider's fault).
pub(crate) fn upstream_error(message: impl Into<String>) -> ApiError {
    let mut e = ApiError::internal(502, message).with_code("bad_upstream_response");
    e.fault = crate::error::Fault::Upstream;
    e
}

#[cfg(test)]
mod tests;
