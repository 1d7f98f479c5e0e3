//! Errors in the caller's API format, with whose fault they are.

use serde_json::json;

/// Whose fault an error is; decides logging and (later) whether a retry is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The client sent something we refuse.
    Client,
    /// The provider failed.
    Upstream,
    /// The gateway itself is misconfigured or broken.
    Internal,
}

/// An error answered to the client as an OpenAI-shaped JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Human-readable message.
    pub message: String,
    /// OpenAI error `type`.
    pub kind: &'static str,
    /// Offending parameter, if any.
    pub param: Option<&'static str>,
    /// Machine-readable code.
    pub code: Option<&'static str>,
    /// Whose fault.
    pub fault: Fault,
    /// Extra response headers (`allow`, later `retry-after`).
    pub headers: Vec<(&'static str, String)>,
    /// The key limit that refused the request (`rpm`, `tpm`, `parallel`,
    /// `model_rpm`, `model_tpm`, `budget`), for the rejections metric.
    pub limit: Option<&'static str>,
}

impl ApiError {
    fn new(status: u16, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            kind,
            param: None,
            code: None,
            fault: Fault::Client,
            headers: Vec::new(),
            limit: None,
        }
    }

    /// 400 invalid_request_error.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_request_error", message)
    }

    /// 401 for a missing or wrong key.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, "invalid_request_error", message).with_code("invalid_api_key")
    }

    /// 403 for a caller whose key may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "permission_denied", message).with_code("permission_denied")
    }

    /// 404 for a resource (such as a key) that does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "invalid_request_error", message).with_code("not_found")
    }

    /// 404 for a path the gateway does not serve (OpenAI's wording). Path segments
    /// that are `sk-` keys are masked: an answer never repeats a key.
    pub fn unknown_route(method: &str, path: &str) -> Self {
        let path = crate::keys::secret::display_path(path);
        Self::new(
            404,
            "invalid_request_error",
            format!("Invalid URL ({method} {path})"),
        )
        .with_code("not_found")
    }

    /// 404 for a model no group or alias answers to.
    pub fn unknown_model(model: &str) -> Self {
        Self::new(
            404,
            "invalid_request_error",
            format!("The model `{model}` does not exist or you do not have access to it."),
        )
        .with_param("model")
        .with_code("model_not_found")
    }

    /// 405 with the allowed method named (`sk-` path segments masked).
    pub fn method_not_allowed(method: &str, path: &str, allow: &'static str) -> Self {
        let path = crate::keys::secret::display_path(path);
        let mut e = Self::new(
            405,
            "invalid_request_error",
            format!("Method {method} is not allowed on {path}; use {allow}"),
        )
        .with_code("method_not_allowed");
        e.headers.push(("allow", allow.to_string()));
        e
    }

    /// 413 naming the configured limit.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "invalid_request_error",
            format!(
                "Request body is larger than the limit of {limit} bytes \
                 (general_settings.max_request_size_mb)"
            ),
        )
        .with_code("request_too_large")
    }

    /// 429 in OpenAI's shape: `type` is what ran out (`requests` or `tokens`).
    pub fn rate_limited(kind: &'static str, message: impl Into<String>) -> Self {
        Self::new(429, kind, message).with_code("rate_limit_exceeded")
    }

    /// 500-class error that is the gateway's own fault.
    pub fn internal(status: u16, message: impl Into<String>) -> Self {
        let mut e = Self::new(status, "server_error", message);
        e.fault = Fault::Internal;
        e
    }

    /// An error caused by the provider (bad body, failed translation of its answer).
    pub fn upstream(status: u16, message: impl Into<String>) -> Self {
        let mut e = Self::new(status, "upstream_error", message);
        e.fault = Fault::Upstream;
        e
    }

    /// Sets the `type` field.
    pub fn with_kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    /// Sets the `param` field.
    pub fn with_param(mut self, param: &'static str) -> Self {
        self.param = Some(param);
        self
    }

    /// Marks the error as a refusal by a key limit (see [`ApiError::limit`]).
    pub fn with_limit(mut self, limit: &'static str) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Sets the `code` field.
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// The OpenAI error body: `{"error":{"message","type","param","code"}}`.
    pub fn openai_body(&self) -> Vec<u8> {
        json!({"error": {
            "message": self.message,
            "type": self.kind,
            "param": self.param,
            "code": self.code,
        }})
        .to_string()
        .into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_shape() {
        let e = ApiError::unknown_model("nope");
        let v: serde_json::Value = serde_json::from_slice(&e.openai_body()).unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["param"], "model");
        assert_eq!(v["error"]["code"], "model_not_found");
        assert!(v["error"]["message"].as_str().unwrap().contains("`nope`"));
        let v: serde_json::Value =
            serde_json::from_slice(&ApiError::bad_request("x").openai_body()).unwrap();
        assert!(v["error"]["param"].is_null() && v["error"]["code"].is_null());
    }

    #[test]
    fn paths_in_messages_never_repeat_a_key() {
        let e = ApiError::unknown_route("POST", "/v1/sk-secret-value-1/x");
        assert_eq!(e.message, "Invalid URL (POST /v1/sk-...ue-1/x)");
        let e = ApiError::method_not_allowed("GET", "/key/sk-secret-value-1/regenerate", "POST");
        assert!(!e.message.contains("sk-secret-value-1"), "{}", e.message);
        assert_eq!(
            ApiError::unknown_route("POST", "/v1/nope").message,
            "Invalid URL (POST /v1/nope)"
        );
    }
}
