//! Strategies through the gateway pipeline: forwarding registers load, settling
//! gives it back, and the next pick sees it.

use super::*;
use crate::gateway::ticket::Ticket;
use crate::gateway::{BodyOutcome, Env, Gateway, HeadersOutcome};
use crate::keys::MemStore;
use crate::translate::Usage;

const NOW: u64 = 6_000_000;

fn gateway(strategy: &str, extra: &str) -> Gateway {
    let text = format!(
        "model_list:\n  - {{model_name: g, litellm_params: {{model: openai/a, api_base: 'http://a:1'{extra}}}, model_info: {{id: a}}}}\n  - {{model_name: g, litellm_params: {{model: openai/b, api_base: 'http://b:1'}}, model_info: {{id: b}}}}\nrouter_settings: {{routing_strategy: {strategy}}}\n"
    );
    Gateway::new(Config::load(&text, &|_| None).unwrap())
}

/// Sends one request through both phases; returns its deployment and ticket.
fn send(g: &Gateway, store: &MemStore, pick: u64) -> (String, Ticket) {
    let mut random = |b: &mut [u8]| b.fill(1);
    let mut env = Env {
        store,
        now: NOW,
        random: &mut random,
        pick,
        now_ms: NOW * 1000,
    };
    let pending = match g.on_request_headers("POST", "/v1/chat/completions", &|_| None, &mut env) {
        HeadersOutcome::ReadBody(p) => p,
        other => panic!("{other:?}"),
    };
    let body = br#"{"model":"g","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#;
    match g.on_request_body(&pending, body, &mut env) {
        BodyOutcome::Forward(f) => (f.deployment_id.clone(), f.ticket.clone().unwrap()),
        BodyOutcome::Reply(r) => panic!("{r:?}"),
    }
}

fn settle(g: &Gateway, store: &MemStore, t: &Ticket, status: u16, ms: u64, tokens: u64) {
    let usage = Usage {
        prompt_tokens: tokens,
        ..Usage::default()
    };
    g.settle(t, Some(usage), None, status, store, t.start_ms + ms);
}

#[test]
fn least_busy_sends_to_the_idle_deployment_and_settling_frees_it() {
    let g = gateway("least-busy", "");
    let s = MemStore::default();
    let (first, t1) = send(&g, &s, 0);
    let (second, t2) = send(&g, &s, 0);
    assert_ne!(first, second, "the busy one is avoided");
    settle(&g, &s, &t1, 200, 5, 1);
    // first is idle again, second still busy: first wins whatever the draw.
    for pick in 0..4 {
        let (next, t) = send(&g, &s, pick);
        assert_eq!(next, first);
        settle(&g, &s, &t, 500, 5, 0);
    }
    settle(&g, &s, &t2, 499, 5, 0);
    assert_eq!(stats::in_flight(&s, "a") + stats::in_flight(&s, "b"), 0);
}

#[test]
fn latency_based_learns_from_successes_only() {
    let g = gateway("latency-based-routing", "");
    let s = MemStore::default();
    // Nothing measured: both are tried.
    let (x, tx) = send(&g, &s, 0);
    settle(&g, &s, &tx, 200, 900, 1);
    let (y, ty) = send(&g, &s, 0);
    assert_ne!(x, y, "the unmeasured one goes next");
    settle(&g, &s, &ty, 200, 30, 1);
    for pick in 0..4 {
        assert_eq!(send(&g, &s, pick).0, y, "the faster one");
    }
    // A failed request's quick error teaches nothing.
    let (_, failed) = send(&g, &s, 0);
    settle(&g, &s, &failed, 502, 1, 0);
    assert_eq!(stats::latency(&s, &x).unwrap().ewma_ms, 900.0);
}

#[test]
fn stream_latency_is_time_to_first_byte() {
    let g = gateway("latency-based-routing", "");
    let s = MemStore::default();
    let (d, mut t) = send(&g, &s, 0);
    t.stream = true;
    let start = t.start_ms;
    t.first_byte(|| start + 40);
    t.first_byte(|| start + 99);
    settle(&g, &s, &t, 200, 5_000, 1);
    assert_eq!(stats::latency(&s, &d).unwrap().ewma_ms, 40.0);
}

#[test]
fn usage_based_counts_tokens_without_a_tpm_limit() {
    let g = gateway("usage-based-routing-v2", "");
    let s = MemStore::default();
    let (first, t1) = send(&g, &s, 0);
    // The admission estimate is counted at once, so the other one is next.
    let (second, t2) = send(&g, &s, 0);
    assert_ne!(first, second);
    // Real usage replaces the estimates: first used far more.
    settle(&g, &s, &t1, 200, 5, 5_000);
    settle(&g, &s, &t2, 200, 5, 10);
    for pick in 0..4 {
        let (next, t) = send(&g, &s, pick);
        assert_eq!(next, second);
        settle(&g, &s, &t, 200, 5, 10);
    }
}

#[test]
fn usage_based_skips_deployments_at_their_limit() {
    // a may take 60 tokens a minute; one request's estimate fills it.
    let g = gateway("usage-based-routing", ", tpm: 60");
    let s = MemStore::default();
    let (first, t1) = send(&g, &s, 0);
    assert_eq!(first, "a", "both unused: a wins the draw");
    settle(&g, &s, &t1, 200, 5, 60);
    let (next, _) = send(&g, &s, 0);
    assert_eq!(next, "b");
}

#[test]
fn simple_shuffle_keeps_no_routing_state() {
    let g = gateway("simple-shuffle", "");
    let s = MemStore::default();
    let (d, t) = send(&g, &s, 0);
    assert_eq!(t.tracked, stats::Tracked::default());
    settle(&g, &s, &t, 200, 5, 1);
    assert!(stats::latency(&s, &d).is_none());
    assert_eq!(stats::in_flight(&s, &d), 0);
}
