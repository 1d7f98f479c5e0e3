//! How many times a model group is retried for each failure class.

use super::Kind;
use crate::config::raw::RawRetryPolicy;

/// Retries per failure class for one model group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetryPolicy {
    /// 401/403 from the provider.
    pub auth: u32,
    /// Timeouts.
    pub timeout: u32,
    /// 429 and overloaded.
    pub rate_limit: u32,
    /// 5xx, 404 and connection failures.
    pub server: u32,
}

impl RetryPolicy {
    /// Every class retried `n` times.
    pub fn uniform(n: u32) -> Self {
        RetryPolicy {
            auth: n,
            timeout: n,
            rate_limit: n,
            server: n,
        }
    }

    /// router_settings.retry_policy over num_retries.
    pub fn from_raw(raw: Option<&RawRetryPolicy>, num_retries: u32) -> Self {
        let base = Self::uniform(num_retries);
        raw.map_or(base, |r| base.overlay(r))
    }

    /// This policy with the classes `raw` names replaced.
    pub fn overlay(self, raw: &RawRetryPolicy) -> Self {
        RetryPolicy {
            auth: raw.AuthenticationErrorRetries.unwrap_or(self.auth),
            timeout: raw.TimeoutErrorRetries.unwrap_or(self.timeout),
            rate_limit: raw.RateLimitErrorRetries.unwrap_or(self.rate_limit),
            server: raw.InternalServerErrorRetries.unwrap_or(self.server),
        }
    }

    /// Retries allowed for a failure of this class (0 for client errors).
    pub fn retries(&self, kind: Kind) -> u32 {
        match kind {
            Kind::Auth => self.auth,
            Kind::Timeout => self.timeout,
            Kind::RateLimited | Kind::Overloaded => self.rate_limit,
            Kind::Server | Kind::NotFound | Kind::Connect => self.server,
            Kind::ContextWindow | Kind::Client => 0,
        }
    }

    /// The most retries any class gets.
    pub fn max(&self) -> u32 {
        self.auth
            .max(self.timeout)
            .max(self.rate_limit)
            .max(self.server)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_override_num_retries() {
        let raw = RawRetryPolicy {
            RateLimitErrorRetries: Some(4),
            AuthenticationErrorRetries: Some(0),
            ..Default::default()
        };
        let p = RetryPolicy::from_raw(Some(&raw), 2);
        assert_eq!(p.retries(Kind::RateLimited), 4);
        assert_eq!(p.retries(Kind::Overloaded), 4);
        assert_eq!(p.retries(Kind::Auth), 0);
        assert_eq!(p.retries(Kind::Server), 2);
        assert_eq!(p.retries(Kind::Client), 0);
        assert_eq!(p.max(), 4);
    }
}
