//! Fixture loading, re-chunking and event parsing shared by the tests.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::translate::StreamTranslator;

/// Loads `shared/fixtures/providers/openai/<name>.json`.
macro_rules! fixture {
    ($name:literal) => {
        $crate::translate::responses::tests::support::parse(include_str!(concat!(
            "../../../../../../fixtures/providers/openai/",
            $name,
            ".json"
        )))
    };
}
pub(crate) use fixture;

/// Parses fixture text.
pub fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// A recorded stream body as bytes.
pub fn stream_body(fixture: &Value) -> Vec<u8> {
    fixture["response"]["body"]
        .as_str()
        .unwrap()
        .as_bytes()
        .to_vec()
}

/// Tiny deterministic generator for random chunk sizes.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// Feeds `pieces` to a fresh translator from `make` and returns all output.
pub fn run<T: StreamTranslator>(mut t: T, pieces: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pieces {
        out.extend(t.push(p));
    }
    out.extend(t.finish());
    out
}

/// Asserts the translation is the same whole, split at every offset and in
/// random small pieces; returns it.
pub fn run_rechunked<T: StreamTranslator>(make: impl Fn() -> T, body: &[u8]) -> Vec<u8> {
    let whole = run(make(), &[body]);
    for i in 0..=body.len() {
        let (a, b) = body.split_at(i);
        assert_eq!(run(make(), &[a, b]), whole, "split at {i}");
    }
    for seed in [7_u64, 0x9E37_79B9, 12345] {
        let mut rng = XorShift(seed);
        let mut pieces = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            let n = (1 + rng.next() % 9) as usize;
            let (a, b) = rest.split_at(n.min(rest.len()));
            pieces.push(a);
            rest = b;
        }
        assert_eq!(run(make(), &pieces), whole, "random pieces, seed {seed}");
    }
    whole
}

/// One parsed output event.
#[derive(Debug)]
pub struct Event {
    pub name: String,
    pub data: Value,
}

/// Parses Responses SSE output, checking `event:` lines match `type`.
pub fn events(out: &[u8]) -> Vec<Event> {
    let text = std::str::from_utf8(out).unwrap();
    assert!(
        text.is_empty() || text.ends_with("\n\n"),
        "unterminated: {text}"
    );
    text.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|block| {
            let mut lines = block.lines();
            let name = lines.next().unwrap().strip_prefix("event: ").unwrap();
            let data = lines.next().unwrap().strip_prefix("data: ").unwrap();
            assert!(lines.next().is_none(), "one data line per event: {block}");
            assert!(
                data.starts_with(&format!("{{\"type\":\"{name}\"")),
                "type first: {data}"
            );
            let data: Value = serde_json::from_str(data).unwrap();
            assert_eq!(data["type"], name);
            Event {
                name: name.to_string(),
                data,
            }
        })
        .collect()
}

/// Events of a recorded Responses stream fixture.
pub fn fixture_events(fixture: &Value) -> Vec<Event> {
    let text = fixture["response"]["body"].as_str().unwrap();
    text.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|block| {
            let mut name = "";
            let mut data = "";
            for line in block.lines() {
                if let Some(n) = line.strip_prefix("event: ") {
                    name = n;
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = d;
                }
            }
            Event {
                name: name.to_string(),
                data: serde_json::from_str(data).unwrap(),
            }
        })
        .collect()
}

/// Object keys of a JSON value.
pub fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

/// Event names with runs of the same delta event collapsed to one.
pub fn pattern(events: &[Event]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in events {
        if e.name.ends_with(".delta") && out.last() == Some(&e.name) {
            continue;
        }
        out.push(e.name.clone());
    }
    out
}

/// Independent oracle: folds a chat chunk stream into the chat completion it
/// describes (text, reasoning, refusal, tool calls by index, finish, usage).
pub fn assemble_chat(body: &[u8]) -> Value {
    let text = std::str::from_utf8(body).unwrap().replace("\r\n", "\n");
    let mut head = Value::Null;
    let (mut content, mut reasoning, mut refusal) = (String::new(), String::new(), String::new());
    let mut calls: Vec<(u64, String, String, String)> = Vec::new();
    let (mut finish, mut usage) = (Value::Null, Value::Null);
    for data in text.split("\n\n").filter_map(|e| e.strip_prefix("data: ")) {
        if data == "[DONE]" {
            continue;
        }
        let chunk: Value = serde_json::from_str(data).unwrap();
        if head.is_null() {
            head = chunk.clone();
        }
        if chunk["usage"].is_object() {
            usage = chunk["usage"].clone();
        }
        for choice in chunk["choices"].as_array().unwrap() {
            let d = &choice["delta"];
            content += d["content"].as_str().unwrap_or("");
            reasoning += d["reasoning_content"].as_str().unwrap_or("");
            refusal += d["refusal"].as_str().unwrap_or("");
            for c in d["tool_calls"].as_array().into_iter().flatten() {
                let idx = c["index"].as_u64().unwrap();
                if !calls.iter().any(|k| k.0 == idx) {
                    calls.push((idx, String::new(), String::new(), String::new()));
                }
                let call = calls.iter_mut().find(|k| k.0 == idx).unwrap();
                call.1 += c["id"].as_str().unwrap_or("");
                call.2 += c["function"]["name"].as_str().unwrap_or("");
                call.3 += c["function"]["arguments"].as_str().unwrap_or("");
            }
            if choice["finish_reason"].is_string() {
                finish = choice["finish_reason"].clone();
            }
        }
    }
    let mut message = serde_json::json!({"role": "assistant", "content": content});
    if !reasoning.is_empty() {
        message["reasoning_content"] = reasoning.into();
    }
    if !refusal.is_empty() {
        message["refusal"] = refusal.into();
    }
    if !calls.is_empty() {
        let calls: Vec<Value> = calls
            .into_iter()
            .map(|(_, id, name, args)| {
                serde_json::json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}})
            })
            .collect();
        message["tool_calls"] = calls.into();
    }
    let mut out = serde_json::json!({
        "id": head["id"], "object": "chat.completion", "created": head["created"], "model": head["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
    });
    if !usage.is_null() {
        out["usage"] = usage;
    }
    out
}

/// SSE text from chunk values (and a final `[DONE]` when asked).
pub fn sse(chunks: &[Value], done: bool) -> Vec<u8> {
    let mut out = String::new();
    for c in chunks {
        out += &format!("data: {c}\n\n");
    }
    if done {
        out += "data: [DONE]\n\n";
    }
    out.into_bytes()
}
