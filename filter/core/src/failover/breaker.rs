//! Per-deployment circuit breaker in the shared store, so every Envoy worker sees
//! the same cooldowns.
//!
//! Closed: failures are counted in a window of [`WINDOW_MS`] that starts at the first
//! failure. The failure that takes the count past `allowed_fails` (LiteLLM's rule:
//! `fails > allowed_fails`) opens the breaker for `cooldown_ms`: routing skips the
//! deployment. When the cooldown has passed the breaker is half-open: exactly one
//! request (or a health check) may claim the probe; its success closes the breaker,
//! its failure opens it again. A probe that never reports (lost worker) expires
//! after [`PROBE_LEASE_MS`] so the deployment cannot stay stuck half-open.

use crate::keys::KeyStore;
use crate::limits::counter::{rmw, Busy};

/// Length of the failure-counting window.
pub const WINDOW_MS: u64 = 60_000;
/// How long a claimed probe keeps other requests away.
pub const PROBE_LEASE_MS: u64 = 30_000;

/// Store key of a deployment's breaker state.
pub fn breaker_key(deployment_id: &str) -> String {
    format!("tollgate/cb/{deployment_id}")
}

/// The stored state: `window_start:fails:cooldown_until:probe_until:cooldowns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct State {
    /// Start of the failure window (unix ms); 0 when no failure is counted.
    pub window_start: u64,
    /// Failures in the window.
    pub fails: u32,
    /// End of the current (or last) cooldown, unix ms; 0 = never cooled down.
    pub cooldown_until: u64,
    /// A probe holds the half-open breaker until this time (unix ms).
    pub probe_until: u64,
    /// Times this deployment entered cooldown since the process started.
    pub cooldowns: u64,
}

/// What routing may do with a deployment now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Closed: use freely.
    Closed,
    /// Cooling down until the given unix ms: skip.
    Open(u64),
    /// Cooldown over, no probe in flight: one request may claim the probe.
    HalfOpen,
    /// Cooldown over and a probe is in flight: skip.
    Probing,
}

impl Status {
    /// Routing may pick the deployment (a half-open one must then be claimed).
    pub fn usable(self) -> bool {
        matches!(self, Status::Closed | Status::HalfOpen)
    }
}

impl State {
    fn parse(bytes: Option<&[u8]>) -> State {
        let Some(text) = bytes.and_then(|b| std::str::from_utf8(b).ok()) else {
            return State::default();
        };
        let mut it = text.split(':').map(|p| p.parse::<u64>().unwrap_or(0));
        let mut next = || it.next().unwrap_or(0);
        State {
            window_start: next(),
            fails: u32::try_from(next()).unwrap_or(u32::MAX),
            cooldown_until: next(),
            probe_until: next(),
            cooldowns: next(),
        }
    }

    fn encode(&self) -> Vec<u8> {
        format!(
            "{}:{}:{}:{}:{}",
            self.window_start, self.fails, self.cooldown_until, self.probe_until, self.cooldowns
        )
        .into_bytes()
    }

    /// The status at `now_ms`.
    pub fn status(&self, now_ms: u64) -> Status {
        if self.cooldown_until == 0 || self.cooldown_until <= self.window_start {
            // Never opened, or closed again by a success after the cooldown.
            return Status::Closed;
        }
        if now_ms < self.cooldown_until {
            return Status::Open(self.cooldown_until);
        }
        if now_ms < self.probe_until {
            Status::Probing
        } else {
            Status::HalfOpen
        }
    }
}

/// Reads a deployment's state (absent or unreadable = closed and clean).
pub fn read(store: &dyn KeyStore, deployment_id: &str) -> State {
    State::parse(
        store
            .get(&breaker_key(deployment_id))
            .map(|(b, _)| b)
            .as_deref(),
    )
}

/// The deployment's status at `now_ms`.
pub fn status(store: &dyn KeyStore, deployment_id: &str, now_ms: u64) -> Status {
    read(store, deployment_id).status(now_ms)
}

/// Claims the half-open probe; true when this caller won it (or the breaker is
/// closed and no claim is needed).
pub fn claim(store: &dyn KeyStore, deployment_id: &str, now_ms: u64) -> bool {
    rmw(store, &breaker_key(deployment_id), &mut |cur| {
        let mut s = State::parse(cur);
        match s.status(now_ms) {
            Status::Closed => (None, true),
            Status::Open(_) | Status::Probing => (None, false),
            Status::HalfOpen => {
                s.probe_until = now_ms + PROBE_LEASE_MS;
                (Some(s.encode()), true)
            }
        }
    })
    .unwrap_or(false)
}

/// What a recorded failure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tripped {
    /// Counted; the breaker stays closed.
    Counted,
    /// This failure opened the breaker (or a failed probe reopened it).
    Opened,
    /// Already open: nothing changes.
    AlreadyOpen,
}

/// Records a failure that counts against the deployment.
pub fn failure(
    store: &dyn KeyStore,
    deployment_id: &str,
    allowed_fails: u32,
    cooldown_ms: u64,
    now_ms: u64,
) -> Result<Tripped, Busy> {
    rmw(store, &breaker_key(deployment_id), &mut |cur| {
        let mut s = State::parse(cur);
        let open = |s: &mut State| {
            s.cooldown_until = now_ms + cooldown_ms.max(1);
            s.probe_until = 0;
            s.fails = 0;
            // The window restarts after the cooldown, so a success there closes it.
            s.window_start = now_ms;
            s.cooldowns += 1;
        };
        match s.status(now_ms) {
            Status::Open(_) => (None, Tripped::AlreadyOpen),
            Status::HalfOpen | Status::Probing => {
                open(&mut s);
                (Some(s.encode()), Tripped::Opened)
            }
            Status::Closed => {
                if s.fails == 0 || now_ms.saturating_sub(s.window_start) >= WINDOW_MS {
                    s.window_start = now_ms;
                    s.fails = 0;
                }
                s.fails = s.fails.saturating_add(1);
                if s.fails > allowed_fails {
                    open(&mut s);
                    (Some(s.encode()), Tripped::Opened)
                } else {
                    (Some(s.encode()), Tripped::Counted)
                }
            }
        }
    })
}

/// Records a success: a half-open breaker closes; a closed one keeps its count
/// (LiteLLM counts failures per minute, not consecutive failures).
pub fn success(store: &dyn KeyStore, deployment_id: &str, now_ms: u64) {
    let _ = rmw(store, &breaker_key(deployment_id), &mut |cur| {
        let mut s = State::parse(cur);
        match s.status(now_ms) {
            Status::HalfOpen | Status::Probing => {
                s.window_start = now_ms;
                s.fails = 0;
                s.probe_until = 0;
                (Some(s.encode()), ())
            }
            _ => (None, ()),
        }
    });
}

/// Forces the breaker open (a failed health check): the deployment gets no traffic
/// until the cooldown passes and a probe or check succeeds.
pub fn open(store: &dyn KeyStore, deployment_id: &str, cooldown_ms: u64, now_ms: u64) -> bool {
    rmw(store, &breaker_key(deployment_id), &mut |cur| {
        let mut s = State::parse(cur);
        if matches!(s.status(now_ms), Status::Open(_)) {
            return (None, false);
        }
        s.cooldown_until = now_ms + cooldown_ms.max(1);
        s.probe_until = 0;
        s.fails = 0;
        s.window_start = now_ms;
        s.cooldowns += 1;
        (Some(s.encode()), true)
    })
    .unwrap_or(false)
}

/// Closes the breaker whatever its state (a passing health check after cooldown).
pub fn close(store: &dyn KeyStore, deployment_id: &str, now_ms: u64) {
    let _ = rmw(store, &breaker_key(deployment_id), &mut |cur| {
        let mut s = State::parse(cur);
        match s.status(now_ms) {
            Status::HalfOpen | Status::Probing => {
                s.window_start = now_ms;
                s.fails = 0;
                s.probe_until = 0;
                (Some(s.encode()), ())
            }
            _ => (None, ()),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::store::MemStore;

    #[test]
    fn opens_after_more_than_allowed_fails_in_the_window() {
        let s = MemStore::default();
        assert_eq!(failure(&s, "d", 2, 5_000, 1_000), Ok(Tripped::Counted));
        assert_eq!(failure(&s, "d", 2, 5_000, 2_000), Ok(Tripped::Counted));
        assert_eq!(status(&s, "d", 2_500), Status::Closed);
        assert_eq!(failure(&s, "d", 2, 5_000, 3_000), Ok(Tripped::Opened));
        assert_eq!(status(&s, "d", 3_001), Status::Open(8_000));
        assert_eq!(failure(&s, "d", 2, 5_000, 4_000), Ok(Tripped::AlreadyOpen));
        assert_eq!(read(&s, "d").cooldowns, 1);
    }

    #[test]
    fn failures_outside_the_window_start_over() {
        let s = MemStore::default();
        failure(&s, "d", 1, 5_000, 0).unwrap();
        assert_eq!(
            failure(&s, "d", 1, 5_000, WINDOW_MS + 1),
            Ok(Tripped::Counted)
        );
        assert_eq!(status(&s, "d", WINDOW_MS + 2), Status::Closed);
    }

    #[test]
    fn one_probe_after_cooldown_decides() {
        let s = MemStore::default();
        failure(&s, "d", 0, 1_000, 10_000).unwrap();
        assert_eq!(status(&s, "d", 10_500), Status::Open(11_000));
        assert!(!claim(&s, "d", 10_500));
        assert_eq!(status(&s, "d", 11_000), Status::HalfOpen);
        assert!(claim(&s, "d", 11_000));
        assert_eq!(status(&s, "d", 11_001), Status::Probing);
        assert!(!claim(&s, "d", 11_002), "only one probe");
        success(&s, "d", 11_100);
        assert_eq!(status(&s, "d", 11_101), Status::Closed);
        assert!(claim(&s, "d", 11_102), "closed needs no claim");
    }

    #[test]
    fn a_failed_probe_reopens() {
        let s = MemStore::default();
        failure(&s, "d", 0, 1_000, 0).unwrap();
        assert!(claim(&s, "d", 1_000));
        assert_eq!(failure(&s, "d", 0, 1_000, 1_200), Ok(Tripped::Opened));
        assert_eq!(status(&s, "d", 1_300), Status::Open(2_200));
        assert_eq!(read(&s, "d").cooldowns, 2);
    }

    #[test]
    fn a_lost_probe_expires() {
        let s = MemStore::default();
        failure(&s, "d", 0, 1_000, 0).unwrap();
        assert!(claim(&s, "d", 1_000));
        assert_eq!(status(&s, "d", 1_000 + PROBE_LEASE_MS), Status::HalfOpen);
    }

    #[test]
    fn health_checks_open_and_close() {
        let s = MemStore::default();
        assert!(open(&s, "d", 1_000, 0));
        assert!(!open(&s, "d", 1_000, 10), "already open");
        close(&s, "d", 500);
        assert!(
            matches!(status(&s, "d", 600), Status::Open(_)),
            "not before cooldown ends"
        );
        close(&s, "d", 1_500);
        assert_eq!(status(&s, "d", 1_600), Status::Closed);
    }

    #[test]
    fn garbage_state_reads_as_closed() {
        let s = MemStore::default();
        s.set(&breaker_key("d"), b"not:a:number", None).unwrap();
        assert_eq!(status(&s, "d", 5), Status::Closed);
    }
}
