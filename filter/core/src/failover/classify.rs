//! What an upstream failure means for failover.
//!
//! The classes follow LiteLLM's: 429, 401/403, 404, 408, 5xx and connection
//! failures count against the deployment (and move the request on); a provider's
//! context-window refusal moves it along `context_window_fallbacks` only; any other
//! 4xx is the client's fault and is answered as is.

/// Failure class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Connection refused or reset before a response started.
    Connect,
    /// No answer within the deployment's timeout (Envoy's 504, a 408).
    Timeout,
    /// 429.
    RateLimited,
    /// 529 or an explicit overloaded error.
    Overloaded,
    /// Any other 5xx.
    Server,
    /// 401/403: the deployment's credential is refused.
    Auth,
    /// 404: the deployment's model or path does not exist.
    NotFound,
    /// The prompt does not fit the model's context window.
    ContextWindow,
    /// Any other 4xx: the request itself is wrong; no other deployment would help.
    Client,
}

impl Kind {
    /// Counts against the deployment's circuit breaker and moves the request on.
    pub fn counts_against_deployment(self) -> bool {
        !matches!(self, Kind::ContextWindow | Kind::Client)
    }

    /// Short name for headers, logs and /health.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Connect => "connect_failure",
            Kind::Timeout => "timeout",
            Kind::RateLimited => "rate_limited",
            Kind::Overloaded => "overloaded",
            Kind::Server => "server_error",
            Kind::Auth => "auth_error",
            Kind::NotFound => "not_found",
            Kind::ContextWindow => "context_window_exceeded",
            Kind::Client => "client_error",
        }
    }
}

/// One failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Class.
    pub kind: Kind,
    /// HTTP status seen (0 when no response came back at all).
    pub status: u16,
    /// The provider's retry-after, in ms.
    pub retry_after_ms: Option<u64>,
    /// Short description (the provider's message when it gave one).
    pub message: String,
}

/// Longest message kept from a provider error.
const MESSAGE_LIMIT: usize = 300;

/// Whether a response with this status may start a failover, so the shim holds it
/// instead of sending it on. A 400 is held only when a context-window chain exists,
/// since only its body tells a context-window refusal from other client errors.
pub fn may_fail_over(status: u16, context_chain: bool) -> bool {
    match status {
        408 | 429 | 401 | 403 | 404 => true,
        400 | 413 | 422 => context_chain,
        s => s >= 500,
    }
}

/// Classifies a response; None when it is not a failure (status < 400).
/// `local` marks Envoy's own replies (code details other than `via_upstream`).
pub fn classify(
    status: u16,
    code_details: Option<&str>,
    retry_after: Option<&str>,
    body: &[u8],
) -> Option<Failure> {
    if (100..400).contains(&status) {
        return None;
    }
    let details = code_details.unwrap_or("via_upstream");
    let local = details != "via_upstream";
    let kind = if local {
        if details.contains("timeout") {
            Kind::Timeout
        } else {
            Kind::Connect
        }
    } else {
        match status {
            408 | 504 => Kind::Timeout,
            429 => Kind::RateLimited,
            529 => Kind::Overloaded,
            401 | 403 => Kind::Auth,
            404 => Kind::NotFound,
            s if s >= 500 => {
                if contains_any(body, &["overloaded"]) {
                    Kind::Overloaded
                } else {
                    Kind::Server
                }
            }
            _ if is_context_window(body) => Kind::ContextWindow,
            _ => Kind::Client,
        }
    };
    let message = if local {
        format!("{status} from Envoy ({details})")
    } else {
        provider_message(body).unwrap_or_else(|| format!("HTTP {status}"))
    };
    Some(Failure {
        kind,
        status,
        retry_after_ms: retry_after.and_then(parse_retry_after),
        message,
    })
}

/// A failure with no response at all (a callout that timed out or never connected).
pub fn no_response(timed_out: bool) -> Failure {
    Failure {
        kind: if timed_out {
            Kind::Timeout
        } else {
            Kind::Connect
        },
        status: 0,
        retry_after_ms: None,
        message: if timed_out {
            "no response within the deployment timeout".into()
        } else {
            "connection to the provider failed".into()
        },
    }
}

/// `retry-after` in seconds (integer or decimal); HTTP dates are not honoured.
pub fn parse_retry_after(v: &str) -> Option<u64> {
    let secs: f64 = v.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| (secs * 1000.0).min(86_400_000.0) as u64)
}

/// OpenAI, Anthropic and Gemini all put a readable message at `error.message`.
fn provider_message(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let m = v.pointer("/error/message")?.as_str()?;
    let mut m: String = m.chars().filter(|c| !c.is_control()).collect();
    if m.len() > MESSAGE_LIMIT {
        let mut cut = MESSAGE_LIMIT;
        while !m.is_char_boundary(cut) {
            cut -= 1;
        }
        m.truncate(cut);
        m.push('…');
    }
    Some(m)
}

/// The phrases OpenAI, Anthropic and Gemini use when a prompt is over the window.
fn is_context_window(body: &[u8]) -> bool {
    contains_any(
        body,
        &[
            "context_length_exceeded",
            "maximum context length",
            "context window",
            "prompt is too long",
            "input is too long",
            "exceeds the maximum number of tokens",
            "input token count",
        ],
    )
}

fn contains_any(body: &[u8], needles: &[&str]) -> bool {
    let text = String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]).to_lowercase();
    needles.iter().any(|n| text.contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(status: u16, details: Option<&str>, body: &str) -> Kind {
        classify(status, details, None, body.as_bytes())
            .unwrap()
            .kind
    }

    #[test]
    fn classes_follow_litellm() {
        assert!(classify(200, None, None, b"").is_none());
        assert_eq!(kind(429, None, ""), Kind::RateLimited);
        assert_eq!(kind(500, None, ""), Kind::Server);
        assert_eq!(kind(503, None, ""), Kind::Server);
        assert_eq!(kind(529, None, ""), Kind::Overloaded);
        assert_eq!(
            kind(
                500,
                None,
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
            ),
            Kind::Overloaded
        );
        assert_eq!(kind(401, None, ""), Kind::Auth);
        assert_eq!(kind(404, None, ""), Kind::NotFound);
        assert_eq!(kind(408, None, ""), Kind::Timeout);
        assert_eq!(
            kind(400, None, r#"{"error":{"message":"bad"}}"#),
            Kind::Client
        );
        assert!(!Kind::Client.counts_against_deployment());
        assert!(Kind::Auth.counts_against_deployment());
    }

    #[test]
    fn envoy_replies_are_connect_failures_or_timeouts() {
        let reset = "upstream_reset_before_response_started{connection_failure}";
        assert_eq!(kind(503, Some(reset), ""), Kind::Connect);
        assert_eq!(
            kind(504, Some("upstream_response_timeout"), ""),
            Kind::Timeout
        );
        assert_eq!(kind(503, Some("no_healthy_upstream"), ""), Kind::Connect);
    }

    #[test]
    fn context_window_errors_of_each_provider() {
        for body in [
            r#"{"error":{"message":"This model's maximum context length is 128000 tokens.","code":"context_length_exceeded"}}"#,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#,
            r#"{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#,
        ] {
            assert_eq!(kind(400, None, body), Kind::ContextWindow, "{body}");
        }
    }

    #[test]
    fn message_and_retry_after() {
        let f = classify(
            429,
            None,
            Some("7"),
            br#"{"error":{"message":"Rate limit reached"}}"#,
        )
        .unwrap();
        assert_eq!(f.retry_after_ms, Some(7000));
        assert_eq!(f.message, "Rate limit reached");
        assert_eq!(parse_retry_after("0.5"), Some(500));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
        let long = format!(r#"{{"error":{{"message":"{}"}}}}"#, "é".repeat(400));
        let f = classify(500, None, None, long.as_bytes()).unwrap();
        assert!(f.message.len() <= MESSAGE_LIMIT + 3);
    }

    #[test]
    fn which_statuses_are_held() {
        assert!(may_fail_over(503, false));
        assert!(may_fail_over(429, false));
        assert!(!may_fail_over(400, false));
        assert!(may_fail_over(400, true));
        assert!(!may_fail_over(200, true));
    }
}
