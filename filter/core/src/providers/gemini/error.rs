//! Error bodies between Gemini's `{"error":{"code","message","status"}}` and
//! OpenAI's `{"error":{"message","type","param","code"}}`.

use serde_json::{json, Value};

use crate::error::{ApiError, Fault};

/// HTTP status, OpenAI type and code for a Gemini (google.rpc) status name.
fn openai_kind(status: &str, http: u16) -> (u16, &'static str, Option<&'static str>) {
    match status {
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => {
            (400, "invalid_request_error", None)
        }
        "UNAUTHENTICATED" => (401, "invalid_request_error", Some("invalid_api_key")),
        "PERMISSION_DENIED" => (403, "invalid_request_error", Some("permission_denied")),
        "NOT_FOUND" => (404, "invalid_request_error", Some("model_not_found")),
        "ALREADY_EXISTS" | "ABORTED" => (409, "invalid_request_error", None),
        "RESOURCE_EXHAUSTED" => (429, "requests", Some("rate_limit_exceeded")),
        "CANCELLED" => (499, "invalid_request_error", None),
        "UNIMPLEMENTED" => (501, "server_error", None),
        "UNAVAILABLE" => (503, "server_error", None),
        "DEADLINE_EXCEEDED" => (504, "server_error", None),
        "INTERNAL" | "UNKNOWN" | "DATA_LOSS" => (500, "server_error", None),
        _ if http >= 500 => (http, "server_error", None),
        _ if http == 429 => (429, "requests", Some("rate_limit_exceeded")),
        _ => (http, "invalid_request_error", None),
    }
}

/// An [`ApiError`] for a Gemini `error` object (status from its `status` name,
/// else its `code`, else `http`).
pub(crate) fn api_error_from_gemini(err: &Value, http: u16) -> ApiError {
    let code = err
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (400..600).contains(c))
        .unwrap_or(http);
    let name = err
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (status, kind, mut code_name) = openai_kind(name, code);
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("Gemini returned an error without a message")
        .to_string();
    if status == 404 && !message.contains("models/") {
        code_name = Some("not_found");
    }
    ApiError {
        status,
        message,
        kind,
        param: None,
        code: code_name,
        fault: if status >= 500 || status == 429 {
            Fault::Upstream
        } else {
            Fault::Client
        },
        headers: Vec::new(),
        limit: None,
    }
}

/// Translates a Gemini error response into OpenAI's shape: `(status, body)`.
///
/// Bodies that are not Gemini envelopes (proxies' HTML, empty bodies) keep the
/// status and carry their text, shortened, as the message.
pub fn error_to_openai(status: u16, body: &[u8]) -> (u16, Vec<u8>) {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    // The JSON-array stream wraps errors in a one-element array.
    let envelope = match &parsed {
        Some(Value::Array(items)) => items.first(),
        other => other.as_ref(),
    };
    let err = match envelope.and_then(|v| v.get("error")) {
        Some(err) => api_error_from_gemini(err, status),
        None => {
            let text = String::from_utf8_lossy(body);
            let text: String = text.trim().chars().take(500).collect();
            let message = if text.is_empty() {
                format!("Gemini returned HTTP {status} without a body")
            } else {
                format!("Gemini returned HTTP {status}: {text}")
            };
            let (status, kind, code) = openai_kind("", status);
            let mut e = ApiError::bad_request(message);
            e.status = status;
            e.kind = kind;
            e.code = code;
            e
        }
    };
    (err.status, err.openai_body())
}

/// The google.rpc status name Gemini uses for an HTTP status.
pub(crate) fn gemini_status_name(status: u16) -> &'static str {
    match status {
        400 | 413 | 422 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        405..=499 => "FAILED_PRECONDITION",
        _ => "INTERNAL",
    }
}

/// A Gemini error envelope.
pub(crate) fn gemini_error_body(status: u16, message: &str) -> Value {
    json!({"error": {"code": status, "message": message, "status": gemini_status_name(status)}})
}

/// Translates an OpenAI-shaped error (ours or a deployment's) into Gemini's
/// shape for clients of the native Gemini routes: `(status, body)`.
pub fn error_from_openai(status: u16, body: &[u8]) -> (u16, Vec<u8>) {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.pointer("/error/message").or_else(|| v.get("message")))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text: String = text.trim().chars().take(500).collect();
            if text.is_empty() {
                format!("upstream returned HTTP {status}")
            } else {
                text
            }
        });
    (
        status,
        gemini_error_body(status, &message).to_string().into_bytes(),
    )
}
