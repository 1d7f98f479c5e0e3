//! Fault-injection scripts and where they come from (header, FIFO queue, sticky default).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use hyper::header::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Request header that carries a per-request script.
pub const SCRIPT_HEADER: &str = "x-mock-script";

/// How one response should deviate from the normal answer; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Script {
    /// Status code to answer with instead of 200.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Body replacing the normal answer: a JSON value is serialised, a string sent as-is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Extra response headers (they replace same-named ones).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Wait before sending the response headers.
    pub delay_ms: u64,
    /// Wait between the headers and the first body byte.
    pub ttfb_ms: u64,
    /// Pause between stream events.
    pub chunk_delay_ms: u64,
    /// Send this many body chunks (stream events), then abort the connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop_after_chunks: Option<usize>,
    /// Close the connection without any response.
    pub drop_connection: bool,
}

impl Script {
    /// Parses one script and checks that its status and headers are usable.
    pub fn parse_one(value: Value) -> Result<Script, String> {
        let script: Script =
            serde_json::from_value(value).map_err(|e| format!("invalid mock script: {e}"))?;
        script.validate()?;
        Ok(script)
    }

    /// Parses either one script object or a list of them.
    pub fn parse_many(text: &[u8]) -> Result<Vec<Script>, String> {
        let value: Value =
            serde_json::from_slice(text).map_err(|e| format!("mock script is not JSON: {e}"))?;
        match value {
            Value::Array(items) => items.into_iter().map(Script::parse_one).collect(),
            other => Script::parse_one(other).map(|s| vec![s]),
        }
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(status) = self.status {
            if !(100..=999).contains(&status) || (100..200).contains(&status) {
                return Err(format!("invalid mock script: unusable status {status}"));
            }
        }
        for (name, value) in &self.headers {
            HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("invalid mock script: bad header name {name:?}"))?;
            HeaderValue::from_str(value)
                .map_err(|_| format!("invalid mock script: bad value for header {name:?}"))?;
        }
        Ok(())
    }

    /// True when the script only adds headers or timing and keeps the normal answer.
    pub fn keeps_answer(&self) -> bool {
        self.body.is_none() && self.status.is_none_or(|s| s < 400)
    }
}

/// Which rule picked the script, for the request log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Came from the `x-mock-script` request header.
    Header,
    /// Popped from the FIFO queue.
    Queue,
    /// The sticky default script.
    Default,
    /// No script applied.
    None,
}

impl Source {
    /// Short label used in log lines.
    pub fn label(self) -> &'static str {
        match self {
            Source::Header => "header",
            Source::Queue => "queue",
            Source::Default => "default",
            Source::None => "-",
        }
    }
}

/// Queued and sticky scripts shared by all connections.
#[derive(Debug, Default)]
pub struct ScriptStore {
    inner: Mutex<StoreInner>,
}

#[derive(Debug, Default)]
struct StoreInner {
    queue: VecDeque<Script>,
    default: Option<Script>,
}

impl ScriptStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, StoreInner> {
        // A panic elsewhere cannot leave the queue half-written, so poison is harmless.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends scripts to the FIFO and returns the new queue length.
    pub fn enqueue(&self, scripts: Vec<Script>) -> usize {
        let mut inner = self.lock();
        inner.queue.extend(scripts);
        inner.queue.len()
    }

    /// Empties the FIFO and returns how many scripts were dropped.
    pub fn clear_queue(&self) -> usize {
        let mut inner = self.lock();
        let n = inner.queue.len();
        inner.queue.clear();
        n
    }

    /// Sets (or with `None` clears) the sticky default script.
    pub fn set_default(&self, script: Option<Script>) {
        self.lock().default = script;
    }

    /// The queue and the default, for inspection.
    pub fn snapshot(&self) -> (Vec<Script>, Option<Script>) {
        let inner = self.lock();
        (inner.queue.iter().cloned().collect(), inner.default.clone())
    }

    /// Picks the script for a provider request: header, else queue (consumed), else default.
    /// A header script does not consume a queued one.
    pub fn select(&self, header: Option<Script>) -> (Script, Source) {
        if let Some(script) = header {
            return (script, Source::Header);
        }
        let mut inner = self.lock();
        if let Some(script) = inner.queue.pop_front() {
            return (script, Source::Queue);
        }
        match &inner.default {
            Some(script) => (script.clone(), Source::Default),
            None => (Script::default(), Source::None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(code: u16) -> Script {
        Script {
            status: Some(code),
            ..Script::default()
        }
    }

    #[test]
    fn parses_object_or_list_and_rejects_typos() {
        let one = Script::parse_many(br#"{"status":503,"headers":{"retry-after":"2"}}"#);
        assert_eq!(one.map(|v| v.len()), Ok(1));
        let many = Script::parse_many(br#"[{"delay_ms":5},{"drop_connection":true}]"#);
        assert_eq!(many.map(|v| v.len()), Ok(2));
        assert!(Script::parse_many(br#"{"delay":5}"#).is_err());
        assert!(Script::parse_many(br#"{"status":42}"#).is_err());
        assert!(Script::parse_many(br#"{"headers":{"bad name":"x"}}"#).is_err());
        assert!(Script::parse_many(b"nope").is_err());
    }

    #[test]
    fn precedence_is_header_then_queue_then_default() {
        let store = ScriptStore::default();
        store.set_default(Some(status(503)));
        store.enqueue(vec![status(429)]);
        assert_eq!(store.select(Some(status(500))).1, Source::Header);
        let (s, src) = store.select(None);
        assert_eq!((s.status, src), (Some(429), Source::Queue));
        let (s, src) = store.select(None);
        assert_eq!((s.status, src), (Some(503), Source::Default));
        store.set_default(None);
        assert_eq!(store.select(None).1, Source::None);
    }

    #[test]
    fn keeps_answer_only_without_body_or_error_status() {
        assert!(Script::default().keeps_answer());
        assert!(status(201).keeps_answer());
        assert!(!status(500).keeps_answer());
        let with_body = Script {
            body: Some(json!("x")),
            ..Script::default()
        };
        assert!(!with_body.keeps_answer());
    }
}
