//! Window counters through admit/settle: rollover, tpm correction, parallel slots,
//! per-model limits.

use super::support::{admit_at, dep, key, req, NOW};
use crate::keys::{KeyStore, MemStore};
use crate::limits::keystate::{self, Window};
use crate::limits::{admit, model_counter, settle};

fn stored(store: &MemStore, counter: &str) -> String {
    String::from_utf8(store.get(counter).unwrap().0).unwrap()
}

#[test]
fn rpm_window_rolls_over_at_the_utc_minute() {
    let store = MemStore::default();
    let k = key(|k| k.rpm_limit = Some(2));
    let minute_start = NOW - NOW % 60;
    for (now, admitted) in [
        (minute_start, true),
        (NOW, true),
        (minute_start + 59, false),
        (minute_start + 60, true),
        (minute_start + 119, true),
        (minute_start + 119, false),
        (minute_start + 600, true),
    ] {
        assert_eq!(admit_at(&store, &k, 0, now).is_ok(), admitted, "at {now}");
    }
    assert_eq!(
        keystate::read(&store, &k.token).rpm,
        Window {
            minute: minute_start / 60 + 10,
            count: 1
        }
    );
}

#[test]
fn zero_limits_refuse_everything() {
    let store = MemStore::default();
    for k in [
        key(|k| k.rpm_limit = Some(0)),
        key(|k| k.tpm_limit = Some(0)),
        key(|k| k.max_parallel_requests = Some(0)),
    ] {
        assert_eq!(admit_at(&store, &k, 0, NOW).unwrap_err().status, 429);
    }
}

#[test]
fn tpm_reserves_the_estimate_and_settle_corrects_it() {
    let store = MemStore::default();
    let k = key(|k| k.tpm_limit = Some(1000));
    let tpm = |s: &MemStore| keystate::read(s, &k.token).tpm.count;
    let a = admit_at(&store, &k, 600, NOW).unwrap();
    assert_eq!(a.est_tokens, 600);
    let e = admit_at(&store, &k, 600, NOW).unwrap_err();
    assert_eq!((e.status, e.kind), (429, "tokens"));
    assert!(
        e.message.contains("tpm_limit 1000 reached (600 used"),
        "{}",
        e.message
    );
    settle(&store, &a, Some(100), 0, NOW + 5);
    assert_eq!(tpm(&store), 100);
    let b = admit_at(&store, &k, 600, NOW).unwrap();
    // Using more than estimated is charged too, past the limit: the tokens were spent.
    settle(&store, &b, Some(1200), 0, NOW + 10);
    assert_eq!(tpm(&store), 1300);
    assert!(admit_at(&store, &k, 1, NOW + 10).is_err());
    // Unknown usage keeps the estimate; a later minute is not corrected.
    let next = NOW + 60;
    let c = admit_at(&store, &k, 300, next).unwrap();
    settle(&store, &c, None, 0, next);
    assert_eq!(tpm(&store), 300);
    let d = admit_at(&store, &k, 300, next).unwrap();
    settle(&store, &d, Some(0), 0, next + 60);
    assert_eq!(tpm(&store), 600);
}

fn window_count(store: &MemStore, counter: &str) -> u64 {
    stored(store, counter)
        .split_once(':')
        .unwrap()
        .1
        .parse()
        .unwrap()
}

#[test]
fn tpm_refusals() {
    // (limit, already used, estimate, admitted)
    for (limit, used, est, ok) in [
        (1000, 0, 1000, true),
        (1000, 0, 1001, false),
        (1000, 400, 600, true),
        (1000, 400, 601, false),
        (1000, 1000, 0, false),
        (1000, 999, 0, true),
    ] {
        let store = MemStore::default();
        let k = key(|k| k.tpm_limit = Some(limit));
        if used > 0 {
            admit_at(&store, &k, used, NOW).unwrap();
        }
        let got = admit_at(&store, &k, est, NOW);
        assert_eq!(got.is_ok(), ok, "limit {limit} used {used} est {est}");
    }
    let store = MemStore::default();
    let k = key(|k| k.tpm_limit = Some(1000));
    let e = admit_at(&store, &k, 5000, NOW).unwrap_err();
    assert!(e
        .message
        .contains("tpm_limit 1000 is below this request's estimate of 5000 tokens"));
}

#[test]
fn parallel_slots_are_held_until_settled() {
    let store = MemStore::default();
    let k = key(|k| k.max_parallel_requests = Some(2));
    let held = |s: &MemStore| keystate::read(s, &k.token).parallel;
    let a = admit_at(&store, &k, 0, NOW).unwrap();
    let b = admit_at(&store, &k, 0, NOW).unwrap();
    assert!(a.parallel_slot && b.parallel_slot);
    let e = admit_at(&store, &k, 0, NOW).unwrap_err();
    assert_eq!(
        (e.status, e.kind, e.code),
        (429, "requests", Some("rate_limit_exceeded"))
    );
    assert_eq!(
        e.message,
        "Rate limit exceeded for key 'sk-...wxyz': max_parallel_requests 2 reached"
    );
    assert_eq!(e.headers, vec![("retry-after", "1".to_string())]);
    assert_eq!(held(&store), 2);
    settle(&store, &a, None, 0, NOW);
    let c = admit_at(&store, &k, 0, NOW).unwrap();
    for adm in [&b, &c, &c, &c] {
        settle(&store, adm, None, 0, NOW);
    }
    assert_eq!(held(&store), 0, "never below zero");
    // Without a slot, settle leaves the gauge alone.
    admit_at(&store, &k, 0, NOW).unwrap();
    let mut slotless = c.clone();
    slotless.parallel_slot = false;
    settle(&store, &slotless, None, 0, NOW);
    assert_eq!(held(&store), 1);
}

#[test]
fn model_limits_apply_to_their_group_only() {
    let store = MemStore::default();
    let k = key(|k| {
        k.model_rpm_limit.insert("gpt-4o".into(), 1);
        k.model_tpm_limit.insert("claude".into(), 100);
    });
    let free = dep("free");
    admit(&store, &req(Some(&k), &free, 500, 0, NOW)).unwrap();
    let e = admit(&store, &req(Some(&k), &free, 0, 0, NOW)).unwrap_err();
    assert!(
        e.message
            .contains("model_rpm_limit 1 for model 'gpt-4o' reached"),
        "{}",
        e.message
    );
    let mut claude = req(Some(&k), &free, 100, 0, NOW);
    claude.group = "claude";
    let c = admit(&store, &claude).unwrap();
    assert!(admit(&store, &claude)
        .unwrap_err()
        .message
        .contains("model_tpm_limit 100 for model 'claude'"));
    settle(&store, &c, Some(40), 0, NOW);
    claude.est_tokens = 60;
    admit(&store, &claude).unwrap();
    assert!(store
        .get(&model_counter(&k.token, "claude", "rpm"))
        .is_none());
    assert!(
        store.get(&keystate::state_key(&k.token)).is_none(),
        "no key record without a limit of the key's own"
    );
}

#[test]
fn a_refusal_gives_back_what_earlier_checks_took() {
    let store = MemStore::default();
    let k = key(|k| {
        k.max_budget = Some(1.0);
        k.max_parallel_requests = Some(5);
        k.rpm_limit = Some(10);
        k.tpm_limit = Some(1000);
        k.model_rpm_limit.insert("gpt-4o".into(), 10);
        k.model_tpm_limit.insert("gpt-4o".into(), 300);
    });
    let capped = dep("capped");
    let first = admit(&store, &req(Some(&k), &capped, 200, 100_000, NOW)).unwrap();
    // The model tpm check refuses after budget, slot, rpm, tpm and model rpm were taken.
    let e = admit(&store, &req(Some(&k), &capped, 200, 100_000, NOW)).unwrap_err();
    assert!(e.message.contains("model_tpm_limit 300"), "{}", e.message);
    let spend = crate::limits::key_spend(&store, &k, NOW);
    assert_eq!(spend.reserved_micros, 100_000);
    let own = keystate::read(&store, &k.token);
    assert_eq!((own.parallel, own.rpm.count, own.tpm.count), (1, 1, 200));
    for (counter, want) in [
        (model_counter(&k.token, "gpt-4o", "rpm"), 1),
        (model_counter(&k.token, "gpt-4o", "tpm"), 200),
        (crate::limits::deployment_counter("capped", "rpm"), 1),
    ] {
        assert_eq!(window_count(&store, &counter), want, "{counter}");
    }
    settle(&store, &first, Some(200), 50_000, NOW);
    assert_eq!(keystate::read(&store, &k.token).parallel, 0);
}
