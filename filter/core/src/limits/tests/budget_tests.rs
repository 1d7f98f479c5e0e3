//! Budgets: reservations never let spend pass max_budget, settlement frees room,
//! periods reset spend, soft budgets flag.

use super::support::{dep, key, req, NOW};
use crate::keys::MemStore;
use crate::limits::budget::{micros, read_state, usd};
use crate::limits::{admit, key_spend, settle, Admission};

fn try_admit(
    store: &MemStore,
    k: &crate::keys::KeyRecord,
    worst: u64,
    now: u64,
) -> Result<Admission, crate::ApiError> {
    admit(store, &req(Some(k), &dep("free"), 0, worst, now))
}

#[test]
fn reservations_never_exceed_the_budget() {
    // (max_budget USD, worst cost micros, admitted before refusal)
    for (max, worst, n) in [
        (1.0, 300_000, 3),
        (1.0, 250_000, 4),
        (1.0, 1_000_000, 1),
        (1.0, 1_000_001, 0),
        (0.000_001, 1, 1),
        (2.5, 0, usize::MAX),
    ] {
        let store = MemStore::default();
        let k = key(|k| k.max_budget = Some(max));
        let mut admitted = 0;
        while admitted < 10 && try_admit(&store, &k, worst, NOW).is_ok() {
            admitted += 1;
        }
        assert_eq!(admitted, n.min(10), "max {max} worst {worst}");
        let spend = key_spend(&store, &k, NOW);
        assert!(spend.reserved_micros <= micros(max));
    }
}

#[test]
fn budget_error_is_litellms() {
    let store = MemStore::default();
    let k = key(|k| k.max_budget = Some(1.0));
    let a = try_admit(&store, &k, 900_000, NOW).unwrap();
    let e = try_admit(&store, &k, 200_000, NOW).unwrap_err();
    assert_eq!(
        (e.status, e.kind, e.code),
        (400, "budget_exceeded", Some("400"))
    );
    assert_eq!(
        e.message,
        "Budget has been exceeded! Current cost: 0.9, Max budget: 1.0 \
         (this request may cost up to 0.2, more than the 0.1 left)"
    );
    settle(&store, &a, None, 1_000_000, NOW);
    let e = try_admit(&store, &k, 0, NOW).unwrap_err();
    assert_eq!(
        e.message,
        "Budget has been exceeded! Current cost: 1.0, Max budget: 1.0"
    );
    assert!(e.headers.is_empty());
}

#[test]
fn settling_at_real_cost_frees_room() {
    let store = MemStore::default();
    let k = key(|k| k.max_budget = Some(1.0));
    let held: Vec<Admission> = (0..4)
        .map(|_| try_admit(&store, &k, 250_000, NOW).unwrap())
        .collect();
    assert!(try_admit(&store, &k, 1, NOW).is_err());
    let mut spent = 0;
    for (i, a) in held.iter().enumerate() {
        assert_eq!(a.reserved_micros, 250_000);
        spent = settle(&store, a, None, 10_000, NOW + i as u64);
    }
    assert_eq!(spent, 40_000);
    let spend = key_spend(&store, &k, NOW);
    assert_eq!(
        (
            spend.period_micros,
            spend.reserved_micros,
            spend.total_micros
        ),
        (40_000, 0, 40_000)
    );
    assert_eq!(spend.reset_at, None, "no budget_duration");
    try_admit(&store, &k, 960_000, NOW).unwrap();
    assert!(try_admit(&store, &k, 1, NOW).is_err());
}

#[test]
fn max_budget_zero_refuses_the_first_request() {
    let store = MemStore::default();
    for max in [0.0, -1.0, f64::NAN] {
        let k = key(|k| k.max_budget = Some(max));
        let e = try_admit(&store, &k, 0, NOW).unwrap_err();
        assert_eq!(
            e.message,
            "Budget has been exceeded! Current cost: 0.0, Max budget: 0.0"
        );
    }
}

#[test]
fn soft_budget_flags_without_refusing() {
    let store = MemStore::default();
    let k = key(|k| k.soft_budget = Some(0.5));
    let a = try_admit(&store, &k, 200_000, NOW).unwrap();
    assert!(!a.soft_budget_exceeded);
    assert_eq!(
        a.reserved_micros, 0,
        "nothing to reserve against without max_budget"
    );
    settle(&store, &a, None, 499_999, NOW);
    assert!(!try_admit(&store, &k, 0, NOW).unwrap().soft_budget_exceeded);
    let b = try_admit(&store, &k, 0, NOW).unwrap();
    settle(&store, &b, None, 1, NOW);
    assert!(try_admit(&store, &k, 0, NOW).unwrap().soft_budget_exceeded);

    // With max_budget, in-flight reservations count towards the soft budget.
    let store = MemStore::default();
    let k = key(|k| {
        k.max_budget = Some(1.0);
        k.soft_budget = Some(0.5);
    });
    assert!(
        !try_admit(&store, &k, 300_000, NOW)
            .unwrap()
            .soft_budget_exceeded
    );
    assert!(
        try_admit(&store, &k, 200_000, NOW)
            .unwrap()
            .soft_budget_exceeded
    );
}

#[test]
fn a_new_period_resets_spend_and_keeps_reservations_in_flight() {
    let store = MemStore::default();
    let k = key(|k| {
        k.max_budget = Some(1.0);
        k.budget_duration = Some("1d".into());
    });
    let midnight = NOW - NOW % 86_400 + 86_400;
    let done = try_admit(&store, &k, 400_000, NOW).unwrap();
    assert_eq!(done.period_start, midnight - 86_400);
    settle(&store, &done, None, 700_000, NOW);
    let in_flight = try_admit(&store, &k, 300_000, NOW).unwrap();
    assert!(try_admit(&store, &k, 1, NOW).is_err());
    let spend = key_spend(&store, &k, NOW);
    assert_eq!(
        (spend.period_micros, spend.reset_at),
        (700_000, Some(midnight))
    );

    // After midnight the spend restarts; the request still in flight keeps its reservation.
    let spend = key_spend(&store, &k, midnight);
    assert_eq!((spend.period_micros, spend.reserved_micros), (0, 300_000));
    assert_eq!(
        (spend.total_micros, spend.reset_at),
        (700_000, Some(midnight + 86_400))
    );
    let fresh = try_admit(&store, &k, 700_000, midnight + 1).unwrap();
    assert_eq!(fresh.period_start, midnight);
    assert!(
        try_admit(&store, &k, 1, midnight + 1).is_err(),
        "old reservation still held"
    );
    // It is charged to the period it finishes in.
    assert_eq!(
        settle(&store, &in_flight, None, 100_000, midnight + 2),
        100_000
    );
    let spend = key_spend(&store, &k, midnight + 2);
    assert_eq!(
        (spend.reserved_micros, spend.total_micros),
        (700_000, 800_000)
    );
    try_admit(&store, &k, 200_000, midnight + 3).unwrap();
}

#[test]
fn spend_is_tracked_for_keys_without_a_budget() {
    let store = MemStore::default();
    let k = key(|_| {});
    let a = try_admit(&store, &k, 5_000_000, NOW).unwrap();
    assert_eq!(a.reserved_micros, 0);
    assert_eq!(settle(&store, &a, None, 1_234, NOW), 1_234);
    assert_eq!(settle(&store, &a, None, 1, NOW), 1_235);
    let spend = key_spend(&store, &k, NOW + 86_400 * 400);
    assert_eq!((spend.period_micros, spend.total_micros), (1_235, 1_235));
    // A budget_duration set later starts a fresh period; the lifetime total stays.
    let periodic = key(|k| k.budget_duration = Some("1mo".into()));
    assert_eq!(key_spend(&store, &periodic, NOW).period_micros, 0);
    let b = try_admit(&store, &periodic, 0, NOW).unwrap();
    assert_eq!(settle(&store, &b, None, 5, NOW), 5);
    let state = read_state(&store, &k.token);
    assert_eq!(
        (state.total, state.duration.as_deref()),
        (1_240, Some("1mo"))
    );
}

#[test]
fn money_formats() {
    for (m, s) in [
        (0, "0.0"),
        (1, "0.000001"),
        (1_500, "0.0015"),
        (1_000_000, "1.0"),
        (12_500_000, "12.5"),
        (123_456_789, "123.456789"),
    ] {
        assert_eq!(usd(m), s);
    }
    for (usd, m) in [
        (0.0015, 1_500),
        (1.0, 1_000_000),
        (-3.0, 0),
        (f64::INFINITY, 0),
        (1e-7, 0),
    ] {
        assert_eq!(micros(usd), m, "{usd}");
    }
}
