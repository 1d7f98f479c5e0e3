//! The small parsers: durations, budget periods, prices, request heads, routes,
//! query strings, dates, SSE and Gemini's JSON-array stream.

use super::{check, hash, XorShift};
use crate::body;
use crate::keys::{self, query, record, secret};
use crate::limits;
use crate::provider::Provider;
use crate::providers::gemini::jsonseq::JsonSeq;
use crate::routes::{self, Endpoint};
use crate::spend::{self, dates};
use crate::translate::sse::{write_event, SseEvent, SseParser};

/// Arbitrary bytes through every parser, as text where the parser takes text.
pub fn parsers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let s = text.as_ref();
    let mut rng = XorShift::new(hash(data));
    let now = rng.next_u64() >> (rng.next_u64() % 64);

    durations(s, now);
    for p in [
        Provider::OpenAi,
        Provider::Anthropic,
        Provider::Gemini,
        Provider::Azure,
    ] {
        if let Some(price) = spend::lookup(p, s) {
            for v in [
                price.input,
                price.output,
                price.cache_read,
                price.cache_write,
            ] {
                assert!(v.is_finite() && v >= 0.0, "price of {s:?}: {price:?}");
            }
        }
    }
    heads(data);
    paths(s);
    if let Some(day) = dates::parse_day(s) {
        assert_eq!(dates::format_day(day), s, "day round trip");
    }
    let _ = dates::format_day(now);
    let _ = keys::time::iso8601(now);
    let _ = crate::auth::bearer(s);
    let _ = record::mask_key(s);
    let _ = secret::token_of(s);
    let _ = secret::display_path(s);
    sse(data, &mut rng);
    json_seq(data, &mut rng);
    let ev = s.split('\n').next().unwrap_or_default();
    event_round_trip(Some(ev), s);
    event_round_trip(None, s);
}

/// LiteLLM durations and the calendar periods budgets reset on.
fn durations(s: &str, now: u64) {
    if let Some(secs) = record::parse_duration(s) {
        assert!(secs > 0, "duration {s:?} is zero");
        if let Some(n) = s
            .trim()
            .strip_suffix('s')
            .and_then(|n| n.parse::<u64>().ok())
        {
            assert_eq!(secs, n, "duration {s:?}");
        }
    }
    for t in [now, super::http::START, 0, u64::MAX] {
        if let Some((start, next)) = limits::period(s, t) {
            assert!(
                start <= t && t < next,
                "period {s:?} at {t}: [{start}, {next})"
            );
        }
    }
}

/// Request heads: the model span names the model, and replacing it keeps JSON.
fn heads(data: &[u8]) {
    for (what, head) in [
        ("read_head", body::read_head(data)),
        (
            "read_head_model_optional",
            body::read_head_model_optional(data),
        ),
    ] {
        let h = match head {
            Ok(h) => h,
            Err(e) => {
                check::api_error(what, &e);
                continue;
            }
        };
        if h.model_span.is_empty() {
            assert!(h.model.is_empty(), "{what}: model without span");
            continue;
        }
        let literal = &data[h.model_span.clone()];
        let named: String = match serde_json::from_slice(literal) {
            Ok(m) => m,
            Err(e) => panic!("{what}: span is not a JSON string ({e})"),
        };
        assert_eq!(named, h.model, "{what}: span and model differ");
        let Some(replaced) = body::replace_model(data, &h, "fuzz-model") else {
            assert_eq!(h.model, "fuzz-model");
            continue;
        };
        match body::read_head(&replaced) {
            Ok(again) => {
                assert_eq!(again.model, "fuzz-model", "{what}: replaced model");
                assert_eq!(again.stream, h.stream, "{what}: stream flag changed");
            }
            Err(e) => panic!("{what}: replacing the model broke the body: {e:?}"),
        }
    }
}

/// Route classification and query handling.
fn paths(s: &str) {
    let (path, query_part) = routes::split_path(s);
    for method in ["GET", "POST", "DELETE", "HEAD", "PUT", ""] {
        match routes::classify(method, path) {
            Ok(Endpoint::Inference {
                path_model: Some(m),
                ..
            }) => {
                assert!(!m.is_empty() && !m.contains('/'), "path model {m:?}");
            }
            Ok(Endpoint::Passthrough { rest, .. }) => {
                assert!(rest.starts_with('/'), "passthrough rest {rest:?}");
                assert!(
                    !rest.split('/').any(|seg| seg == "." || seg == ".."),
                    "passthrough climbs: {rest:?}"
                );
            }
            Ok(_) => {}
            Err(e) => check::api_error("classify", &e),
        }
    }
    let stripped = routes::strip_key_param(query_part);
    assert!(
        !stripped.split('&').any(|p| p.starts_with("key=")),
        "key= survives stripping: {stripped}"
    );
    let _ = routes::key_param(query_part);
    let params = query::params(query_part);
    let _ = query::get(&params, "key");
    let _ = query::decode(s, false);
}

/// The SSE parser yields the same events however the bytes are split.
fn sse(data: &[u8], rng: &mut XorShift) {
    let whole = parse_sse(&[data]);
    let (a, b) = cuts(data.len(), rng);
    let split = parse_sse(&[&data[..a], &data[a..b], &data[b..]]);
    assert_eq!(whole, split, "SSE events depend on the split at {a}, {b}");
    let bytes: Vec<&[u8]> = data.chunks(1).collect();
    assert_eq!(whole, parse_sse(&bytes), "SSE events differ byte by byte");
}

fn parse_sse(pieces: &[&[u8]]) -> Vec<SseEvent> {
    let mut p = SseParser::default();
    let mut out: Vec<SseEvent> = pieces.iter().flat_map(|c| p.push(c)).collect();
    out.extend(p.finish());
    out
}

fn cuts(len: usize, rng: &mut XorShift) -> (usize, usize) {
    let mut a = rng.below(len + 1);
    let mut b = rng.below(len + 1);
    if a > b {
        std::mem::swap(&mut a, &mut b);
    }
    (a, b)
}

/// Gemini's array splitter yields the same objects however the bytes are split.
fn json_seq(data: &[u8], rng: &mut XorShift) {
    let whole = JsonSeq::default().push(data);
    let (a, b) = cuts(data.len(), rng);
    let mut seq = JsonSeq::default();
    let mut split = seq.push(&data[..a]);
    split.extend(seq.push(&data[a..b]));
    split.extend(seq.push(&data[b..]));
    assert_eq!(whole, split, "JSON array elements depend on the split");
    for obj in &whole {
        // Mismatched brackets in a broken stream can end an element with `]`;
        // whoever parses it refuses it then.
        assert!(
            obj.first() == Some(&b'{'),
            "element does not start an object: {}",
            check::shown(obj)
        );
    }
}

/// An event written with [`write_event`] parses back as itself.
fn event_round_trip(event: Option<&str>, data: &str) {
    if data.contains('\r') || event.is_some_and(|e| e.contains(['\r', '\n'])) {
        return;
    }
    let mut out = Vec::new();
    write_event(&mut out, event, data);
    let got = parse_sse(&[&out]);
    let want = SseEvent {
        event: event.map(str::to_string),
        data: data.to_string(),
    };
    assert_eq!(got, vec![want], "write_event does not round-trip");
}
