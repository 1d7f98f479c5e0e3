//! Check results in the shared store, and what they do to the circuit breaker.
//!
//! One value per deployment (`tollgate/health/dep/{id}`), written by the worker
//! that ran the check and read by every worker's `/health`. Results are plain
//! overwrites: a round has one writer per deployment.

use crate::config::Config;
use crate::failover::breaker;
use crate::keys::KeyStore;
use serde::{Deserialize, Serialize};

/// Store key of a deployment's last check result.
pub fn result_key(deployment_id: &str) -> String {
    format!("tollgate/health/dep/{deployment_id}")
}

/// The last check of a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The check passed.
    pub healthy: bool,
    /// Why it failed (credentials scrubbed); None when it passed.
    #[serde(default)]
    pub error: Option<String>,
    /// When the answer came (unix ms).
    pub checked_at: u64,
    /// Time from dispatch to answer, in ms.
    pub latency_ms: u64,
}

/// Reads a deployment's last result; None when it was never checked (or the
/// value is unreadable).
pub fn read(store: &dyn KeyStore, deployment_id: &str) -> Option<CheckResult> {
    let (bytes, _) = store.get(&result_key(deployment_id))?;
    serde_json::from_slice(&bytes).ok()
}

/// What recording a result did to the deployment's breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Nothing changed state.
    None,
    /// The failed check opened the breaker (cooldown starts now).
    Opened,
    /// The passing check closed a half-open breaker.
    Closed,
}

/// What [`record`] saw and did, for the shim's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// The previous result was a pass (or there was none).
    pub was_healthy: bool,
    /// The breaker change.
    pub effect: Effect,
}

/// Stores a check result and applies it to the breaker: a failure opens it for
/// `router_settings.cooldown_time`; a pass closes it if it is half-open (an open
/// breaker keeps its cooldown).
pub fn record(
    store: &dyn KeyStore,
    cfg: &Config,
    deployment_id: &str,
    outcome: &Result<(), String>,
    now_ms: u64,
    latency_ms: u64,
) -> Recorded {
    let was_healthy = read(store, deployment_id).is_none_or(|r| r.healthy);
    let result = CheckResult {
        healthy: outcome.is_ok(),
        error: outcome.as_ref().err().cloned(),
        checked_at: now_ms,
        latency_ms,
    };
    if let Ok(bytes) = serde_json::to_vec(&result) {
        // A failed write only loses this report; the breaker below still applies.
        let _ = store.set(&result_key(deployment_id), &bytes, None);
    }
    let effect = match outcome {
        Err(_) => {
            if breaker::open(store, deployment_id, cfg.cooldown_ms, now_ms) {
                Effect::Opened
            } else {
                Effect::None
            }
        }
        Ok(()) => {
            let before = breaker::status(store, deployment_id, now_ms);
            breaker::close(store, deployment_id, now_ms);
            let after = breaker::status(store, deployment_id, now_ms);
            if before != after && after == breaker::Status::Closed {
                Effect::Closed
            } else {
                Effect::None
            }
        }
    };
    Recorded {
        was_healthy,
        effect,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failover::breaker::Status;
    use crate::keys::store::MemStore;

    fn cfg() -> Config {
        Config {
            cooldown_ms: 5_000,
            ..Config::default()
        }
    }

    #[test]
    fn a_failed_check_opens_the_breaker_and_a_pass_closes_it_after_cooldown() {
        let s = MemStore::default();
        let c = cfg();
        let fail = Err("HTTP 500: boom".to_string());
        let r = record(&s, &c, "d", &fail, 1_000, 12);
        assert_eq!(
            r,
            Recorded {
                was_healthy: true,
                effect: Effect::Opened
            }
        );
        assert_eq!(breaker::status(&s, "d", 1_001), Status::Open(6_000));
        let stored = read(&s, "d").unwrap();
        assert!(!stored.healthy);
        assert_eq!(stored.error.as_deref(), Some("HTTP 500: boom"));
        assert_eq!((stored.checked_at, stored.latency_ms), (1_000, 12));
        // Still failing while open: the cooldown is not extended.
        assert_eq!(record(&s, &c, "d", &fail, 2_000, 5).effect, Effect::None);
        assert_eq!(breaker::status(&s, "d", 2_001), Status::Open(6_000));
        // A pass during the cooldown is recorded but leaves the breaker open.
        let r = record(&s, &c, "d", &Ok(()), 3_000, 5);
        assert_eq!((r.was_healthy, r.effect), (false, Effect::None));
        assert!(read(&s, "d").unwrap().healthy);
        assert_eq!(breaker::status(&s, "d", 3_001), Status::Open(6_000));
        // After the cooldown (half-open) a pass closes it.
        assert_eq!(
            record(&s, &c, "d", &Ok(()), 6_500, 5).effect,
            Effect::Closed
        );
        assert_eq!(breaker::status(&s, "d", 6_501), Status::Closed);
        // A failed check opens a closed breaker at once, and reopens a half-open one.
        assert_eq!(record(&s, &c, "d", &fail, 7_000, 5).effect, Effect::Opened);
        assert_eq!(record(&s, &c, "d", &fail, 12_000, 5).effect, Effect::Opened);
        assert_eq!(breaker::read(&s, "d").cooldowns, 3);
    }

    #[test]
    fn unreadable_results_read_as_never_checked() {
        let s = MemStore::default();
        assert_eq!(read(&s, "d"), None);
        s.set(&result_key("d"), b"{nope", None).unwrap();
        assert_eq!(read(&s, "d"), None);
    }
}
