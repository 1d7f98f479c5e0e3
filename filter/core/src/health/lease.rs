//! Which worker runs a round of health checks: a lease in the shared store.
//!
//! Every worker root context ticks and calls [`try_acquire`]; the stored value
//! says when the next round is due. The worker whose versioned write moves the
//! due time forward runs the round; every other worker then reads the new due
//! time and stands down. Shared data is one map per Envoy process, so checks run
//! once per process per interval however many workers Envoy has.
//!
//! The schedule is fixed-rate: the next round is due one interval after the
//! previous *due* time (not after the tick that noticed it), so tick jitter does
//! not accumulate. A worker that finds the schedule more than an interval behind
//! (nobody ticked: the process was busy or idle) starts over from now rather than
//! running the missed rounds back to back.

use crate::keys::KeyStore;
use crate::limits::counter::rmw;

/// Store key of the lease.
pub const LEASE_KEY: &str = "tollgate/health/lease";

/// The stored lease: `due_ms:last_run_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lease {
    due_ms: u64,
    last_run_ms: u64,
}

impl Lease {
    fn parse(bytes: &[u8]) -> Option<Lease> {
        let text = std::str::from_utf8(bytes).ok()?;
        let (due, last) = text.split_once(':')?;
        Some(Lease {
            due_ms: due.parse().ok()?,
            last_run_ms: last.parse().ok()?,
        })
    }

    fn encode(&self) -> Vec<u8> {
        format!("{}:{}", self.due_ms, self.last_run_ms).into_bytes()
    }

    /// True when a round should start at `now_ms` under `interval_ms`.
    fn due(&self, interval_ms: u64, now_ms: u64) -> bool {
        now_ms >= self.due_ms
            // The interval was shortened by a config reload, or the clock went back.
            || now_ms >= self.last_run_ms.saturating_add(interval_ms)
            || self.due_ms > now_ms.saturating_add(interval_ms)
    }

    /// The lease after a round starts at `now_ms`.
    fn next(&self, interval_ms: u64, now_ms: u64) -> Lease {
        let on_schedule = self.due_ms.saturating_add(interval_ms);
        let due_ms = if self.due_ms <= now_ms && on_schedule > now_ms {
            on_schedule
        } else {
            now_ms.saturating_add(interval_ms)
        };
        Lease {
            due_ms,
            last_run_ms: now_ms,
        }
    }
}

/// True when the calling worker won the round due at `now_ms` and must run the
/// checks. False when another worker has it, no round is due, or the store is
/// contended or unavailable (the next tick tries again).
pub fn try_acquire(store: &dyn KeyStore, interval_ms: u64, now_ms: u64) -> bool {
    let interval_ms = interval_ms.max(1);
    rmw(store, LEASE_KEY, &mut |cur| {
        let lease = match cur.and_then(Lease::parse) {
            // First round of this process (or an unreadable value): run now.
            None => Lease {
                due_ms: now_ms,
                last_run_ms: 0,
            },
            Some(l) if l.due(interval_ms, now_ms) => l,
            Some(_) => return (None, false),
        };
        (Some(lease.next(interval_ms, now_ms).encode()), true)
    })
    .unwrap_or(false)
}

/// When the next round is due (unix ms), if a round ever ran.
pub fn next_due(store: &dyn KeyStore) -> Option<u64> {
    store
        .get(LEASE_KEY)
        .and_then(|(b, _)| Lease::parse(&b))
        .map(|l| l.due_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::store::MemStore;
    use crate::keys::StoreError;
    use std::cell::Cell;

    /// Two workers ticking on their own schedules over the same store: one round
    /// per interval, whoever ticks first.
    #[test]
    fn one_worker_wins_each_interval() {
        let store = MemStore::default();
        let interval = 1_000;
        let mut wins = [0u32; 2];
        let mut rounds: Vec<u64> = Vec::new();
        // Worker 0 ticks every 300 ms, worker 1 every 170 ms from an offset.
        let mut ticks: Vec<(u64, usize)> = (0..400)
            .map(|i| (10_000 + i * 300, 0))
            .chain((0..600).map(|i| (10_033 + i * 170, 1)))
            .filter(|(t, _)| *t < 110_000)
            .collect();
        ticks.sort();
        for (now, worker) in ticks {
            if try_acquire(&store, interval, now) {
                wins[worker] += 1;
                rounds.push(now);
            }
        }
        // 100 s of ticking: 100 rounds, each one interval (plus tick jitter) apart.
        assert_eq!(rounds.len(), 100, "{rounds:?}");
        for pair in rounds.windows(2) {
            let gap = pair[1] - pair[0];
            assert!((800..=1_250).contains(&gap), "gap {gap} in {rounds:?}");
        }
        // Fixed rate: round n starts within one tick of 10 s + n intervals.
        for (n, t) in rounds.iter().enumerate() {
            let scheduled = 10_000 + n as u64 * interval;
            assert!(*t >= scheduled && *t < scheduled + 250, "round {n} at {t}");
        }
        assert!(
            wins[0] > 0 && wins[1] > 0,
            "both workers ticked first sometimes: {wins:?}"
        );
    }

    /// A store where, just before the caller's write lands, the other worker runs
    /// its own acquire (both read the same lease: a true race).
    struct Racing<'a> {
        inner: &'a MemStore,
        interval: u64,
        rival_now: u64,
        rival_won: Cell<Option<bool>>,
    }

    impl KeyStore for Racing<'_> {
        fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
            self.inner.get(key)
        }

        fn set(&self, key: &str, value: &[u8], version: Option<u32>) -> Result<(), StoreError> {
            if self.rival_won.get().is_none() {
                let won = try_acquire(self.inner, self.interval, self.rival_now);
                self.rival_won.set(Some(won));
            }
            self.inner.set(key, value, version)
        }
    }

    #[test]
    fn racing_workers_never_both_win() {
        for seeded in [false, true] {
            let store = MemStore::default();
            if seeded {
                assert!(try_acquire(&store, 1_000, 5_000));
            }
            let racing = Racing {
                inner: &store,
                interval: 1_000,
                rival_now: 6_000,
                rival_won: Cell::new(None),
            };
            let mine = try_acquire(&racing, 1_000, 6_000);
            let rival = racing.rival_won.get();
            assert_eq!(rival, Some(true), "the rival's write landed first");
            assert!(!mine, "the loser re-reads the new lease and stands down");
            assert_eq!(next_due(&store), Some(7_000));
        }
    }

    #[test]
    fn missed_rounds_are_not_run_back_to_back() {
        let store = MemStore::default();
        assert!(try_acquire(&store, 1_000, 0));
        assert!(!try_acquire(&store, 1_000, 999));
        // Nobody ticked for 10 s: one round now, the next an interval later.
        assert!(try_acquire(&store, 1_000, 10_500));
        assert!(!try_acquire(&store, 1_000, 10_600));
        assert_eq!(next_due(&store), Some(11_500));
    }

    #[test]
    fn a_shorter_interval_after_reload_applies_at_once() {
        let store = MemStore::default();
        assert!(try_acquire(&store, 300_000, 0));
        assert!(!try_acquire(&store, 300_000, 1_000));
        assert!(
            try_acquire(&store, 1_000, 1_000),
            "new config, 1 s interval"
        );
        assert_eq!(next_due(&store), Some(2_000));
        // A clock that went back (or garbage) does not wedge the lease.
        store.set(LEASE_KEY, b"999999999:5", None).unwrap();
        assert!(try_acquire(&store, 1_000, 3_000));
        store.set(LEASE_KEY, b"garbage", None).unwrap();
        assert!(try_acquire(&store, 1_000, 4_000));
    }
}
