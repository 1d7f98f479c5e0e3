//! One record per virtual key holding its parallel slots, its rpm and tpm windows
//! and its budget state, so admitting a request is one read-modify-write of the key
//! and settling it another (inside Envoy every store access is a host call, and a
//! key with every limit set used to take seven of each).

use super::budget::{self, BudgetState, Reserved};
pub use super::counter::Window;
use super::counter::{rmw, Busy};
use super::reject::Usage;
use crate::error::ApiError;
use crate::keys::{KeyRecord, KeyStore};

/// Store key of a key's limits record.
pub fn state_key(token: &str) -> String {
    format!("tollgate/lim/key/{token}")
}

/// Everything admission keeps for one key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyState {
    /// max_parallel_requests slots held.
    pub parallel: u64,
    /// The rpm window.
    pub rpm: Window,
    /// The tpm window.
    pub tpm: Window,
    /// Spend, reservations and the budget period.
    pub budget: BudgetState,
}

impl KeyState {
    /// Parses `parallel|rpm_minute:rpm|tpm_minute:tpm|budget`; a corrupt value
    /// starts over (the budget part last: its duration is free text).
    pub fn decode(bytes: Option<&[u8]>) -> KeyState {
        let text = bytes
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("");
        let mut parts = text.splitn(4, '|');
        let (Some(parallel), Some(rpm), Some(tpm), Some(budget)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return KeyState::default();
        };
        let (Ok(parallel), Some(rpm), Some(tpm)) =
            (parallel.parse(), Window::parse(rpm), Window::parse(tpm))
        else {
            return KeyState::default();
        };
        KeyState {
            parallel,
            rpm,
            tpm,
            budget: BudgetState::decode(budget),
        }
    }

    fn encode(&self) -> Vec<u8> {
        format!(
            "{}|{}|{}|{}",
            self.parallel,
            self.rpm.encode(),
            self.tpm.encode(),
            self.budget.encode()
        )
        .into_bytes()
    }
}

/// The key's record as stored.
pub fn read(store: &dyn KeyStore, token: &str) -> KeyState {
    let stored = store.get(&state_key(token));
    KeyState::decode(stored.as_ref().map(|(b, _)| b.as_slice()))
}

/// True when the key has a limit kept in its record (a key without one is only
/// written when it is charged).
pub fn limited(key: &KeyRecord) -> bool {
    budgeted(key)
        || key.max_parallel_requests.is_some()
        || key.rpm_limit.is_some()
        || key.tpm_limit.is_some()
}

/// True when admission reserves against or tracks the key's budget.
fn budgeted(key: &KeyRecord) -> bool {
    key.max_budget.is_some() || key.budget_duration.is_some() || key.soft_budget.is_some()
}

/// What admission took from a key's record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Taken {
    /// The budget reservation.
    pub reserved: Reserved,
    /// A parallel slot is held.
    pub slot: bool,
    /// The rpm window counted in (None: no rpm limit) and its usage after.
    pub rpm: Option<(u64, Usage)>,
    /// The tpm window counted in, the tokens counted and its usage after.
    pub tpm: Option<(u64, u64, Usage)>,
}

/// Why a key's own limits refused a request (in the order they are checked).
#[derive(Debug, Clone, PartialEq)]
pub enum Refused {
    /// max_budget (the budget_exceeded error).
    Budget(ApiError),
    /// max_parallel_requests.
    Parallel(u64),
    /// rpm_limit.
    Rpm(u64),
    /// tpm_limit, the count before and the request's estimate.
    Tpm(u64, u64, u64),
}

/// Checks and takes the key's budget, parallel slot, rpm and tpm in one write:
/// all of them or, when one refuses, none.
pub fn admit(
    store: &dyn KeyStore,
    key: &KeyRecord,
    worst: u64,
    est: u64,
    now: u64,
) -> Result<Result<Taken, Refused>, Busy> {
    let minute = now / 60;
    let budgeted = budgeted(key);
    rmw(store, &state_key(&key.token), &mut |bytes| {
        let mut s = KeyState::decode(bytes);
        let mut t = Taken::default();
        let mut changed = false;
        if budgeted {
            match budget::reserve(&mut s.budget, key, worst, now) {
                Ok((r, c)) => (t.reserved, changed) = (r, c),
                Err(e) => return (None, Err(Refused::Budget(e))),
            }
        }
        if let Some(max) = key.max_parallel_requests {
            if s.parallel >= max {
                return (None, Err(Refused::Parallel(max)));
            }
            s.parallel += 1;
            t.slot = true;
            changed = true;
        }
        if let Some(limit) = key.rpm_limit {
            let used = s.rpm.used(minute);
            if used >= limit {
                return (None, Err(Refused::Rpm(limit)));
            }
            let window = s.rpm.add(minute, 1);
            t.rpm = Some((
                window,
                Usage {
                    limit,
                    used: used + 1,
                },
            ));
            changed = true;
        }
        if let Some(limit) = key.tpm_limit {
            let used = s.tpm.used(minute);
            let after = used.saturating_add(est);
            if used >= limit || after > limit {
                return (None, Err(Refused::Tpm(limit, used, est)));
            }
            // A zero estimate to a passed window changes nothing a reader would see.
            let window = if est > 0 {
                changed = true;
                s.tpm.add(minute, est)
            } else {
                s.tpm.minute.max(minute)
            };
            t.tpm = Some((window, est, Usage { limit, used: after }));
        }
        (changed.then(|| s.encode()), Ok(t))
    })
}

/// Gives back what [`admit`] took (a later check refused the request).
pub fn rollback(store: &dyn KeyStore, token: &str, t: &Taken) -> Result<(), Busy> {
    rmw(store, &state_key(token), &mut |bytes| {
        let mut s = KeyState::decode(bytes);
        let mut changed = budget::release(&mut s.budget, t.reserved.micros);
        if t.slot && s.parallel > 0 {
            s.parallel -= 1;
            changed = true;
        }
        if let Some((window, _)) = t.rpm {
            changed |= s.rpm.adjust(window, -1);
        }
        if let Some((window, tokens, _)) = t.tpm {
            changed |= s.tpm.adjust(window, -signed(tokens));
        }
        (changed.then(|| s.encode()), ())
    })
}

/// What settlement changes in a key's record.
pub struct Settlement {
    /// Give back a parallel slot.
    pub slot: bool,
    /// Correct the tpm window of this minute by this many tokens.
    pub tpm: Option<(u64, i64)>,
    /// The budget reservation to release.
    pub reserved: u64,
    /// The real cost to charge, micro-USD.
    pub cost: u64,
}

/// Settles a request on its key's record in one write; returns the key's spend in
/// the current period after it.
pub fn settle(store: &dyn KeyStore, token: &str, what: &Settlement, now: u64) -> Result<u64, Busy> {
    rmw(store, &state_key(token), &mut |bytes| {
        let mut s = KeyState::decode(bytes);
        let mut changed = budget::charge(&mut s.budget, what.reserved, what.cost, now);
        if what.slot && s.parallel > 0 {
            s.parallel -= 1;
            changed = true;
        }
        if let Some((minute, delta)) = what.tpm {
            changed |= s.tpm.adjust(minute, delta);
        }
        (changed.then(|| s.encode()), s.budget.spent)
    })
}

/// A token count as a signed delta.
pub fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_round_trips_and_a_corrupt_one_starts_over() {
        let s = KeyState {
            parallel: 2,
            rpm: Window {
                minute: 29_000_000,
                count: 7,
            },
            tpm: Window {
                minute: 29_000_001,
                count: 900,
            },
            budget: BudgetState {
                period_start: 1,
                period_end: 2,
                spent: 3,
                reserved: 4,
                total: 5,
                duration: Some("30d|odd".into()),
            },
        };
        assert_eq!(KeyState::decode(Some(&s.encode())), s);
        for bad in [&b""[..], b"x|1:1|1:1|", b"1|1|1:1|0:0:0:0:0:", b"\xff"] {
            assert_eq!(KeyState::decode(Some(bad)), KeyState::default(), "{bad:?}");
        }
    }

    #[test]
    fn windows_restart_when_their_minute_passes_and_never_move_back() {
        let mut w = Window::default();
        assert_eq!(w.add(10, 3), 10);
        assert_eq!((w.used(10), w.used(9), w.used(11)), (3, 3, 0));
        // An older clock read counts into the newer stored window.
        assert_eq!(w.add(9, 1), 10);
        assert_eq!(w.add(11, 1), 11);
        assert_eq!(w.used(11), 1);
        assert!(!w.adjust(10, 5), "a passed window is not corrected");
        assert!(w.adjust(11, -5));
        assert_eq!(w.count, 0, "never below zero");
    }
}
