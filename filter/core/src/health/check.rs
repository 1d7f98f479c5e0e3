//! One health check: the request a deployment is sent, and what its answer means.
//!
//! Chat deployments get the cheapest call their provider serves: a one-token chat
//! completion (OpenAI), Messages (Anthropic) or generateContent (Gemini) request
//! in that provider's own format, with the deployment's credential. Embedding
//! deployments get an embeddings call with a one-word input. The shim sends the
//! request with `dispatch_http_call` to the deployment's cluster and hands the
//! status and body back to [`interpret`].

use crate::config::{Config, Deployment};
use crate::provider::Provider;
use crate::providers::{anthropic, gemini, openai};
use serde_json::{json, Value};

/// The prompt (or embeddings input) every check sends.
pub const PROMPT: &str = "ping";
/// `user-agent` of check requests, so provider logs can tell them apart.
pub const USER_AGENT: &str = concat!("tollgate-health-check/", env!("CARGO_PKG_VERSION"));
/// Longest error message kept for a failed check.
pub const MAX_ERROR_CHARS: usize = 300;

/// What a deployment serves, and so which call checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Chat / completion models: a one-token generation.
    Chat,
    /// Embedding models: one short input.
    Embedding,
}

/// The kind of check a deployment gets; None when it is not checked
/// (`disable_background_health_check`, a mode the gateway does not serve, Azure,
/// or embeddings on a provider without an embeddings API).
pub fn kind(dep: &Deployment) -> Option<Kind> {
    if !dep.health_check {
        return None;
    }
    let kind = match dep.mode.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("embedding" | "embeddings") => Kind::Embedding,
        Some("chat" | "completion" | "responses") => Kind::Chat,
        Some(_) => return None,
        None if check_model(dep).to_ascii_lowercase().contains("embed") => Kind::Embedding,
        None => Kind::Chat,
    };
    match (dep.provider, kind) {
        (Provider::Azure, _) | (Provider::Anthropic, Kind::Embedding) => None,
        _ => Some(kind),
    }
}

/// The model a check asks for: `model_info.health_check_model`, else the deployment's.
pub fn check_model(dep: &Deployment) -> &str {
    dep.health_check_model.as_deref().unwrap_or(&dep.model)
}

/// A check request, ready for `dispatch_http_call`.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRequest {
    /// Index of the deployment in [`Config::deployments`].
    pub index: usize,
    /// Deployment id.
    pub deployment_id: String,
    /// Envoy cluster to send it to.
    pub cluster: String,
    /// Headers, pseudo-headers (`:method`, `:path`, `:authority`) first.
    pub headers: Vec<(&'static str, String)>,
    /// JSON body.
    pub body: Vec<u8>,
    /// How long to wait for the answer.
    pub timeout_ms: u64,
    /// Chat or embeddings.
    pub kind: Kind,
}

impl CheckRequest {
    /// The provider credential in the headers (to scrub from error messages).
    pub fn secrets(dep: &Deployment) -> Vec<String> {
        dep.api_key.iter().cloned().collect()
    }
}

/// Every check of a round, in config order.
pub fn plan(cfg: &Config) -> Vec<CheckRequest> {
    cfg.deployments
        .iter()
        .enumerate()
        .filter_map(|(i, d)| build(cfg, i, d))
        .collect()
}

/// The check request for one deployment; None when it is not checked.
pub fn build(cfg: &Config, index: usize, dep: &Deployment) -> Option<CheckRequest> {
    let kind = kind(dep)?;
    let model = check_model(dep);
    let base = &dep.upstream.base_path;
    let mut headers: Vec<(&'static str, String)> = Vec::new();
    let (path, body) = match (dep.provider, kind) {
        (Provider::OpenAi, Kind::Chat) => {
            headers.extend(openai::auth_header(dep));
            (
                openai::path(dep, "/chat/completions", ""),
                json!({"model": model, "messages": [{"role": "user", "content": PROMPT}],
                       "max_tokens": 1}),
            )
        }
        (Provider::OpenAi, Kind::Embedding) => {
            headers.extend(openai::auth_header(dep));
            (
                openai::path(dep, "/embeddings", ""),
                json!({"model": model, "input": PROMPT}),
            )
        }
        (Provider::Anthropic, Kind::Chat) => {
            headers.extend(anthropic::auth_header(dep));
            headers.push((
                "anthropic-version",
                anthropic::ANTHROPIC_VERSION.to_string(),
            ));
            (
                anthropic::upstream_path(base),
                json!({"model": model, "max_tokens": 1,
                       "messages": [{"role": "user", "content": PROMPT}]}),
            )
        }
        (Provider::Gemini, Kind::Chat) => {
            headers.extend(gemini::auth_header(dep));
            (
                gemini::upstream_path(base, model, false),
                json!({"contents": [{"role": "user", "parts": [{"text": PROMPT}]}],
                       "generationConfig": {"maxOutputTokens": 1}}),
            )
        }
        (Provider::Gemini, Kind::Embedding) => {
            headers.extend(gemini::auth_header(dep));
            let bare = model.strip_prefix("models/").unwrap_or(model);
            (
                format!("{}:embedContent", gemini::model_path(base, model)),
                json!({"model": format!("models/{bare}"),
                       "content": {"parts": [{"text": PROMPT}]}}),
            )
        }
        (Provider::Anthropic, Kind::Embedding) | (Provider::Azure, _) => return None,
    };
    let body = body.to_string().into_bytes();
    let mut all = vec![
        (":method", "POST".to_string()),
        (":path", path),
        (":authority", dep.upstream.authority.clone()),
        ("content-type", "application/json".to_string()),
        ("content-length", body.len().to_string()),
        ("user-agent", USER_AGENT.to_string()),
    ];
    all.extend(headers);
    Some(CheckRequest {
        index,
        deployment_id: dep.id.clone(),
        cluster: dep.upstream.cluster.clone(),
        headers: all,
        body,
        timeout_ms: cfg.health.check_timeout_ms(),
        kind,
    })
}

/// The answer to a check as the shim saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer<'a> {
    /// `:status`; None when no response came (connection failure, reset, timeout).
    pub status: Option<u16>,
    /// Response body (possibly cut short by the shim).
    pub body: &'a [u8],
    /// Time from dispatch to answer.
    pub elapsed_ms: u64,
    /// The timeout the check was sent with.
    pub timeout_ms: u64,
}

/// Healthy, or why not. A 2xx with a JSON body passes; anything else fails with a
/// message naming the status and the provider's own error message. The
/// deployment's credential (`secrets`) never appears in the message.
pub fn interpret(answer: &Answer<'_>, secrets: &[String]) -> Result<(), String> {
    let message = match answer.status {
        None if answer.elapsed_ms >= answer.timeout_ms => {
            format!("no response within {} ms (timeout)", answer.timeout_ms)
        }
        None => "no response: the connection failed or was reset".to_string(),
        Some(s) if (200..300).contains(&s) => {
            return match serde_json::from_slice::<Value>(answer.body) {
                Ok(Value::Object(_)) => Ok(()),
                _ => Err(format!("HTTP {s}, but the body is not a JSON object")),
            }
        }
        Some(s) => match provider_message(answer.body) {
            Some(m) => format!("HTTP {s}: {m}"),
            None => format!("HTTP {s}"),
        },
    };
    Err(clean(&message, secrets))
}

/// The message of an OpenAI, Anthropic or Gemini error body (all three keep it at
/// `error.message`), else a short plain-text body (Envoy's own replies).
fn provider_message(body: &[u8]) -> Option<String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => {
            let m = v
                .pointer("/error/message")
                .or_else(|| v.get("message"))
                .or_else(|| v.get("error"))
                .or_else(|| v.get("detail"))?;
            match m {
                Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            }
        }
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            (!text.is_empty()).then(|| text.to_string())
        }
    }
}

/// Scrubs credentials, flattens whitespace and bounds the length.
fn clean(message: &str, secrets: &[String]) -> String {
    let scrubbed = crate::exchange::response::scrub_secrets(message.as_bytes(), secrets)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|| message.to_string());
    let flat: String = scrubbed
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if flat.chars().count() <= MAX_ERROR_CHARS {
        return flat;
    }
    let mut cut: String = flat.chars().take(MAX_ERROR_CHARS - 3).collect();
    cut.push_str("...");
    cut
}

#[cfg(test)]
mod tests;
