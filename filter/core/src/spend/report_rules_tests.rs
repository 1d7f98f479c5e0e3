//! /global/spend/report, parameter errors, routes and who may see what.

use super::tests::{ids, Env};
use super::*;
use crate::spend::record::usd;
use serde_json::json;

#[test]
fn report_groups_sum_exactly_to_the_records() {
    let env = Env::new();
    let sum: u64 = env.records.iter().map(|r| r.spend_micros).sum();
    assert_eq!(sum, 127_290_131);
    for by in [
        "api_key",
        "model",
        "team",
        "department",
        "project",
        "cost_center",
    ] {
        let v = env.get("/global/spend/report", &format!("group_by={by}"));
        assert_eq!(v["group_by"], by);
        let groups = v["groups"].as_array().unwrap();
        let group_sum: u64 = groups
            .iter()
            .map(|g| g["spend_micros"].as_u64().unwrap())
            .sum();
        assert_eq!(group_sum, sum, "{by}");
        assert_eq!(v["total_spend_micros"], sum, "{by}");
        assert_eq!(v["total_spend"], usd(sum), "{by}");
        assert_eq!(v["total_requests"], 6);
        let requests: u64 = groups.iter().map(|g| g["requests"].as_u64().unwrap()).sum();
        assert_eq!(requests, 6);
        let tokens: u64 = groups
            .iter()
            .map(|g| g["total_tokens"].as_u64().unwrap())
            .sum();
        assert_eq!(v["total_tokens"], tokens, "{by}: the documented name");
        assert!(v.get("total_total_tokens").is_none());
        for g in groups {
            assert_eq!(g["spend"], usd(g["spend_micros"].as_u64().unwrap()));
        }
        let spends: Vec<u64> = groups
            .iter()
            .map(|g| g["spend_micros"].as_u64().unwrap())
            .collect();
        assert!(
            spends.windows(2).all(|w| w[0] >= w[1]),
            "largest first: {by}"
        );
    }
    let v = env.get("/global/spend/report", "group_by=department");
    let by_name: Vec<(&str, u64)> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["group"].as_str().unwrap(),
                g["spend_micros"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_name,
        [
            ("eng", 123_790_123),
            ("ops", 2_500_000),
            ("unassigned", 1_000_001),
            ("42", 7)
        ]
    );
    // Team is the default grouping; keys without a team are unassigned.
    let v = env.get("/global/spend/report", "");
    assert_eq!(v["group_by"], "team");
    assert_eq!(v["groups"][0]["group"], "red");
    assert_eq!(v["groups"][0]["prompt_tokens"], 1 + 11 + 51);
    assert_eq!(v["groups"][1]["group"], "unassigned");
}

#[test]
fn report_date_filters() {
    let env = Env::new();
    let v = env.get(
        "/global/spend/report",
        "group_by=model&start_date=2025-01-02&end_date=2025-01-04",
    );
    assert_eq!(v["total_spend_micros"], 3_500_001);
    assert_eq!(v["start_date"], "2025-01-02");
    assert_eq!(v["end_date"], "2025-01-04");
    let v = env.get("/global/spend/report", "start_date=2026-01-01");
    assert_eq!(v["groups"], json!([]));
    assert_eq!(v["total_spend"], 0.0);
    assert!(env.get("/global/spend/report", "")["start_date"].is_null());
}

#[test]
fn bad_parameters_are_named() {
    let env = Env::new();
    let m = Principal::Master;
    for (path, q, param) in [
        ("/spend/logs", "start_date=2025-13-01", "start_date"),
        ("/spend/logs", "end_date=yesterday", "end_date"),
        (
            "/spend/logs",
            "start_date=2025-01-05&end_date=2025-01-04",
            "end_date",
        ),
        ("/spend/logs", "summarize=maybe", "summarize"),
        (
            "/global/spend/report",
            "start_date=2025-02-30",
            "start_date",
        ),
        ("/global/spend/report", "group_by=colour", "group_by"),
    ] {
        let e = env.err(&m, "GET", path, q);
        assert_eq!((e.status, e.param), (400, Some(param)), "{path}?{q}");
    }
}

#[test]
fn routes_and_methods() {
    let env = Env::new();
    let m = Principal::Master;
    let e = env.err(&m, "POST", "/spend/logs", "");
    assert_eq!(e.status, 405);
    assert_eq!(e.headers, vec![("allow", "GET".to_string())]);
    assert_eq!(
        env.err(&m, "DELETE", "/global/spend/report", "").status,
        405
    );
    for path in [
        "/spend",
        "/spend/keys",
        "/global/spend",
        "/global/spend/logs",
    ] {
        assert_eq!(env.err(&m, "GET", path, "").status, 404, "{path}");
    }
}

#[test]
fn authorization_per_role() {
    let env = Env::new();
    let all = env.get("/spend/logs", "");
    // Master, an open gateway and proxy_admin keys see everything.
    for who in [
        Principal::Master,
        Principal::Anonymous,
        env.who("sk-admin-key"),
    ] {
        assert_eq!(env.call(&who, "GET", "/spend/logs", "").unwrap(), all);
        env.call(&who, "GET", "/global/spend/report", "").unwrap();
    }
    // An internal user sees only its own key's records.
    let alice = env.who("sk-alice-key");
    let own = env.call(&alice, "GET", "/spend/logs", "").unwrap();
    assert_eq!(ids(&own), ["req-5", "req-1", "req-0"]);
    let q = "api_key=sk-alice-key&summarize=false&start_date=2025-01-01";
    assert_eq!(
        ids(&env.call(&alice, "GET", "/spend/logs", q).unwrap()),
        ["req-5", "req-1", "req-0"]
    );
    // Filters cannot widen the scope.
    let mine = env
        .call(&alice, "GET", "/spend/logs", "user_id=bob")
        .unwrap();
    assert_eq!(ids(&mine), Vec::<&str>::new());
    assert_eq!(
        env.err(&alice, "GET", "/spend/logs", "api_key=sk-bob-key")
            .status,
        403
    );
    let summary = env
        .call(
            &alice,
            "GET",
            "/spend/logs",
            "start_date=2025-01-01&end_date=2025-01-05",
        )
        .unwrap();
    let total: u64 = summary
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["spend_micros"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 333_333 + 1 + 123_456_789);
    assert_eq!(
        env.err(&alice, "GET", "/global/spend/report", "").status,
        403
    );
    // Customers have no spend API at all.
    let cust = env.who("sk-cust-key");
    assert_eq!(env.err(&cust, "GET", "/spend/logs", "").status, 403);
    assert_eq!(
        env.err(&cust, "GET", "/global/spend/report", "").status,
        403
    );
}

#[test]
fn reports_cover_only_what_the_ring_retains() {
    let env = Env::with_capacity(3);
    let v = env.get("/global/spend/report", "group_by=model");
    assert_eq!(v["total_requests"], 3);
    let kept: u64 = env.records[3..].iter().map(|r| r.spend_micros).sum();
    assert_eq!(v["total_spend_micros"], kept);
    assert_eq!(
        ids(&env.get("/spend/logs", "")),
        ["req-5", "req-4", "req-3"]
    );
}
