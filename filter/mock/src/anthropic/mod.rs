//! Anthropic face: `POST …/v1/messages` (any base path, any query such as `?beta=true`),
//! validated and answered in the shapes of the recordings in
//! `fixtures/providers/anthropic/`.

mod messages;
mod stream;

#[cfg(test)]
mod tests;

use hyper::{Method, StatusCode};
use serde_json::{json, Map, Value};

use crate::faces::ProviderRequest;
use crate::openai::NONEXISTENT_PREFIX;
use crate::reply::Reply;
use crate::util::rand_alnum;

/// True for paths this face serves.
pub fn is_messages_path(path: &str) -> bool {
    path.trim_end_matches('/').ends_with("/v1/messages")
}

/// Answers a request addressed to the Messages API.
pub fn answer(req: &ProviderRequest<'_>) -> Reply {
    let reply = match validate(req) {
        Ok((body, max_tokens)) => messages::answer(req.name, &body, max_tokens),
        Err(reply) => *reply,
    };
    with_request_id(reply)
}

/// Anthropic's error envelope for a status that a script asked for without a body.
pub fn scripted_error(status: StatusCode) -> Reply {
    let (kind, message) = match status.as_u16() {
        401 => ("authentication_error", "invalid x-api-key"),
        402 => ("billing_error", "Your credit balance is too low."),
        403 => (
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        ),
        404 => ("not_found_error", "Not found."),
        413 => (
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
        ),
        429 => (
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit.",
        ),
        503 | 529 => ("overloaded_error", "Overloaded"),
        504 => ("timeout_error", "Request timed out."),
        400..=499 => ("invalid_request_error", "Invalid request."),
        _ => ("api_error", "Internal server error"),
    };
    with_request_id(error(status, kind, message))
}

fn request_id() -> String {
    format!("req_011C{}", rand_alnum(20))
}

/// `{"type":"error","error":{"type","message"},"request_id"}` with the given status.
fn error(status: StatusCode, kind: &str, message: &str) -> Reply {
    let id = request_id();
    let body = json!({
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": id,
    });
    Reply::json(status, &body).with_header("request-id", &id)
}

fn invalid(message: &str) -> Box<Reply> {
    Box::new(error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        message,
    ))
}

/// Every Anthropic response names its request in a `request-id` header.
fn with_request_id(reply: Reply) -> Reply {
    if reply.headers.contains_key("request-id") {
        return reply;
    }
    reply.with_header("request-id", &request_id())
}

/// Checks what the real API checks first; returns the body and its max_tokens.
fn validate(req: &ProviderRequest<'_>) -> Result<(Map<String, Value>, u64), Box<Reply>> {
    if *req.method != Method::POST {
        let reply = error(StatusCode::NOT_FOUND, "not_found_error", "Not Found");
        return Err(Box::new(reply));
    }
    let header = |name: &str| {
        req.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.trim().is_empty())
    };
    if header("x-api-key").is_none() {
        return Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "x-api-key header is required",
        )));
    }
    if header("anthropic-version").is_none() {
        return Err(invalid("anthropic-version: header is required"));
    }
    let body = match serde_json::from_slice::<Value>(req.body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(invalid("The request body must be a JSON object.")),
        Err(e) => return Err(invalid(&format!("The request body is not valid JSON: {e}"))),
    };
    let model = match body.get("model") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        None | Some(Value::Null) => return Err(invalid("model: Field required")),
        Some(_) => return Err(invalid("model: Input should be a valid string")),
    };
    let max_tokens = match body.get("max_tokens") {
        None | Some(Value::Null) => return Err(invalid("max_tokens: Field required")),
        Some(v) => v
            .as_u64()
            .filter(|n| *n >= 1)
            .ok_or_else(|| invalid("max_tokens: Input should be greater than or equal to 1"))?,
    };
    match body.get("messages") {
        None | Some(Value::Null) => return Err(invalid("messages: Field required")),
        Some(Value::Array(m)) if m.is_empty() => {
            return Err(invalid("messages: at least one message is required"))
        }
        Some(Value::Array(_)) => {}
        Some(_) => return Err(invalid("messages: Input should be a valid list")),
    }
    if let Some(budget) = thinking_budget(&body) {
        if budget < 1024 {
            return Err(invalid(
                "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
            ));
        }
        if max_tokens <= budget {
            return Err(invalid(
                "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our \
                 documentation at https://docs.claude.com/en/docs/build-with-claude/\
                 extended-thinking#max-tokens-and-context-window-size",
            ));
        }
    }
    if model.starts_with(NONEXISTENT_PREFIX) {
        let reply = error(
            StatusCode::NOT_FOUND,
            "not_found_error",
            &format!("model: {model}"),
        );
        return Err(Box::new(reply));
    }
    Ok((body, max_tokens))
}

/// `thinking.budget_tokens` when extended thinking is enabled.
fn thinking_budget(body: &Map<String, Value>) -> Option<u64> {
    let t = body.get("thinking")?;
    if t.get("type").and_then(Value::as_str) != Some("enabled") {
        return None;
    }
    Some(t.get("budget_tokens").and_then(Value::as_u64).unwrap_or(0))
}
