//! OpenAI face: `/chat/completions`, `/responses`, `/embeddings` and `/models` under any base path.

mod chat;
mod embeddings;
mod responses;
mod responses_stream;
mod stream;

use hyper::{Method, StatusCode};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::faces::ProviderRequest;
use crate::reply::Reply;
use crate::util::{now_secs, rand_hex};

/// Model-name prefix that the mock treats as unknown (404 `model_not_found`).
pub const NONEXISTENT_PREFIX: &str = "nonexistent";

const BAD_JSON: &str = "We could not parse the JSON body of your request. (HINT: This likely \
means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but \
what was sent was not valid JSON. If you have trouble figuring out how to fix this, please \
contact us through our help center at help.openai.com.)";

/// Answers a request addressed to the OpenAI API.
pub fn answer(req: &ProviderRequest<'_>) -> Reply {
    let path = req.path.trim_end_matches('/');
    let reply = if *req.method == Method::POST && path.ends_with("/chat/completions") {
        chat::answer(req)
    } else if *req.method == Method::POST && path.ends_with("/responses") {
        responses::answer(req)
    } else if *req.method == Method::POST && path.ends_with("/embeddings") {
        embeddings::answer(req)
    } else if *req.method == Method::GET && path.ends_with("/models") {
        models()
    } else {
        let message = format!("Invalid URL ({} {})", req.method, req.path);
        error(StatusCode::NOT_FOUND, message, None, None)
    };
    decorate(reply)
}

/// OpenAI's error envelope for a status that a script asked for without a body.
pub fn scripted_error(status: StatusCode) -> Reply {
    let (message, kind, code) = match status.as_u16() {
        401 => (
            "Incorrect API key provided.",
            "invalid_request_error",
            Some("invalid_api_key"),
        ),
        403 => (
            "You are not allowed to access this resource.",
            "invalid_request_error",
            None,
        ),
        404 => (
            "The requested resource was not found.",
            "invalid_request_error",
            None,
        ),
        429 => (
            "Rate limit reached for requests. Please try again later.",
            "requests",
            Some("rate_limit_exceeded"),
        ),
        500 => (
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
        ),
        503 => (
            "The server is overloaded or not ready yet.",
            "server_error",
            None,
        ),
        400..=499 => ("Invalid request.", "invalid_request_error", None),
        _ => (
            "The server had an error processing your request.",
            "server_error",
            None,
        ),
    };
    decorate(error_of_kind(status, message.to_owned(), kind, None, code))
}

#[derive(Serialize)]
struct Envelope {
    error: Detail,
}

#[derive(Serialize)]
struct Detail {
    message: String,
    #[serde(rename = "type")]
    kind: &'static str,
    param: Option<&'static str>,
    code: Option<&'static str>,
}

/// An `invalid_request_error` reply in OpenAI's envelope.
fn error(
    status: StatusCode,
    message: String,
    param: Option<&'static str>,
    code: Option<&'static str>,
) -> Reply {
    error_of_kind(status, message, "invalid_request_error", param, code)
}

fn error_of_kind(
    status: StatusCode,
    message: String,
    kind: &'static str,
    param: Option<&'static str>,
    code: Option<&'static str>,
) -> Reply {
    let body = Envelope {
        error: Detail {
            message,
            kind,
            param,
            code,
        },
    };
    Reply::json(status, &body)
}

/// Headers every OpenAI response carries.
fn decorate(reply: Reply) -> Reply {
    reply
        .with_header("x-request-id", &format!("req_{}", rand_hex(32)))
        .with_header("openai-version", "2020-10-01")
        .with_header("openai-processing-ms", "1")
        .with_header("access-control-expose-headers", "X-Request-ID")
}

/// Parses the body as a JSON object or returns OpenAI's 400 (boxed: replies are large).
fn parse_object(body: &[u8]) -> Result<Map<String, Value>, Box<Reply>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            BAD_JSON.to_owned(),
            None,
            None,
        ))),
    }
}

/// The request's model, or the 400/404 that the real API gives instead.
fn require_model(body: &Map<String, Value>) -> Result<String, Box<Reply>> {
    let model = match body.get("model") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        Some(Value::Null) | None | Some(Value::String(_)) => {
            let msg = "you must provide a model parameter".to_owned();
            return Err(Box::new(error(StatusCode::BAD_REQUEST, msg, None, None)));
        }
        Some(_) => {
            let msg = "Invalid type for 'model': expected a string.".to_owned();
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                msg,
                Some("model"),
                Some("invalid_type"),
            )));
        }
    };
    if model.starts_with(NONEXISTENT_PREFIX) {
        let msg = format!("The model `{model}` does not exist or you do not have access to it.");
        let reply = error(StatusCode::NOT_FOUND, msg, None, Some("model_not_found"));
        return Err(Box::new(
            reply.with_header("content-type", "application/json; charset=utf-8"),
        ));
    }
    Ok(model)
}

/// The 400 for a required parameter that is absent.
fn missing(param: &'static str) -> Reply {
    let msg = format!("Missing required parameter: '{param}'.");
    error(
        StatusCode::BAD_REQUEST,
        msg,
        Some(param),
        Some("missing_required_parameter"),
    )
}

/// A 400 about a parameter's value; the API leaves `param` and `code` null for these.
fn invalid(message: String) -> Reply {
    error(StatusCode::BAD_REQUEST, message, None, None)
}

#[derive(Serialize)]
struct ModelList {
    object: &'static str,
    data: Vec<ModelInfo>,
}

#[derive(Serialize)]
struct ModelInfo {
    id: &'static str,
    object: &'static str,
    created: u64,
    owned_by: &'static str,
}

fn models() -> Reply {
    let info = |id, created, owned_by| ModelInfo {
        id,
        object: "model",
        created,
        owned_by,
    };
    let list = ModelList {
        object: "list",
        data: vec![
            info("gpt-4o-mini", 1_721_172_741, "system"),
            info("gpt-4o", 1_715_367_049, "system"),
            info("text-embedding-3-small", 1_705_948_997, "system"),
        ],
    };
    Reply::json(StatusCode::OK, &list)
}

/// A `created` timestamp for new objects.
fn created() -> u64 {
    now_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(method: Method, path: &str, body: &str) -> (StatusCode, Value) {
        let req = ProviderRequest {
            method: &method,
            path,
            body: body.as_bytes(),
            headers: &hyper::HeaderMap::new(),
            name: "t",
        };
        let reply = answer(&req);
        let value = serde_json::from_str(&reply.body_text()).unwrap_or(Value::Null);
        (reply.status, value)
    }

    #[test]
    fn invalid_json_is_400_with_openai_envelope() {
        let (status, body) = call(Method::POST, "/v1/chat/completions", "{not json");
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["param"], Value::Null);
        assert_eq!(body["error"]["code"], Value::Null);
        assert!(body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("parse the JSON")));
    }

    #[test]
    fn unknown_model_is_404_model_not_found() {
        let body = r#"{"model":"nonexistent-x","messages":[{"role":"user","content":"hi"}]}"#;
        let (status, value) = call(Method::POST, "/v1/chat/completions", body);
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(value["error"]["code"], "model_not_found");
        let msg = "The model `nonexistent-x` does not exist or you do not have access to it.";
        assert_eq!(value["error"]["message"], msg);
    }

    #[test]
    fn unknown_path_is_invalid_url() {
        let (status, value) = call(Method::POST, "/v1/nothing", "{}");
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(value["error"]["message"], "Invalid URL (POST /v1/nothing)");
    }

    #[test]
    fn models_lists_a_few() {
        let (status, value) = call(Method::GET, "/v1/models", "");
        assert_eq!(status, StatusCode::OK);
        assert_eq!(value["object"], "list");
        assert!(value["data"].as_array().is_some_and(|d| d.len() >= 2));
    }

    #[test]
    fn scripted_429_uses_rate_limit_code() {
        let reply = scripted_error(StatusCode::TOO_MANY_REQUESTS);
        let value: Value = serde_json::from_str(&reply.body_text()).unwrap_or(Value::Null);
        assert_eq!(value["error"]["code"], "rate_limit_exceeded");
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    }
}
