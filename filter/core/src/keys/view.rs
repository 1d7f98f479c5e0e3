//! How key records look in API responses: LiteLLM's field names, times as ISO-8601.

use super::record::KeyRecord;
use super::time::iso8601;
use serde_json::{Map, Value};

/// A record as responses show it: every stored field, `expires` / `created_at` /
/// `updated_at` as ISO-8601 UTC strings (null when unset), no unix `expires_at`.
pub fn record(rec: &KeyRecord) -> Map<String, Value> {
    let mut m = match serde_json::to_value(rec) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    m.remove("expires_at");
    m.insert("expires".into(), time(rec.expires_at));
    // Declared keys carry no creation time: 0 means unknown, not 1970.
    m.insert(
        "created_at".into(),
        time(Some(rec.created_at).filter(|t| *t > 0)),
    );
    m.insert(
        "updated_at".into(),
        time(Some(rec.updated_at).filter(|t| *t > 0)),
    );
    m
}

/// The /key/generate and /key/regenerate answer: the record plus the plaintext,
/// which is shown this once and never stored.
pub fn with_secret(rec: &KeyRecord, plaintext: &str) -> Value {
    let mut m = record(rec);
    m.insert("key".into(), Value::String(plaintext.to_string()));
    Value::Object(m)
}

fn time(secs: Option<u64>) -> Value {
    secs.map_or(Value::Null, |s| Value::String(iso8601(s)))
}
