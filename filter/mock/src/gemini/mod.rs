//! Gemini face: `POST …/models/{model}:generateContent`, `:streamGenerateContent`
//! (SSE with `alt=sse`, else the streamed JSON array), `:embedContent`,
//! `:batchEmbedContents`, `:countTokens`, and `GET …/models`. Shapes follow the
//! recordings in `fixtures/providers/gemini/`.

mod embed;
mod generate;
mod stream;

use hyper::{Method, StatusCode};
use serde_json::{json, Map, Value};

use crate::faces::{ProviderRequest, RequestMeta};
use crate::reply::Reply;

/// Model-name prefix that the mock treats as unknown (404 NOT_FOUND).
pub const NONEXISTENT_PREFIX: &str = "nonexistent";

/// Content type of Gemini's JSON answers and errors.
pub const JSON_UTF8: &str = "application/json; charset=UTF-8";

const NO_KEY: &str = "Method doesn't allow unregistered callers (callers without established \
identity). Please use API Key or other form of API consumer identity to call this API.";

/// True for paths in the Gemini API's shape.
pub fn matches(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or_default();
    path.contains("/v1beta/")
        || path.contains("/v1alpha/")
        || path.ends_with("/v1beta")
        || (path.contains("/models/") && last.contains(':'))
}

/// Answers a request addressed to the Gemini API.
pub fn answer(req: &ProviderRequest<'_>, meta: &RequestMeta<'_>) -> Reply {
    decorate(route(req, meta))
}

fn route(req: &ProviderRequest<'_>, meta: &RequestMeta<'_>) -> Reply {
    if !has_key(meta) {
        return error(StatusCode::FORBIDDEN, NO_KEY);
    }
    let path = req.path.trim_end_matches('/');
    let Some((_, resource)) = path.rsplit_once("/models/") else {
        if *req.method == Method::GET && path.ends_with("/models") {
            return models();
        }
        return not_found(req);
    };
    let Some((model, method)) = resource.split_once(':') else {
        return not_found(req);
    };
    if *req.method != Method::POST {
        return not_found(req);
    }
    if model.starts_with(NONEXISTENT_PREFIX) {
        let msg = format!(
            "models/{model} is not found for API version v1beta, or is not supported for \
             {method}. Call ModelService.ListModels to see the list of available models and \
             their supported methods."
        );
        return error(StatusCode::NOT_FOUND, &msg);
    }
    let body = match parse_object(req.body) {
        Ok(body) => body,
        Err(reply) => return *reply,
    };
    let sse = meta.query.split('&').any(|kv| kv == "alt=sse");
    match method {
        "generateContent" => generate::answer(req.name, model, &body, None),
        "streamGenerateContent" => generate::answer(req.name, model, &body, Some(sse)),
        "countTokens" => generate::count_tokens(&body),
        "embedContent" => embed::single(&body),
        "batchEmbedContents" => embed::batch(&body),
        _ => not_found(req),
    }
}

/// An API key in `x-goog-api-key` or the `key` query parameter.
fn has_key(meta: &RequestMeta<'_>) -> bool {
    let header = meta
        .headers
        .get("x-goog-api-key")
        .is_some_and(|v| !v.is_empty());
    header
        || meta
            .query
            .split('&')
            .any(|kv| kv.strip_prefix("key=").is_some_and(|k| !k.is_empty()))
}

/// The google.rpc status name for an HTTP status.
fn status_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        402..=499 => "FAILED_PRECONDITION",
        _ => "INTERNAL",
    }
}

/// Gemini's error envelope `{"error":{"code","message","status"}}`.
pub fn error(status: StatusCode, message: &str) -> Reply {
    let body = json!({"error": {
        "code": status.as_u16(),
        "message": message,
        "status": status_name(status),
    }});
    Reply::raw(status, JSON_UTF8, body.to_string())
}

/// Gemini's envelope for a status a script asked for without a body.
pub fn scripted_error(status: StatusCode) -> Reply {
    let message = match status.as_u16() {
        400 => "Request contains an invalid argument.",
        401 => "Request had invalid authentication credentials.",
        403 => "The caller does not have permission",
        404 => "Requested entity was not found.",
        429 => "Resource has been exhausted (e.g. check quota).",
        500 => "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
        503 => "The model is overloaded. Please try again later.",
        504 => "The request timed out. Please try again.",
        402..=499 => "The request was refused.",
        _ => "An internal error has occurred.",
    };
    decorate(error(status, message))
}

fn not_found(req: &ProviderRequest<'_>) -> Reply {
    let msg = format!("Method not found: {} {}", req.method, req.path);
    error(StatusCode::NOT_FOUND, &msg)
}

/// Headers every Gemini response carries (as recorded).
fn decorate(reply: Reply) -> Reply {
    reply
        .with_header("vary", "Origin, X-Origin, Referer")
        .with_header("server", "scaffolding on HTTPServer2")
        .with_header("x-content-type-options", "nosniff")
}

/// Parses the body as a JSON object or returns Gemini's 400 (boxed: replies are large).
fn parse_object(body: &[u8]) -> Result<Map<String, Value>, Box<Reply>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "Invalid JSON payload received. Unexpected token.",
        ))),
    }
}

fn models() -> Reply {
    let model = |name: &str, methods: &[&str]| {
        json!({"name": format!("models/{name}"), "displayName": name,
            "supportedGenerationMethods": methods})
    };
    let chat = ["generateContent", "streamGenerateContent", "countTokens"];
    let list = json!({"models": [
        model("gemini-2.5-flash", &chat),
        model("gemini-2.5-pro", &chat),
        model("gemini-embedding-001", &["embedContent", "batchEmbedContents"]),
    ]});
    Reply::raw(StatusCode::OK, JSON_UTF8, list.to_string())
}

#[cfg(test)]
mod tests;
