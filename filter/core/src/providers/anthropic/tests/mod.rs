//! Golden tests built on the recorded provider traffic in shared/fixtures/providers.

mod errors;
mod inbound;
mod inbound_stream;
mod request;
mod request_golden;
mod response;
mod stream;

use serde_json::{json, Value};

use crate::translate::sse::SseParser;
use crate::translate::{RequestCtx, StreamTranslator};

/// A recorded interaction from shared/fixtures/providers (path relative to that folder).
macro_rules! fixture {
    ($path:literal) => {
        $crate::providers::anthropic::tests::parse_fixture(include_str!(concat!(
            "../../../../../../fixtures/providers/",
            $path
        )))
    };
}
pub(super) use fixture;

pub(super) fn parse_fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

/// The recorded response body of a streaming fixture.
pub(super) fn stream_body(fixture: &Value) -> String {
    fixture["response"]["body"]
        .as_str()
        .expect("stream body is text")
        .to_string()
}

pub(super) fn ctx() -> RequestCtx {
    RequestCtx {
        model: "claude-test-model".into(),
        client_model: "smart".into(),
        stream: false,
        include_usage: false,
        drop_params: false,
        default_max_tokens: 4096,
    }
}

pub(super) fn stream_ctx(include_usage: bool) -> RequestCtx {
    RequestCtx {
        stream: true,
        include_usage,
        ..ctx()
    }
}

/// Deterministic xorshift64 for random re-chunking.
pub(super) struct XorShift(pub u64);

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

/// Pushes the pieces in order, then finishes; returns everything emitted.
pub(super) fn run(t: &mut dyn StreamTranslator, pieces: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pieces {
        out.extend(t.push(p));
    }
    out.extend(t.finish());
    out
}

/// Splits `bytes` into random pieces of 1..=max bytes.
pub(super) fn random_pieces<'a>(bytes: &'a [u8], rng: &mut XorShift, max: u64) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = (1 + rng.next() % max).min(rest.len() as u64) as usize;
        let (a, b) = rest.split_at(n);
        pieces.push(a);
        rest = b;
    }
    pieces
}

/// Asserts that random splits (and, with `every_offset`, every two-piece split) translate
/// exactly like the unsplit input; returns the unsplit output.
pub(super) fn assert_split_invariant<T: StreamTranslator>(
    bytes: &[u8],
    make: impl Fn() -> T,
    every_offset: bool,
) -> Vec<u8> {
    let whole = run(&mut make(), &[bytes]);
    let last = if every_offset { bytes.len() } else { 0 };
    for i in (0..=last).filter(|_| every_offset) {
        let (a, b) = bytes.split_at(i);
        let got = run(&mut make(), &[a, b]);
        assert!(got == whole, "split at byte {i} changed the output");
    }
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for round in 0..50 {
        // Rounds with max 1 feed single bytes: a split between every pair of bytes.
        let max = [1, 2, 3, 7, 16, 64][round % 6];
        let pieces = random_pieces(bytes, &mut rng, max);
        let got = run(&mut make(), &pieces);
        assert!(
            got == whole,
            "random split round {round} changed the output"
        );
    }
    whole
}

/// The events of an SSE body as (event name, data JSON or string).
pub(super) fn events(out: &[u8]) -> Vec<(Option<String>, Value)> {
    let mut p = SseParser::default();
    let mut evs = p.push(out);
    evs.extend(p.finish());
    evs.into_iter()
        .map(|e| {
            let v = serde_json::from_str(&e.data).unwrap_or(Value::String(e.data));
            (e.event, v)
        })
        .collect()
}

/// LF line endings -> CRLF.
pub(super) fn crlf(text: &str) -> String {
    text.replace('\n', "\r\n")
}

/// The same object with some keys removed (fields a translation does not produce).
pub(super) fn without(mut v: Value, keys: &[&str]) -> Value {
    if let Some(obj) = v.as_object_mut() {
        for k in keys {
            obj.remove(*k);
        }
    }
    v
}

/// An OpenAI message list entry.
pub(super) fn msg(role: &str, content: &str) -> Value {
    json!({"role": role, "content": content})
}
