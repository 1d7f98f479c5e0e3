//! Which gateway endpoint a method and path address.

use crate::error::ApiError;

/// The API format a client speaks on an endpoint; errors come back in it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientApi {
    /// OpenAI chat completions.
    Chat,
    /// OpenAI Responses.
    Responses,
    /// OpenAI embeddings.
    Embeddings,
    /// Anthropic Messages.
    Anthropic,
    /// Gemini generateContent / streamGenerateContent.
    Gemini,
}

/// An endpoint the gateway serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A model call in the given client format; `path_model` is set for Gemini routes.
    Inference {
        /// Client API format.
        api: ClientApi,
        /// Model named in the path (Gemini), if any.
        path_model: Option<String>,
        /// Gemini `:streamGenerateContent` (streaming is in the path, not the body).
        path_stream: bool,
    },
    /// `/anthropic/*` or `/gemini/*` outside the translated routes: forwarded to a
    /// deployment of that provider with the credential substituted.
    Passthrough {
        /// Provider the prefix names.
        provider: crate::provider::Provider,
        /// Path after the prefix, e.g. `/v1/messages/count_tokens`.
        rest: String,
    },
    /// The key management API (`/key/...`); methods are checked by its handler.
    Keys,
    /// Spend reports (`/spend/...`, `/global/spend/...`), GET only.
    Spend,
    /// OpenAI model list.
    Models,
    /// A health route (see [`HealthRoute`]).
    Health(HealthRoute),
    /// `/ui`: the spend dashboard page (the data it loads needs an admin key).
    Ui,
}

/// Which health route was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthRoute {
    /// `/health/liveliness`, `/health/liveness`: the process is up; unauthenticated.
    Liveness,
    /// `/health/readiness`: every model group has a usable deployment; unauthenticated.
    Readiness,
    /// `/health`: per-deployment health; admin only.
    Endpoints,
}

impl Endpoint {
    /// True when the endpoint reads a request body.
    pub fn has_body(&self) -> bool {
        matches!(
            self,
            Endpoint::Inference { .. } | Endpoint::Passthrough { .. }
        )
    }

    /// True when the endpoint needs a key.
    pub fn needs_auth(&self) -> bool {
        !matches!(
            self,
            Endpoint::Health(HealthRoute::Liveness | HealthRoute::Readiness) | Endpoint::Ui
        )
    }

    /// The client API whose error format replies use.
    pub fn api(&self) -> ClientApi {
        match self {
            Endpoint::Inference { api, .. } => *api,
            _ => ClientApi::Chat,
        }
    }
}

/// Splits `:path` into path and query (without the `?`).
pub fn split_path(full: &str) -> (&str, &str) {
    match full.split_once('?') {
        Some((p, q)) => (p, q),
        None => (full, ""),
    }
}

fn inference(api: ClientApi) -> Endpoint {
    Endpoint::Inference {
        api,
        path_model: None,
        path_stream: false,
    }
}

/// Classifies a request; unknown paths are 404, wrong methods 405.
pub fn classify(method: &str, path: &str) -> Result<Endpoint, ApiError> {
    let trimmed = path.trim_end_matches('/');
    if trimmed.starts_with("/key/") {
        return Ok(Endpoint::Keys);
    }
    if trimmed.starts_with("/spend/") || trimmed.starts_with("/global/spend/") {
        return Ok(Endpoint::Spend);
    }
    // `/anthropic/...` and `/gemini/...` are the provider-prefixed spellings LiteLLM
    // users know; they reach the same translated routes.
    let unprefixed = trimmed
        .strip_prefix("/anthropic")
        .or_else(|| trimmed.strip_prefix("/gemini"))
        .unwrap_or(trimmed);
    let (endpoint, allow) = match unprefixed {
        "/v1/chat/completions" | "/chat/completions" => (inference(ClientApi::Chat), "POST"),
        "/v1/responses" | "/responses" => (inference(ClientApi::Responses), "POST"),
        "/v1/embeddings" | "/embeddings" => (inference(ClientApi::Embeddings), "POST"),
        "/v1/messages" => (inference(ClientApi::Anthropic), "POST"),
        "/v1/models" | "/models" => (Endpoint::Models, "GET"),
        "/health" => (Endpoint::Health(HealthRoute::Endpoints), "GET"),
        "/health/liveliness" | "/health/liveness" => {
            (Endpoint::Health(HealthRoute::Liveness), "GET")
        }
        "/health/readiness" => (Endpoint::Health(HealthRoute::Readiness), "GET"),
        "/ui" => (Endpoint::Ui, "GET"),
        other => match gemini_route(other) {
            Some(e) => (e, "POST"),
            None => match passthrough(trimmed) {
                Some(e) => return Ok(e),
                None => return Err(ApiError::unknown_route(method, path)),
            },
        },
    };
    if method == allow || (allow == "GET" && method == "HEAD") {
        Ok(endpoint)
    } else {
        Err(ApiError::method_not_allowed(method, path, allow))
    }
}

/// Any other path under a provider prefix, any method.
fn passthrough(path: &str) -> Option<Endpoint> {
    use crate::provider::Provider;
    let (provider, rest) = if let Some(r) = path.strip_prefix("/anthropic/") {
        (Provider::Anthropic, r)
    } else if let Some(r) = path.strip_prefix("/gemini/") {
        (Provider::Gemini, r)
    } else {
        return None;
    };
    // Dot segments could climb out of the provider's API prefix on the upstream,
    // percent-encoded ones (`%2e%2e`, `..%2f`) too if the provider decodes them.
    let decoded = crate::keys::query::decode(rest, false);
    if rest.is_empty() || decoded.split('/').any(|s| s == ".." || s == ".") {
        return None;
    }
    Some(Endpoint::Passthrough {
        provider,
        rest: format!("/{rest}"),
    })
}

/// `/v1beta/models/{model}:generateContent` (or v1, or `:streamGenerateContent`).
fn gemini_route(path: &str) -> Option<Endpoint> {
    let rest = path
        .strip_prefix("/v1beta/models/")
        .or_else(|| path.strip_prefix("/v1/models/"))?;
    let (model, method) = rest.rsplit_once(':')?;
    let stream = match method {
        "generateContent" => false,
        "streamGenerateContent" => true,
        _ => return None,
    };
    if model.is_empty() || model.contains('/') {
        return None;
    }
    Some(Endpoint::Inference {
        api: ClientApi::Gemini,
        path_model: Some(model.to_string()),
        path_stream: stream,
    })
}

/// Removes `key=` from a query string (Gemini clients may put the gateway key there).
pub fn strip_key_param(query: &str) -> String {
    query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("key="))
        .collect::<Vec<_>>()
        .join("&")
}

/// Query parameters whose values are credentials: `?key=` (Gemini SDKs, /key/info)
/// and `?api_key=` (/spend/logs).
const SECRET_PARAMS: [&str; 2] = ["key", "api_key"];

/// `:path` with the credentials it may carry masked, for Envoy's access log; None
/// when there is nothing to mask. Masked: the values of `key` and `api_key`
/// query parameters and any other value that is an `sk-` key, and path segments
/// that are `sk-` keys (`/key/{key}/regenerate`).
pub fn loggable_path(full: &str) -> Option<String> {
    use crate::keys::{query, secret};
    let (path, q) = split_path(full);
    let shown = secret::display_path(path);
    let mut changed = shown != path;
    let mut out = shown;
    if full.contains('?') {
        let params: Vec<String> = q
            .split('&')
            .map(|p| {
                let (name, value) = p.split_once('=').unwrap_or((p, ""));
                let secret = SECRET_PARAMS.contains(&query::decode(name, true).as_str())
                    || query::decode(value, true).trim().starts_with("sk-");
                if secret && !value.is_empty() {
                    changed = true;
                    format!("{name}=[redacted]")
                } else {
                    p.to_string()
                }
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    changed.then_some(out)
}

/// The `key=` query parameter, if present.
pub fn key_param(query: &str) -> Option<&str> {
    query.split('&').find_map(|p| p.strip_prefix("key="))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        assert_eq!(
            classify("POST", "/v1/chat/completions"),
            Ok(inference(ClientApi::Chat))
        );
        assert_eq!(
            classify("POST", "/chat/completions/"),
            Ok(inference(ClientApi::Chat))
        );
        assert_eq!(
            classify("POST", "/v1/responses"),
            Ok(inference(ClientApi::Responses))
        );
        assert_eq!(
            classify("POST", "/v1/embeddings"),
            Ok(inference(ClientApi::Embeddings))
        );
        assert_eq!(
            classify("POST", "/v1/messages"),
            Ok(inference(ClientApi::Anthropic))
        );
        assert_eq!(
            classify("POST", "/anthropic/v1/messages"),
            Ok(inference(ClientApi::Anthropic))
        );
        assert_eq!(classify("GET", "/models"), Ok(Endpoint::Models));
        assert_eq!(
            classify("GET", "/health/readiness"),
            Ok(Endpoint::Health(HealthRoute::Readiness))
        );
        for probe in ["/health/liveliness", "/health/liveness/"] {
            let e = classify("GET", probe).unwrap();
            assert_eq!(e, Endpoint::Health(HealthRoute::Liveness));
            assert!(!e.needs_auth());
        }
        let full = classify("GET", "/health").unwrap();
        assert_eq!(full, Endpoint::Health(HealthRoute::Endpoints));
        assert!(full.needs_auth(), "/health is admin only");
        assert!(!classify("HEAD", "/health/readiness").unwrap().needs_auth());
        assert_eq!(
            classify("GET", "/v1/chat/completions").unwrap_err().status,
            405
        );
        assert_eq!(classify("POST", "/v1/models").unwrap_err().status, 405);
        assert_eq!(classify("POST", "/v1/nope").unwrap_err().status, 404);
    }

    #[test]
    fn gemini_paths() {
        let e = classify("POST", "/v1beta/models/gemini-pro:streamGenerateContent").unwrap();
        assert_eq!(
            e,
            Endpoint::Inference {
                api: ClientApi::Gemini,
                path_model: Some("gemini-pro".into()),
                path_stream: true
            }
        );
        assert!(classify("POST", "/gemini/v1beta/models/g:generateContent").is_ok());
        assert_eq!(
            classify("POST", "/anthropic/v1/messages/count_tokens"),
            Ok(Endpoint::Passthrough {
                provider: crate::provider::Provider::Anthropic,
                rest: "/v1/messages/count_tokens".into()
            })
        );
        assert!(matches!(
            classify("GET", "/gemini/v1beta/models"),
            Ok(Endpoint::Passthrough { .. })
        ));
        for traversal in [
            "/anthropic/../admin",
            "/anthropic/%2e%2e/admin",
            "/gemini/v1/%2E%2E/x",
            "/gemini/v1%2f..%2fx",
            "/anthropic/./v1/messages",
        ] {
            assert_eq!(
                classify("GET", traversal).unwrap_err().status,
                404,
                "{traversal}"
            );
        }
        assert_eq!(
            classify("POST", "/v1beta/models/g:countTokens")
                .unwrap_err()
                .status,
            404
        );
        assert_eq!(
            classify("GET", "/v1beta/models/g:generateContent")
                .unwrap_err()
                .status,
            405
        );
    }

    #[test]
    fn query_helpers() {
        assert_eq!(split_path("/a?b=1"), ("/a", "b=1"));
        assert_eq!(split_path("/a"), ("/a", ""));
        assert_eq!(strip_key_param("alt=sse&key=sk-1"), "alt=sse");
        assert_eq!(key_param("alt=sse&key=sk-1"), Some("sk-1"));
    }

    #[test]
    fn loggable_paths_hide_credentials() {
        for (full, want) in [
            (
                "/v1beta/models/g:generateContent?alt=sse&key=AIza-secret",
                Some("/v1beta/models/g:generateContent?alt=sse&key=[redacted]"),
            ),
            (
                "/key/info?key=sk-plain-secret",
                Some("/key/info?key=[redacted]"),
            ),
            (
                "/spend/logs?api_key=sk-x&summarize=false",
                Some("/spend/logs?api_key=[redacted]&summarize=false"),
            ),
            (
                "/key/list?team=sk%2Dencoded-secret",
                Some("/key/list?team=[redacted]"),
            ),
            (
                "/key/sk-path-secret/regenerate",
                Some("/key/sk-...cret/regenerate"),
            ),
            ("/v1/chat/completions", None),
            ("/key/list?key_alias=a&page=1", None),
            ("/key/info?key=", None),
            ("/v1/models?", None),
        ] {
            assert_eq!(loggable_path(full).as_deref(), want, "{full}");
        }
    }
}
