//! Error bodies between Anthropic's `{"type":"error","error":{type,message}}` envelope and
//! OpenAI's `{"error":{message,type,param,code}}`. Statuses are kept as the upstream sent them.

use serde_json::{json, Value};

/// Longest slice of a non-JSON upstream body quoted in an error message.
const MAX_QUOTED: usize = 1000;

/// OpenAI `type` and `code` for an Anthropic error type (status decides unknown types).
pub(super) fn openai_kind(anthropic_type: &str, status: u16) -> (&'static str, Option<&str>) {
    match anthropic_type {
        "invalid_request_error" => ("invalid_request_error", None),
        "authentication_error" => ("invalid_request_error", Some("invalid_api_key")),
        "permission_error" => ("invalid_request_error", Some("permission_denied")),
        "not_found_error" => ("invalid_request_error", Some("not_found")),
        "request_too_large" => ("invalid_request_error", Some("request_too_large")),
        "billing_error" => ("invalid_request_error", Some("billing_error")),
        "rate_limit_error" => ("rate_limit_error", Some("rate_limit_exceeded")),
        "overloaded_error" => ("server_error", Some("overloaded")),
        "timeout_error" => ("server_error", Some("timeout")),
        "api_error" => ("server_error", None),
        other => {
            let kind = if (400..500).contains(&status) {
                "invalid_request_error"
            } else {
                "server_error"
            };
            (kind, Some(other).filter(|o| !o.is_empty()))
        }
    }
}

/// Anthropic error type for an HTTP status.
pub(super) fn anthropic_kind(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        504 => "timeout_error",
        s if (400..500).contains(&s) => "invalid_request_error",
        _ => "api_error",
    }
}

/// Anthropic error type for an OpenAI error `type`/`code` (None when it says nothing specific).
fn anthropic_kind_of(kind: Option<&str>, code: Option<&str>) -> Option<&'static str> {
    Some(match (kind, code) {
        (_, Some("rate_limit_exceeded")) | (Some("rate_limit_error"), _) => "rate_limit_error",
        (_, Some("invalid_api_key")) | (Some("authentication_error"), _) => "authentication_error",
        (_, Some("overloaded")) | (Some("overloaded_error"), _) => "overloaded_error",
        _ => return None,
    })
}

/// Anthropic error type for an OpenAI stream error (no status to go by).
pub(super) fn anthropic_error_type(kind: Option<&str>, code: Option<&str>) -> &'static str {
    anthropic_kind_of(kind, code).unwrap_or(match kind {
        Some("invalid_request_error") => "invalid_request_error",
        _ => "api_error",
    })
}

/// `{"error": {"message", "type"}}`-like fields of an error body, JSON or not.
fn read_error(body: &[u8], status: u16) -> (String, Option<String>, Option<String>) {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let err = v.get("error").unwrap_or(&v);
        let field = |k: &str| err.get(k).and_then(Value::as_str).map(str::to_string);
        if let Some(message) = field("message").or_else(|| err.as_str().map(str::to_string)) {
            return (message, field("type"), field("code"));
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return (format!("upstream returned HTTP {status}"), None, None);
    }
    let quoted: String = text.chars().take(MAX_QUOTED).collect();
    (quoted, None, None)
}

/// An Anthropic error response as an OpenAI error body; the status is kept.
pub fn error_to_openai(status: u16, body: &[u8]) -> (u16, Vec<u8>) {
    let (message, kind, _) = read_error(body, status);
    let fallback = anthropic_kind(status);
    let (kind, code) = openai_kind(kind.as_deref().unwrap_or(fallback), status);
    let out = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
    (status, out.to_string().into_bytes())
}

/// An OpenAI-format error response as an Anthropic error body; the status is kept.
pub fn error_from_openai(status: u16, body: &[u8]) -> (u16, Vec<u8>) {
    let (message, kind, code) = read_error(body, status);
    let kind = anthropic_kind_of(kind.as_deref(), code.as_deref())
        .unwrap_or_else(|| anthropic_kind(status));
    let out = json!({"type": "error", "error": {"type": kind, "message": message}});
    (status, out.to_string().into_bytes())
}
