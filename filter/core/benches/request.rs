#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
//! One request's whole life in the core (headers, body, usage tap, settle) as
//! the filter drives it, with a store that counts its reads and writes: inside
//! Envoy every store call is a shared-data host call, so the counts are what the
//! filter pays per request beyond the work timed here.
//! Run: `cargo bench -p tollgate-core --bench request`.

use std::cell::Cell;
use std::time::Instant;
use tollgate_core::exchange::ResponsePlan;
use tollgate_core::gateway::Env;
use tollgate_core::keys::{KeyStore, MemStore, StoreError};
use tollgate_core::spend::tap::{usage_from_body, TapFormat};
use tollgate_core::{BodyOutcome, Config, Gateway, HeadersOutcome};

/// MemStore that counts calls and bytes moved.
#[derive(Default)]
struct Counting {
    inner: MemStore,
    gets: Cell<u64>,
    sets: Cell<u64>,
    bytes: Cell<u64>,
}

impl KeyStore for Counting {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.gets.set(self.gets.get() + 1);
        let v = self.inner.get(key);
        if let Some((b, _)) = &v {
            self.bytes.set(self.bytes.get() + b.len() as u64);
        }
        if std::env::var_os("BENCH_TRACE").is_some() {
            eprintln!("get {key} -> {}", v.as_ref().map_or(0, |(b, _)| b.len()));
        }
        v
    }

    fn set(&self, key: &str, value: &[u8], version: Option<u32>) -> Result<(), StoreError> {
        self.sets.set(self.sets.get() + 1);
        self.bytes.set(self.bytes.get() + value.len() as u64);
        if std::env::var_os("BENCH_TRACE").is_some() {
            eprintln!("set {key} <- {}", value.len());
        }
        self.inner.set(key, value, version)
    }
}

const CONFIG: &str = r#"
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:9/v1", api_key: os.environ/P}
    model_info: {id: bench-openai}
  - model_name: claude-haiku
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: "http://127.0.0.1:9", api_key: os.environ/P}
    model_info: {id: bench-anthropic}
general_settings: {master_key: os.environ/M}
"#;

const BODY: &[u8] = br#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in five words."}],"temperature":0.2,"max_tokens":16}"#;
const BODY_CLAUDE: &[u8] = br#"{"model":"claude-haiku","messages":[{"role":"user","content":"Say hello in five words."}],"temperature":0.2,"max_tokens":16}"#;
const ANSWER: &[u8] = br#"{"id":"chatcmpl-bench","object":"chat.completion","created":1733000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":13,"completion_tokens":9,"total_tokens":22}}"#;

const ANTHROPIC_ANSWER: &[u8] = br#"{"id":"msg_bench","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":[{"type":"text","text":"Hello! How can I help you today?"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":13,"output_tokens":9,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}"#;

fn one(g: &Gateway, store: &Counting, token: &str, now: u64) {
    one_to(g, store, token, now, BODY);
}

fn one_to(g: &Gateway, store: &Counting, token: &str, now: u64, body: &[u8]) {
    let mut random = |b: &mut [u8]| b.fill(7);
    let mut env = Env {
        store,
        now,
        random: &mut random,
        pick: now,
        now_ms: now * 1000,
    };
    let auth = format!("Bearer {token}");
    let header = |n: &str| (n == "authorization").then(|| auth.clone());
    let pending = match g.on_request_headers("POST", "/v1/chat/completions", &header, &mut env) {
        HeadersOutcome::ReadBody(p) => p,
        HeadersOutcome::Reply(r) => panic!("{} {}", r.status, String::from_utf8_lossy(&r.body)),
    };
    let f = match g.on_request_body(&pending, body, &mut env) {
        BodyOutcome::Forward(f) => f,
        BodyOutcome::Reply(r) => panic!("{} {}", r.status, String::from_utf8_lossy(&r.body)),
    };
    let ticket = f.ticket.expect("ticket");
    let usage = match &f.plan {
        ResponsePlan::Translate(t) => t.translate_body(200, ANTHROPIC_ANSWER).1,
        ResponsePlan::Passthrough => usage_from_body(TapFormat::OpenAiChat, ANSWER).map(|(u, _)| u),
    };
    let (_record, _spend) = g.settle(&ticket, usage, None, 200, store, now * 1000);
}

fn main() {
    let env = |n: &str| match n {
        "P" => Some("sk-provider".to_string()),
        "M" => Some("sk-master".to_string()),
        _ => None,
    };
    let g = Gateway::new(Config::load(CONFIG, &env).expect("config"));
    let store = Counting::default();
    let mut random = |b: &mut [u8]| b.fill(9);
    let mut env = Env {
        store: &store,
        now: 1_800_000_000,
        random: &mut random,
        pick: 1,
        now_ms: 1_800_000_000_000,
    };
    let gen = br#"{"key_alias":"bench-team","max_budget":1000000,"rpm_limit":100000000,"tpm_limit":100000000000,"max_parallel_requests":10000,"metadata":{"department":"bench"}}"#;
    let header = |n: &str| (n == "authorization").then(|| "Bearer sk-master".to_string());
    let pending = match g.on_request_headers("POST", "/key/generate", &header, &mut env) {
        HeadersOutcome::ReadBody(p) => p,
        HeadersOutcome::Reply(r) => panic!("{}", r.status),
    };
    let vkey = match g.on_request_body(&pending, gen, &mut env) {
        BodyOutcome::Reply(r) => {
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            v["key"].as_str().unwrap().to_string()
        }
        BodyOutcome::Forward(_) => panic!("forwarded"),
    };
    for (name, token) in [("master key", "sk-master"), ("virtual key", vkey.as_str())] {
        // Warm: the first request creates the counters.
        one(&g, &store, token, 1_800_000_000);
        store.gets.set(0);
        store.sets.set(0);
        store.bytes.set(0);
        let rounds = 20_000u64;
        let start = Instant::now();
        for i in 0..rounds {
            one(&g, &store, token, 1_800_000_000 + i / 1000);
        }
        let per = start.elapsed().as_secs_f64() * 1e6 / rounds as f64;
        println!(
            "{name:<12} {per:>6.2} µs/request natively; store per request: {:.1} gets, {:.1} sets, {:.0} bytes",
            store.gets.get() as f64 / rounds as f64,
            store.sets.get() as f64 / rounds as f64,
            store.bytes.get() as f64 / rounds as f64,
        );
    }
    let claude = BODY_CLAUDE;
    let rounds = 20_000u64;
    let start = Instant::now();
    for i in 0..rounds {
        one_to(&g, &store, &vkey, 1_800_000_000 + i / 1000, claude);
    }
    println!(
        "{:<12} {:>6.2} µs/request natively (OpenAI chat -> Anthropic Messages and back)",
        "translated",
        start.elapsed().as_secs_f64() * 1e6 / rounds as f64
    );
    if std::env::var_os("BENCH_TRACE").is_some() {
        eprintln!("--- one virtual-key request:");
        one(&g, &store, &vkey, 1_800_000_100);
        eprintln!("--- one master-key request:");
        one(&g, &store, "sk-master", 1_800_000_100);
    }
}
