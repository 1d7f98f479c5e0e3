//! Two workers sharing one store: every write races another worker's admission, and
//! injected conflicts force retries. Limits stay exact; give-ups roll back.

use super::support::{dep, key, req, Flaky, Racing, NOW};
use crate::keys::{KeyRecord, KeyStore, MemStore};
use crate::limits::counter::MAX_ATTEMPTS;
use crate::limits::keystate::{self, Window};
use crate::limits::{admit, key_spend, settle};
use std::cell::Cell;

/// Worker A admits `attempts` requests through a store that, before each of its
/// writes, lets worker B (whose own store injects a conflict every third write) try
/// one too. Returns how many both admitted, and the store.
fn race(k: &KeyRecord, attempts: usize, est: u64, worst: u64) -> (usize, MemStore) {
    let mem = MemStore::default();
    let free = dep("free");
    let admitted = Cell::new(0);
    let (lost, injected) = {
        let b_store = Flaky::new(&mem, 3, None);
        let b = || {
            if admit(&b_store, &req(Some(k), &free, est, worst, NOW)).is_ok() {
                admitted.set(admitted.get() + 1);
            }
        };
        let a_store = Racing::new(&mem, attempts, b);
        for _ in 0..attempts {
            if admit(&a_store, &req(Some(k), &free, est, worst, NOW)).is_ok() {
                admitted.set(admitted.get() + 1);
            }
        }
        (a_store.lost.get(), b_store.refused.get())
    };
    assert!(lost > 0, "A's writes raced B's");
    assert!(injected > 0, "B retried injected conflicts");
    (admitted.get(), mem)
}

#[test]
fn limits_are_exact_when_workers_interleave() {
    // (key, tokens, worst cost, exactly this many admitted)
    let cases: [(KeyRecord, u64, u64, usize); 5] = [
        (key(|k| k.rpm_limit = Some(5)), 0, 0, 5),
        (key(|k| k.tpm_limit = Some(1000)), 150, 0, 6),
        (key(|k| k.max_parallel_requests = Some(3)), 0, 0, 3),
        (key(|k| k.max_budget = Some(1.0)), 0, 300_000, 3),
        (
            key(|k| {
                k.model_rpm_limit.insert("gpt-4o".into(), 4);
            }),
            0,
            0,
            4,
        ),
    ];
    for (k, est, worst, want) in cases {
        let (admitted, _) = race(&k, 12, est, worst);
        assert_eq!(admitted, want, "{k:?}");
    }
}

#[test]
fn rpm_counter_holds_exactly_the_admitted_requests() {
    let k = key(|k| k.rpm_limit = Some(50));
    let (admitted, mem) = race(&k, 20, 0, 0);
    // 20 by A, each raced by one of B's: 40 attempts under a limit of 50.
    assert_eq!(admitted, 40);
    let rpm = keystate::read(&mem, &k.token).rpm;
    assert_eq!(
        rpm,
        Window {
            minute: NOW / 60,
            count: 40
        }
    );
}

#[test]
fn settlement_survives_conflicts() {
    let mem = MemStore::default();
    let store = Flaky::new(&mem, 2, None);
    let k = key(|k| {
        k.max_budget = Some(1.0);
        k.max_parallel_requests = Some(10);
        k.tpm_limit = Some(10_000);
    });
    let held: Vec<_> = (0..5)
        .map(|_| admit(&store, &req(Some(&k), &dep("free"), 100, 100_000, NOW)).unwrap())
        .collect();
    for a in &held {
        settle(&store, a, Some(50), 20_000, NOW);
    }
    assert!(store.refused.get() > 0);
    let spend = key_spend(&mem, &k, NOW);
    assert_eq!((spend.period_micros, spend.reserved_micros), (100_000, 0));
    let own = keystate::read(&mem, &k.token);
    assert_eq!(
        (own.parallel, own.tpm.minute, own.tpm.count),
        (0, NOW / 60, 250)
    );
}

#[test]
fn a_counter_that_never_settles_gives_up_and_rolls_back() {
    let mem = MemStore::default();
    let k = key(|k| {
        k.max_budget = Some(1.0);
        k.max_parallel_requests = Some(2);
        k.rpm_limit = Some(10);
        k.tpm_limit = Some(1000);
    });
    // The key's record is taken first; the deployment's counter then never writes.
    let counter = crate::limits::deployment_counter("capped", "rpm");
    let store = Flaky::new(&mem, 0, Some(counter.clone()));
    let e = admit(&store, &req(Some(&k), &dep("capped"), 100, 100_000, NOW)).unwrap_err();
    assert_eq!((e.status, e.kind), (503, "server_error"));
    assert_eq!(store.refused.get(), MAX_ATTEMPTS);
    assert_eq!(key_spend(&mem, &k, NOW).reserved_micros, 0);
    let own = keystate::read(&mem, &k.token);
    assert_eq!((own.parallel, own.rpm.count, own.tpm.count), (0, 0, 0));
    assert_eq!(
        own.rpm.minute,
        NOW / 60,
        "the record was written, then given back"
    );
    assert!(mem.get(&counter).is_none());
    // A key record that never writes refuses before anything is taken.
    let store = Flaky::new(&mem, 0, Some(keystate::state_key(&k.token)));
    let e = admit(&store, &req(Some(&k), &dep("capped"), 100, 100_000, NOW)).unwrap_err();
    assert_eq!((e.status, e.kind), (503, "server_error"));
    assert!(mem.get(&counter).is_none());
}
