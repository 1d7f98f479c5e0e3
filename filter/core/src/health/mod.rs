//! Active health checks and the health routes.
//!
//! With `general_settings.background_health_checks`, every worker's root context
//! ticks; at each tick it asks [`lease::try_acquire`] whether a round is due. The
//! lease lives in the shared store (one per Envoy process) and is taken with a
//! versioned write, so exactly one worker wins each interval. That worker sends
//! the requests [`check::plan`] builds (one cheap request per deployment, in the
//! provider's own format), and hands each answer to [`check::interpret`] and
//! [`state::record`]: the result is stored per deployment and drives the
//! deployment's circuit breaker (a failure opens it for the cooldown, a pass
//! closes a half-open one).
//!
//! [`routes::reply`] serves `/health/liveliness` (and `/health/liveness`),
//! `/health/readiness` and `/health` from that stored state; none of them calls a
//! provider.

pub mod check;
pub mod lease;
pub mod routes;
pub mod state;

/// `health_check_interval` when absent (LiteLLM's default: 300 s).
pub const DEFAULT_INTERVAL_MS: u64 = 300_000;
/// Shortest accepted `health_check_interval`.
pub const MIN_INTERVAL_MS: u64 = 1_000;
/// `health_check_timeout` when absent.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;

/// The health-check part of the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `general_settings.background_health_checks`.
    pub background: bool,
    /// Time between two rounds, in ms.
    pub interval_ms: u64,
    /// Time one check may take, in ms (as configured; see [`Settings::check_timeout_ms`]).
    pub timeout_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            background: false,
            interval_ms: DEFAULT_INTERVAL_MS,
            timeout_ms: DEFAULT_TIMEOUT_MS,
        }
    }
}

impl Settings {
    /// The timeout a check is sent with: never longer than the interval, so a
    /// round's answers are in before the next round starts.
    pub fn check_timeout_ms(&self) -> u64 {
        self.timeout_ms.min(self.interval_ms).max(1)
    }

    /// How often each worker ticks to look at the lease: a quarter of the interval,
    /// between 100 ms and 1 s. Rounds start at most one tick late and never drift
    /// (the lease keeps a fixed schedule).
    pub fn tick_ms(&self) -> u64 {
        (self.interval_ms / 4).clamp(100, 1_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_and_ticks() {
        let s = Settings::default();
        assert_eq!(s.check_timeout_ms(), 10_000);
        assert_eq!(s.tick_ms(), 1_000);
        let short = Settings {
            background: true,
            interval_ms: 1_000,
            timeout_ms: 10_000,
        };
        assert_eq!(short.check_timeout_ms(), 1_000);
        assert_eq!(short.tick_ms(), 250);
    }
}
