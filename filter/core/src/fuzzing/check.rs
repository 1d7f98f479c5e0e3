//! The invariants, as assertions shared by every target.

use crate::config::{Config, Deployment};
use crate::error::ApiError;
use crate::spend;
use crate::translate::Usage;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

/// Values nested deeper than this are not re-parsed: serde_json refuses
/// documents over 128 levels, which says nothing about the value.
const ROUND_TRIP_DEPTH: usize = 100;

/// The gateway configuration targets share: every provider, declared keys with
/// limits and budgets, aliases and prices.
pub(crate) const HOUSE_CONFIG: &str = r#"
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_KEY, rpm: 1000, tpm: 1000000}
    model_info: {id: oa-1}
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://10.0.0.5:8000/v1", api_key: os.environ/OPENAI_KEY, weight: 2}
    model_info: {id: oa-2, input_cost_per_token: 0.0000001, output_cost_per_token: 0.0000004}
  - model_name: claude
    litellm_params: {model: anthropic/claude-sonnet-4-5, api_key: os.environ/ANTHROPIC_KEY, max_tokens: 1024}
    model_info: {id: an-1}
  - model_name: gemini
    litellm_params: {model: gemini/gemini-2.5-flash, api_key: os.environ/GEMINI_KEY}
    model_info: {id: ge-1}
  - model_name: embed
    litellm_params: {model: gemini/gemini-embedding-001, api_key: os.environ/GEMINI_KEY}
    model_info: {id: ge-embed}
  - model_name: embed-oa
    litellm_params: {model: openai/text-embedding-3-small, api_key: os.environ/OPENAI_KEY}
    model_info: {id: oa-embed}
  - model_name: azure-gpt
    litellm_params: {model: azure/gpt-4o, api_base: "https://fuzz.openai.azure.com", api_key: os.environ/AZURE_KEY, api_version: "2024-06-01"}
    model_info: {id: az-1}
router_settings:
  model_group_alias: {best: claude, flash: {model: gemini, hidden: true}}
litellm_settings: {drop_params: true}
general_settings: {master_key: sk-master-fuzz, max_request_size_mb: 1, spend_log_size: 50, max_keys: 64}
keys:
  - {key: sk-admin-fuzz, key_alias: ops, role: proxy_admin}
  - key: sk-user-fuzz
    key_alias: alice
    user_id: alice
    team_id: red
    models: [gpt-4o, claude, best, embed]
    max_budget: 0.5
    soft_budget: 0.1
    budget_duration: 1d
    rpm_limit: 6
    tpm_limit: 200000
    max_parallel_requests: 2
    model_rpm_limit: {claude: 3}
    metadata: {project: fuzz}
  - {key: sk-customer-fuzz, key_alias: cust, role: customer, models: [gemini, flash]}
"#;

/// Secrets in [`HOUSE_CONFIG`]: client keys and the provider keys it resolves.
pub(crate) const HOUSE_SECRETS: [&str; 8] = [
    "sk-master-fuzz",
    "sk-admin-fuzz",
    "sk-user-fuzz",
    "sk-customer-fuzz",
    "prov-OPENAI_KEY",
    "prov-ANTHROPIC_KEY",
    "prov-GEMINI_KEY",
    "prov-AZURE_KEY",
];

/// Client keys among [`HOUSE_SECRETS`] (never sent upstream).
pub(crate) const CLIENT_KEYS: [&str; 4] = [
    "sk-master-fuzz",
    "sk-admin-fuzz",
    "sk-user-fuzz",
    "sk-customer-fuzz",
];

/// Provider credentials resolve to `prov-<NAME>`.
pub(crate) fn house_env(name: &str) -> Option<String> {
    Some(format!("prov-{name}"))
}

/// [`HOUSE_CONFIG`], loaded once.
pub(crate) fn house() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| match Config::load(HOUSE_CONFIG, &house_env) {
        Ok(c) => c,
        Err(e) => panic!("house config: {e}"),
    })
}

/// Parses `bytes` as one JSON document without duplicate object keys, and
/// checks the value survives a serialise/parse round trip. Returns the value.
pub(crate) fn json(what: &str, bytes: &[u8]) -> Value {
    let v: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => panic!("{what}: output is not JSON ({e}): {}", shown(bytes)),
    };
    if let Err(e) = serde_json::from_slice::<NoDuplicateKeys>(bytes) {
        panic!("{what}: {e}: {}", shown(bytes));
    }
    round_trip(what, &v);
    v
}

/// Checks a value survives serialisation and parsing (floats within an ulp:
/// serde_json's default float parsing is not exactly round-trip).
pub(crate) fn round_trip(what: &str, v: &Value) {
    if depth(v) > ROUND_TRIP_DEPTH {
        return;
    }
    let text = v.to_string();
    let back: Value = match serde_json::from_str(&text) {
        Ok(b) => b,
        Err(e) => panic!("{what}: serialised value does not parse ({e}): {text}"),
    };
    assert!(
        same(v, &back),
        "{what}: value changed in a round trip: {text}"
    );
}

/// Nesting depth of a value (a scalar is 0).
pub(crate) fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y
                || match (x.as_f64(), y.as_f64()) {
                    (Some(p), Some(q)) => p == q || (p - q).abs() <= p.abs().max(q.abs()) * 4e-16,
                    _ => false,
                }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// At most 2000 bytes of an output, for failure messages.
pub(crate) fn shown(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(2000)]).into_owned()
}

/// A JSON document that refuses duplicate keys in any object.
struct NoDuplicateKeys;

impl<'de> Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicateKeysVisitor)
    }
}

struct NoDuplicateKeysVisitor;

impl<'de> Visitor<'de> for NoDuplicateKeysVisitor {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(NoDuplicateKeys)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(NoDuplicateKeys)
    }
}

fn str_at<'v>(what: &str, v: &'v Value, pointer: &str) -> &'v str {
    match v.pointer(pointer).and_then(Value::as_str) {
        Some(s) => s,
        None => panic!("{what}: `{pointer}` is not a string: {v}"),
    }
}

fn array_at<'v>(what: &str, v: &'v Value, pointer: &str) -> &'v Vec<Value> {
    match v.pointer(pointer).and_then(Value::as_array) {
        Some(a) => a,
        None => panic!("{what}: `{pointer}` is not an array: {v}"),
    }
}

fn is_error(v: &Value) -> bool {
    v.get("error").is_some_and(Value::is_object)
}

/// `{"error": {"message": str, "type": str, ...}}`.
pub(crate) fn openai_error(what: &str, v: &Value) {
    assert!(is_error(v), "{what}: not an OpenAI error: {v}");
    str_at(what, v, "/error/message");
    str_at(what, v, "/error/type");
}

/// `{"type": "error", "error": {"type": str, "message": str}}`.
pub(crate) fn anthropic_error(what: &str, v: &Value) {
    assert_eq!(str_at(what, v, "/type"), "error", "{what}: {v}");
    str_at(what, v, "/error/type");
    str_at(what, v, "/error/message");
}

/// `{"error": {"code": 4xx/5xx, "message": str, "status": str}}`.
pub(crate) fn gemini_error(what: &str, v: &Value) {
    let code = v.pointer("/error/code").and_then(Value::as_u64);
    assert!(
        code.is_some_and(|c| (400..600).contains(&c)),
        "{what}: Gemini error code: {v}"
    );
    str_at(what, v, "/error/message");
    str_at(what, v, "/error/status");
}

/// A `chat.completion` (or an OpenAI error).
pub(crate) fn openai_chat(what: &str, v: &Value) {
    if is_error(v) {
        return openai_error(what, v);
    }
    assert_eq!(str_at(what, v, "/object"), "chat.completion", "{what}: {v}");
    for c in array_at(what, v, "/choices") {
        assert!(
            c.get("message").is_some_and(Value::is_object),
            "{what}: choice without message: {v}"
        );
        assert!(c.get("index").is_some_and(Value::is_u64), "{what}: {v}");
    }
    usage_json(what, v.get("usage"));
}

/// A `chat.completion.chunk` (or an OpenAI error event).
pub(crate) fn openai_chunk(what: &str, v: &Value) {
    if is_error(v) {
        return openai_error(what, v);
    }
    assert_eq!(
        str_at(what, v, "/object"),
        "chat.completion.chunk",
        "{what}: {v}"
    );
    for c in array_at(what, v, "/choices") {
        assert!(
            c.get("delta").is_some_and(Value::is_object),
            "{what}: choice without delta: {v}"
        );
        assert!(c.get("index").is_some_and(Value::is_u64), "{what}: {v}");
    }
    usage_json(what, v.get("usage"));
}

/// An OpenAI chat request as the pivot carries it.
pub(crate) fn openai_request(what: &str, v: &Value) {
    str_at(what, v, "/model");
    array_at(what, v, "/messages");
}

/// An OpenAI embeddings list.
pub(crate) fn openai_embeddings(what: &str, v: &Value) {
    if is_error(v) {
        return openai_error(what, v);
    }
    assert_eq!(str_at(what, v, "/object"), "list", "{what}: {v}");
    array_at(what, v, "/data");
    usage_json(what, v.get("usage"));
}

/// A Responses API response object.
pub(crate) fn responses_object(what: &str, v: &Value) {
    if is_error(v) {
        return openai_error(what, v);
    }
    assert_eq!(str_at(what, v, "/object"), "response", "{what}: {v}");
    array_at(what, v, "/output");
}

/// An Anthropic Messages response.
pub(crate) fn anthropic_message(what: &str, v: &Value) {
    if v.get("type").and_then(Value::as_str) == Some("error") {
        return anthropic_error(what, v);
    }
    assert_eq!(str_at(what, v, "/type"), "message", "{what}: {v}");
    assert_eq!(str_at(what, v, "/role"), "assistant", "{what}: {v}");
    array_at(what, v, "/content");
}

/// A Gemini generateContent response.
pub(crate) fn gemini_response(what: &str, v: &Value) {
    if is_error(v) {
        return gemini_error(what, v);
    }
    array_at(what, v, "/candidates");
}

/// An OpenAI `usage` object, when present: totals add up (saturating).
pub(crate) fn usage_json(what: &str, usage: Option<&Value>) {
    let Some(u) = usage.filter(|u| !u.is_null()) else {
        return;
    };
    let n = |k: &str| u.get(k).and_then(Value::as_u64);
    if let (Some(p), Some(c), Some(t)) = (
        n("prompt_tokens"),
        n("completion_tokens"),
        n("total_tokens"),
    ) {
        assert_eq!(t, p.saturating_add(c), "{what}: usage total: {u}");
    }
}

/// A translator error: a client or upstream status and an OpenAI body.
pub(crate) fn api_error(what: &str, e: &ApiError) {
    assert!(
        (400..600).contains(&e.status),
        "{what}: error status {}: {e:?}",
        e.status
    );
    let v = json(what, &e.openai_body());
    openai_error(what, &v);
}

/// Usage is usable: totals, the OpenAI rendering and costs on every house deployment.
pub(crate) fn usage(what: &str, u: &Usage) {
    assert_eq!(
        u.total(),
        u.prompt_tokens.saturating_add(u.completion_tokens),
        "{what}"
    );
    let v = u.to_openai();
    usage_json(what, Some(&v));
    round_trip(what, &v);
    for d in &house().deployments {
        cost(what, d, u);
    }
}

/// A cost is defined and, for consistent counts, within the worst-case
/// reservation made for the same prompt and output tokens.
pub(crate) fn cost(what: &str, d: &Deployment, u: &Usage) {
    let p = spend::cost::effective_price(d);
    for (name, price) in [
        ("input", p.input),
        ("output", p.output),
        ("cache_read", p.cache_read),
        ("cache_write", p.cache_write),
    ] {
        assert!(
            price.is_finite() && price >= 0.0,
            "{what}: {} {name} price {price}",
            d.id
        );
    }
    let cost = spend::cost_micros(d, u);
    let usd = cost as f64 / 1e6;
    assert!(usd.is_finite(), "{what}: cost {usd}");
    let cache = u.cached_tokens.checked_add(u.cache_creation_tokens);
    if cache.is_some_and(|c| c <= u.prompt_tokens) {
        let worst = spend::worst_case_micros(d, u.prompt_tokens, u.completion_tokens);
        assert!(
            cost <= worst,
            "{what}: {} cost {cost} above the reservation {worst} for {u:?}",
            d.id
        );
    }
}
