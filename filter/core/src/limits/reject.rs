//! What a client is told about its rate limits: the x-ratelimit-* headers and the
//! 429 errors, in OpenAI's shape.

use crate::error::ApiError;
use crate::keys::KeyRecord;

/// One limit and the count against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// The limit.
    pub limit: u64,
    /// Counted so far in the window.
    pub used: u64,
}

impl Usage {
    fn remaining(self) -> u64 {
        self.limit.saturating_sub(self.used)
    }
}

/// Of two limits on the same quantity, the one with the least room: what the client
/// is really held to.
pub fn tightest(a: Option<Usage>, b: Option<Usage>) -> Option<Usage> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.remaining() < a.remaining() { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// Seconds until the one-minute window of `now` ends; at least 1.
pub fn window_reset(now: u64) -> u64 {
    60 - now % 60
}

/// x-ratelimit-* headers for the request and token limits the key has.
pub fn rate_headers(
    requests: Option<Usage>,
    tokens: Option<Usage>,
    now: u64,
) -> Vec<(&'static str, String)> {
    let reset = format!("{}s", window_reset(now));
    let mut out = Vec::new();
    if let Some(u) = requests {
        out.push(("x-ratelimit-limit-requests", u.limit.to_string()));
        out.push(("x-ratelimit-remaining-requests", u.remaining().to_string()));
        out.push(("x-ratelimit-reset-requests", reset.clone()));
    }
    if let Some(u) = tokens {
        out.push(("x-ratelimit-limit-tokens", u.limit.to_string()));
        out.push(("x-ratelimit-remaining-tokens", u.remaining().to_string()));
        out.push(("x-ratelimit-reset-tokens", reset));
    }
    out
}

/// How a key is named in errors: its alias, else its masked form; never the secret.
pub fn key_label(key: &KeyRecord) -> &str {
    match key.key_alias.as_deref() {
        Some(alias) if !alias.is_empty() => alias,
        _ if !key.key_name.is_empty() => &key.key_name,
        _ => "(unnamed)",
    }
}

/// Which limit refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limit<'a> {
    /// max_parallel_requests.
    Parallel(u64),
    /// rpm_limit.
    Rpm(u64),
    /// tpm_limit: the limit, the count so far, what this request needs.
    Tpm(u64, u64, u64),
    /// model_rpm_limit for a model group.
    ModelRpm(&'a str, u64),
    /// model_tpm_limit for a model group: the limit, the count so far, what this request needs.
    ModelTpm(&'a str, u64, u64, u64),
}

impl Limit<'_> {
    /// The limit's name in the rejections metric.
    pub fn name(&self) -> &'static str {
        match self {
            Limit::Parallel(_) => "parallel",
            Limit::Rpm(_) => "rpm",
            Limit::Tpm(..) => "tpm",
            Limit::ModelRpm(..) => "model_rpm",
            Limit::ModelTpm(..) => "model_tpm",
        }
    }
}

/// The 429 for `limit`, with retry-after and the x-ratelimit headers.
pub fn rate_limited(
    key: &KeyRecord,
    limit: &Limit,
    headers: Vec<(&'static str, String)>,
    now: u64,
) -> ApiError {
    let reset = window_reset(now);
    let (what, kind, retry) = match *limit {
        Limit::Parallel(max) => (
            format!("max_parallel_requests {max} reached"),
            "requests",
            1,
        ),
        Limit::Rpm(max) => (format!("rpm_limit {max} reached"), "requests", reset),
        Limit::ModelRpm(group, max) => (
            format!("model_rpm_limit {max} for model '{group}' reached"),
            "requests",
            reset,
        ),
        Limit::Tpm(max, used, need) => (
            tokens(&format!("tpm_limit {max}"), max, used, need),
            "tokens",
            reset,
        ),
        Limit::ModelTpm(group, max, used, need) => (
            tokens(
                &format!("model_tpm_limit {max} for model '{group}'"),
                max,
                used,
                need,
            ),
            "tokens",
            reset,
        ),
    };
    let mut message = format!("Rate limit exceeded for key '{}': {what}", key_label(key));
    if !matches!(limit, Limit::Parallel(_)) {
        message.push_str(&format!("; resets in {reset}s"));
    }
    let mut e = ApiError::rate_limited(kind, message).with_limit(limit.name());
    e.headers.push(("retry-after", retry.to_string()));
    e.headers.extend(headers);
    e
}

/// `limit` names the limit with its value ("tpm_limit 1000").
fn tokens(limit: &str, max: u64, used: u64, need: u64) -> String {
    if need > max {
        format!("{limit} is below this request's estimate of {need} tokens")
    } else if used >= max {
        format!("{limit} reached")
    } else {
        format!("{limit} reached ({used} used, this request may use up to {need})")
    }
}
