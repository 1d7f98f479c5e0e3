//! Which gateway endpoint a method and path address.

use crate::error::ApiError;

/// An endpoint the gateway serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// OpenAI chat completions.
    ChatCompletions,
    /// OpenAI model list.
    Models,
    /// Liveness/readiness probe; unauthenticated.
    Health,
}

impl Endpoint {
    /// True when the endpoint reads a request body.
    pub fn has_body(self) -> bool {
        matches!(self, Endpoint::ChatCompletions)
    }

    /// True when the endpoint needs a key.
    pub fn needs_auth(self) -> bool {
        !matches!(self, Endpoint::Health)
    }
}

/// Splits `:path` into path and query (without the `?`).
pub fn split_path(full: &str) -> (&str, &str) {
    match full.split_once('?') {
        Some((p, q)) => (p, q),
        None => (full, ""),
    }
}

/// Classifies a request; unknown paths are 404, wrong methods 405.
pub fn classify(method: &str, path: &str) -> Result<Endpoint, ApiError> {
    let (endpoint, allow) = match path.trim_end_matches('/') {
        "/v1/chat/completions" | "/chat/completions" => (Endpoint::ChatCompletions, "POST"),
        "/v1/models" | "/models" => (Endpoint::Models, "GET"),
        "/health" | "/health/liveliness" | "/health/liveness" | "/health/readiness" => {
            (Endpoint::Health, "GET")
        }
        _ => return Err(ApiError::unknown_route(method, path)),
    };
    if method == allow || (allow == "GET" && method == "HEAD") {
        Ok(endpoint)
    } else {
        Err(ApiError::method_not_allowed(method, path, allow))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        assert_eq!(
            classify("POST", "/v1/chat/completions"),
            Ok(Endpoint::ChatCompletions)
        );
        assert_eq!(
            classify("POST", "/chat/completions/"),
            Ok(Endpoint::ChatCompletions)
        );
        assert_eq!(classify("GET", "/models"), Ok(Endpoint::Models));
        assert_eq!(classify("GET", "/health/readiness"), Ok(Endpoint::Health));
        assert_eq!(
            classify("GET", "/v1/chat/completions").unwrap_err().status,
            405
        );
        assert_eq!(classify("POST", "/v1/models").unwrap_err().status, 405);
        assert_eq!(classify("POST", "/v1/nope").unwrap_err().status, 404);
    }

    #[test]
    fn splits_query() {
        assert_eq!(split_path("/a?b=1"), ("/a", "b=1"));
        assert_eq!(split_path("/a"), ("/a", ""));
    }
}
