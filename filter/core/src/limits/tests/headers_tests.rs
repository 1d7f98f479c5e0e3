//! What clients see: x-ratelimit headers, retry-after, 429 messages; deployment
//! capacity and callers without a key.

use super::support::{admit_at, dep, header, key, req, NOW};
use crate::keys::MemStore;
use crate::limits::reject::window_reset;
use crate::limits::{admit, deployment_counter, deployment_full, settle};

#[test]
fn success_headers_show_the_tightest_limit_after_this_request() {
    let store = MemStore::default();
    let k = key(|k| {
        k.rpm_limit = Some(5);
        k.model_rpm_limit.insert("gpt-4o".into(), 10);
        k.tpm_limit = Some(1000);
        k.model_tpm_limit.insert("gpt-4o".into(), 800);
    });
    let a = admit_at(&store, &k, 100, NOW).unwrap();
    let want = [
        ("x-ratelimit-limit-requests", "5"),
        ("x-ratelimit-remaining-requests", "4"),
        ("x-ratelimit-reset-requests", "23s"),
        ("x-ratelimit-limit-tokens", "800"),
        ("x-ratelimit-remaining-tokens", "700"),
        ("x-ratelimit-reset-tokens", "23s"),
    ];
    let got: Vec<(&str, &str)> = a.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    assert_eq!(got, want);
}

#[test]
fn headers_only_for_limits_the_key_has() {
    let store = MemStore::default();
    // (key, has request headers, has token headers)
    for (k, requests, tokens) in [
        (key(|_| {}), false, false),
        (key(|k| k.rpm_limit = Some(3)), true, false),
        (key(|k| k.tpm_limit = Some(3)), false, true),
        (
            key(|k| {
                k.model_rpm_limit.insert("gpt-4o".into(), 3);
            }),
            true,
            false,
        ),
        (
            key(|k| {
                k.model_tpm_limit.insert("claude".into(), 3);
            }),
            false,
            false,
        ),
        (key(|k| k.max_parallel_requests = Some(3)), false, false),
    ] {
        let a = admit_at(&store, &k, 0, NOW).unwrap();
        let has = |n| header(&a.headers, n).is_some();
        assert_eq!(has("x-ratelimit-limit-requests"), requests, "{k:?}");
        assert_eq!(has("x-ratelimit-remaining-requests"), requests);
        assert_eq!(has("x-ratelimit-limit-tokens"), tokens, "{k:?}");
        assert_eq!(has("x-ratelimit-reset-tokens"), tokens);
        settle(&store, &a, None, 0, NOW);
    }
}

#[test]
fn rpm_429_names_the_key_and_the_reset() {
    let store = MemStore::default();
    let k = key(|k| {
        k.key_alias = Some("alias".into());
        k.rpm_limit = Some(1);
        k.tpm_limit = Some(1000);
    });
    admit_at(&store, &k, 100, NOW).unwrap();
    let e = admit_at(&store, &k, 100, NOW).unwrap_err();
    assert_eq!(
        (e.status, e.kind, e.code),
        (429, "requests", Some("rate_limit_exceeded"))
    );
    assert_eq!(
        e.message,
        "Rate limit exceeded for key 'alias': rpm_limit 1 reached; resets in 23s"
    );
    assert!(!e.message.contains(&k.token));
    for (name, value) in [
        ("retry-after", "23"),
        ("x-ratelimit-limit-requests", "1"),
        ("x-ratelimit-remaining-requests", "0"),
        ("x-ratelimit-reset-requests", "23s"),
        ("x-ratelimit-limit-tokens", "1000"),
        // The refused request's reservation was given back.
        ("x-ratelimit-remaining-tokens", "900"),
    ] {
        assert_eq!(header(&e.headers, name), Some(value), "{name}");
    }
    let body: serde_json::Value = serde_json::from_slice(&e.openai_body()).unwrap();
    assert_eq!(body["error"]["type"], "requests");
}

#[test]
fn retry_after_is_at_least_one_second() {
    let minute_start = NOW - NOW % 60;
    for offset in 0..60 {
        let now = minute_start + offset;
        assert_eq!(window_reset(now), 60 - offset);
        let store = MemStore::default();
        let k = key(|k| k.rpm_limit = Some(0));
        let e = admit_at(&store, &k, 0, now).unwrap_err();
        let retry: u64 = header(&e.headers, "retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{offset}: {retry}");
        assert_eq!(retry, 60 - offset);
    }
}

#[test]
fn masked_name_when_no_alias() {
    let store = MemStore::default();
    let k = key(|k| {
        k.key_alias = Some(String::new());
        k.tpm_limit = Some(10);
    });
    let e = admit_at(&store, &k, 11, NOW).unwrap_err();
    assert!(e
        .message
        .starts_with("Rate limit exceeded for key 'sk-...wxyz': tpm_limit 10"));
    assert_eq!(e.kind, "tokens");
}

#[test]
fn deployment_full_at_its_rpm_or_tpm_this_minute() {
    let store = MemStore::default();
    let capped = dep("capped");
    let free = dep("free");
    for _ in 0..3 {
        assert!(!deployment_full(&store, &capped, NOW));
        admit(&store, &req(None, &capped, 10, 0, NOW)).unwrap();
    }
    assert!(deployment_full(&store, &capped, NOW));
    assert!(!deployment_full(&store, &capped, NOW + 60), "next minute");
    // admit() counts but does not refuse: routing is what skips full deployments.
    admit(&store, &req(None, &capped, 10, 0, NOW)).unwrap();
    assert!(!deployment_full(&store, &free, NOW));

    let store = MemStore::default();
    let a = admit(&store, &req(None, &capped, 1000, 0, NOW)).unwrap();
    assert!(deployment_full(&store, &capped, NOW), "tpm reserved");
    settle(&store, &a, Some(400), 0, NOW);
    assert!(!deployment_full(&store, &capped, NOW), "settled below");
}

#[test]
fn no_key_only_counts_the_deployment() {
    let store = MemStore::default();
    let capped = dep("capped");
    let a = admit(&store, &req(None, &capped, 50, 1_000_000, NOW)).unwrap();
    assert_eq!(a.key_token, None);
    assert_eq!(
        (a.group.as_str(), a.deployment_id.as_str()),
        ("gpt-4o", "capped")
    );
    assert_eq!(
        (a.minute, a.reserved_micros, a.parallel_slot),
        (NOW / 60, 0, false)
    );
    assert!(a.headers.is_empty() && !a.soft_budget_exceeded);
    assert_eq!(settle(&store, &a, Some(70), 123, NOW), 0);
    let counter = |what| deployment_counter("capped", what);
    let value = |c: String| {
        use crate::keys::KeyStore;
        String::from_utf8(store.get(&c).unwrap().0).unwrap()
    };
    assert_eq!(value(counter("rpm")), format!("{}:1", NOW / 60));
    assert_eq!(value(counter("tpm")), format!("{}:70", NOW / 60));
    let free = dep("free");
    admit(&store, &req(None, &free, 50, 0, NOW)).unwrap();
    assert!(crate::keys::KeyStore::get(&store, &deployment_counter("free", "rpm")).is_none());
}
