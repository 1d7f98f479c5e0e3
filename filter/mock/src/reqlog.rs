//! Log of every provider request, so tests can assert on what reached the provider.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use hyper::HeaderMap;
use serde::Serialize;

/// Oldest entries are dropped beyond this many, so a long demo cannot exhaust memory.
pub const MAX_ENTRIES: usize = 10_000;

/// One recorded provider request.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// HTTP method.
    pub method: String,
    /// Path including the query string.
    pub path: String,
    /// Lower-cased header names; repeated headers joined with ", ".
    pub headers: BTreeMap<String, String>,
    /// Raw body as UTF-8 (invalid bytes replaced).
    pub body: String,
    /// When the request arrived, in unix milliseconds.
    pub at_ms: u64,
}

impl Entry {
    /// Builds an entry from the parts of a request.
    pub fn new(method: &str, path: &str, headers: &HeaderMap, body: &[u8]) -> Entry {
        let mut map: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            map.entry(name.as_str().to_owned())
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(&value);
                })
                .or_insert_with(|| value.into_owned());
        }
        Entry {
            method: method.to_owned(),
            path: path.to_owned(),
            headers: map,
            body: String::from_utf8_lossy(body).into_owned(),
            at_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        }
    }
}

/// Bounded, thread-safe request log.
#[derive(Debug, Default)]
pub struct RequestLog {
    entries: Mutex<VecDeque<Entry>>,
}

impl RequestLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Entry>> {
        // Entries are pushed whole, so a poisoned lock still guards consistent data.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a request, evicting the oldest one when full.
    pub fn push(&self, entry: Entry) {
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// All entries, oldest first.
    pub fn all(&self) -> Vec<Entry> {
        self.lock().iter().cloned().collect()
    }

    /// Forgets every entry and returns how many there were.
    pub fn clear(&self) -> usize {
        let mut entries = self.lock();
        let n = entries.len();
        entries.clear();
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn joins_repeated_headers_and_keeps_body_text() {
        let mut headers = HeaderMap::new();
        headers.append("x-a", HeaderValue::from_static("1"));
        headers.append("x-a", HeaderValue::from_static("2"));
        let entry = Entry::new("POST", "/v1/x?y=1", &headers, b"{\"a\":1}");
        assert_eq!(entry.headers.get("x-a").map(String::as_str), Some("1, 2"));
        assert_eq!(entry.body, "{\"a\":1}");
        assert_eq!(entry.path, "/v1/x?y=1");
    }

    #[test]
    fn caps_the_log_and_drops_oldest() {
        let log = RequestLog::default();
        let headers = HeaderMap::new();
        for i in 0..MAX_ENTRIES + 5 {
            log.push(Entry::new("GET", &format!("/{i}"), &headers, b""));
        }
        let all = log.all();
        assert_eq!(all.len(), MAX_ENTRIES);
        assert_eq!(all[0].path, "/5");
        assert_eq!(log.clear(), MAX_ENTRIES);
        assert!(log.all().is_empty());
    }
}
