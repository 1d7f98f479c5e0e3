//! The failover plan on the host: order of attempts, cooldown skipping, the
//! per-request fields, and the errors when nothing is left.

use super::*;
use crate::failover::{breaker, classify};
use crate::keys::MemStore;

const CFG: &str = r#"
model_list:
  - {model_name: gpt-4o, litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:9001/v1", weight: 1}, model_info: {id: oai-a}}
  - {model_name: gpt-4o, litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:9002/v1", weight: 1}, model_info: {id: oai-b}}
  - {model_name: claude, litellm_params: {model: anthropic/claude-x, api_base: "http://127.0.0.1:9003", api_key: ak}, model_info: {id: ant}}
  - {model_name: gemini, litellm_params: {model: gemini/gemini-2.5-pro, api_base: "http://127.0.0.1:9004", api_key: gk}, model_info: {id: gem}}
router_settings:
  fallbacks: [{gpt-4o: [claude, gemini]}]
  num_retries: 1
  allowed_fails: 0
  cooldown_time: 10
"#;

fn gw() -> Gateway {
    Gateway::new(Config::load(CFG, &|_| None).unwrap())
}

fn env<'a>(store: &'a MemStore, pick: u64, random: &'a mut dyn FnMut(&mut [u8])) -> Env<'a> {
    Env {
        store,
        now: 1_000,
        random,
        pick,
        now_ms: 1_000_000,
    }
}

fn send(g: &Gateway, store: &MemStore, pick: u64, body: &[u8]) -> BodyOutcome {
    let mut r = |b: &mut [u8]| b.fill(1);
    let mut e = env(store, pick, &mut r);
    let HeadersOutcome::ReadBody(p) =
        g.on_request_headers("POST", "/v1/chat/completions", &|_| None, &mut e)
    else {
        panic!("headers refused");
    };
    g.on_request_body(&p, body, &mut e)
}

const BODY: &[u8] = br#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#;

fn server_error() -> crate::failover::Failure {
    classify(500, None, None, br#"{"error":{"message":"boom"}}"#).unwrap()
}

#[test]
fn retries_the_other_deployment_then_walks_the_chain() {
    let g = gw();
    let store = MemStore::default();
    let BodyOutcome::Forward(f) = send(&g, &store, 7, BODY) else {
        panic!("not forwarded");
    };
    let first = f.deployment_id.clone();
    let mut fo = f
        .failover
        .expect("a group with two deployments can fail over");
    // Another deployment in the group exists, so Envoy is not asked to retry.
    assert!(!f
        .set_headers
        .iter()
        .any(|(k, _)| *k == "x-envoy-max-retries"));
    let mut r = |b: &mut [u8]| b.fill(1);
    let e = env(&store, 7, &mut r);
    let mut order = vec![first.clone()];
    while let Next::Call(c) = g.next_attempt(&mut fo, &server_error(), &e) {
        order.push(fo.deployment.clone());
        assert!(c.headers.iter().any(|(k, _)| k == ":path"));
    }
    let other = if first == "oai-a" { "oai-b" } else { "oai-a" };
    assert_eq!(order, vec![first.as_str(), other, "ant", "gem"]);
    assert_eq!((fo.retries, fo.fallbacks), (1, 2));
    // allowed_fails 0: every failed deployment is now cooling down.
    for d in ["oai-a", "oai-b", "ant", "gem"] {
        assert!(matches!(
            breaker::status(&store, d, 1_000_001),
            breaker::Status::Open(_)
        ));
    }
    let r = match send(&g, &store, 7, BODY) {
        BodyOutcome::Reply(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(r.status, 503);
    let msg = String::from_utf8_lossy(&r.body).to_string();
    for d in ["oai-a", "oai-b", "ant", "gem"] {
        assert!(msg.contains(d), "{msg}");
    }
    assert!(r
        .headers
        .iter()
        .any(|(k, v)| *k == "retry-after" && v == "10"));
}

#[test]
fn a_cooling_group_hands_the_request_to_its_fallback() {
    let g = gw();
    let store = MemStore::default();
    for d in ["oai-a", "oai-b"] {
        breaker::open(&store, d, 10_000, 1_000_000);
    }
    let BodyOutcome::Forward(f) = send(&g, &store, 3, BODY) else {
        panic!("not forwarded");
    };
    assert_eq!(
        (f.deployment_id.as_str(), f.group.as_str()),
        ("ant", "claude")
    );
    assert_eq!(f.fallbacks_before, 1);
}

#[test]
fn client_errors_stop_and_per_request_fields_apply() {
    let g = gw();
    let store = MemStore::default();
    let body = br#"{"model":"gpt-4o","messages":[],"disable_fallbacks":true,"num_retries":0}"#;
    let BodyOutcome::Forward(f) = send(&g, &store, 1, body) else {
        panic!("not forwarded");
    };
    // Stripped before the provider sees the body.
    let sent = f.body.clone().expect("cleaned body is sent");
    assert!(!String::from_utf8_lossy(&sent).contains("fallbacks"));
    let mut fo = f.failover.expect("room: the other deployment");
    let mut r = |b: &mut [u8]| b.fill(1);
    let e = env(&store, 1, &mut r);
    assert_eq!(g.next_attempt(&mut fo, &server_error(), &e), Next::GiveUp);
    let BodyOutcome::Forward(f) = send(&g, &MemStore::default(), 1, BODY) else {
        panic!("not forwarded");
    };
    let mut fo = f.failover.unwrap();
    let bad = classify(400, None, None, br#"{"error":{"message":"bad"}}"#).unwrap();
    assert_eq!(g.next_attempt(&mut fo, &bad, &e), Next::GiveUp);
}

#[test]
fn a_lone_deployment_asks_envoy_to_retry() {
    let g = Gateway::new(
        Config::load(
            "model_list:\n  - {model_name: solo, litellm_params: {model: openai/x, timeout: 2}}\nrouter_settings: {num_retries: 2, retry_policy: {RateLimitErrorRetries: 3}}\n",
            &|_| None,
        )
        .unwrap(),
    );
    let BodyOutcome::Forward(f) = send(&g, &MemStore::default(), 1, br#"{"model":"solo"}"#) else {
        panic!("not forwarded");
    };
    assert!(f.failover.is_none(), "nowhere else to go");
    let h = |n: &str| {
        f.set_headers
            .iter()
            .rev()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(h("x-envoy-max-retries").as_deref(), Some("3"));
    assert!(h("x-envoy-retriable-status-codes").unwrap().contains("429"));
    assert_eq!(
        h("x-envoy-upstream-rq-per-try-timeout-ms").as_deref(),
        Some("2000")
    );
    assert!(f.remove_headers.contains(&"x-envoy-retry-on"));
}
