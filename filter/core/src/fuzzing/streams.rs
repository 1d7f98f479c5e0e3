//! Stream translators fed arbitrary bytes split at input-chosen offsets.
//!
//! Input layout: byte 0 holds the number of split points (low nibble) and the
//! [`ctxs`](super::translators::ctxs) variant (bits 4-5); then two bytes
//! (little-endian) per split point, taken modulo the body length; the rest is
//! the upstream body. Corpus seeds start with a zero byte: no splits.

use super::check::{self, json};
use super::translators::{ctxs, responses_request, translated_pairs, translation};
use crate::providers::{anthropic, gemini};
use crate::routes::ClientApi;
use crate::spend::{TapFormat, UsageTap};
use crate::translate::responses::ChatToResponsesStream;
use crate::translate::sse::{SseEvent, SseParser};
use crate::translate::{RequestCtx, StreamTranslator, Usage};
use serde_json::Value;

/// The wire format a translator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    /// OpenAI `chat.completion.chunk` events and `[DONE]`.
    OpenAiChunks,
    /// Anthropic Messages events (`event:` names the `type`).
    Anthropic,
    /// Gemini `streamGenerateContent?alt=sse` events.
    Gemini,
    /// Responses API events (`event:` names the `type`).
    Responses,
    /// The input, unchanged (usage taps).
    Same,
}

type Make = Box<dyn Fn() -> Box<dyn StreamTranslator>>;

/// Every stream translator, as a factory (each run needs fresh state).
fn translators(ctx: &RequestCtx) -> Vec<(String, Out, Make)> {
    let mut out: Vec<(String, Out, Make)> = Vec::new();
    let c = ctx.clone();
    out.push((
        "MessagesToChatStream".into(),
        Out::OpenAiChunks,
        Box::new(move || Box::new(anthropic::MessagesToChatStream::new(&c))),
    ));
    let c = ctx.clone();
    out.push((
        "GeminiToChatStream".into(),
        Out::OpenAiChunks,
        Box::new(move || Box::new(gemini::GeminiToChatStream::new(c.clone()))),
    ));
    let c = ctx.clone();
    out.push((
        "ChatToMessagesStream".into(),
        Out::Anthropic,
        Box::new(move || Box::new(anthropic::ChatToMessagesStream::new(&c))),
    ));
    out.push((
        "ChatToGeminiStream".into(),
        Out::Gemini,
        Box::new(|| Box::new(gemini::ChatToGeminiStream::new())),
    ));
    out.push((
        "ChatToResponsesStream".into(),
        Out::Responses,
        Box::new(|| Box::new(ChatToResponsesStream::new(&responses_request()))),
    ));
    out.push((
        "ChatToResponsesStream(null)".into(),
        Out::Responses,
        Box::new(|| Box::new(ChatToResponsesStream::new(&Value::Null))),
    ));
    for format in [
        TapFormat::OpenAiChat,
        TapFormat::OpenAiResponses,
        TapFormat::OpenAiEmbeddings,
        TapFormat::Anthropic,
        TapFormat::Gemini,
    ] {
        out.push((
            format!("UsageTap({format:?})"),
            Out::Same,
            Box::new(move || Box::new(UsageTap::new(format))),
        ));
    }
    // The chains the gateway builds (provider -> pivot -> client).
    for (client, provider) in translated_pairs() {
        let kind = match client {
            ClientApi::Chat => Out::OpenAiChunks,
            ClientApi::Responses => Out::Responses,
            ClientApi::Anthropic => Out::Anthropic,
            ClientApi::Gemini => Out::Gemini,
            ClientApi::Embeddings => continue,
        };
        let t = translation(client, provider, ctx, true);
        out.push((
            format!("streamer {client:?} <- {provider:?}"),
            kind,
            Box::new(move || t.streamer()),
        ));
    }
    out
}

/// Splits `data` into (split offsets, ctx variant, body).
fn layout(data: &[u8]) -> (Vec<usize>, usize, &[u8]) {
    let Some((&head, rest)) = data.split_first() else {
        return (Vec::new(), 0, data);
    };
    let n = usize::from(head & 0x0f);
    let variant = usize::from((head >> 4) & 0x03) % 3;
    let take = (2 * n).min(rest.len());
    let (offs, body) = rest.split_at(take);
    let mut points: Vec<usize> = offs
        .chunks(2)
        .map(|p| {
            let v = usize::from(p[0]) | usize::from(p.get(1).copied().unwrap_or(0)) << 8;
            if body.is_empty() {
                0
            } else {
                v % (body.len() + 1)
            }
        })
        .collect();
    points.sort_unstable();
    (points, variant, body)
}

/// Arbitrary bytes through every stream translator, whole and split.
pub fn streams(data: &[u8]) {
    let (points, variant, body) = layout(data);
    let ctx = &ctxs()[variant];
    let mut pieces = Vec::new();
    let mut at = 0;
    for p in points {
        pieces.push(&body[at..p]);
        at = p;
    }
    pieces.push(&body[at..]);
    for (name, kind, make) in translators(ctx) {
        let mut whole = make();
        let mut split = make();
        let one = run(whole.as_mut(), &[body]);
        let many = run(split.as_mut(), &pieces);
        check::usage(&name, &whole.usage());
        assert_eq!(
            whole.usage(),
            split.usage(),
            "{name}: usage depends on the split"
        );
        if kind == Out::Same {
            assert!(one == body, "{name}: a tap changed the bytes");
            assert!(many == body, "{name}: a tap changed the split bytes");
            continue;
        }
        let events = output(&name, kind, &one);
        let split_events = output(&name, kind, &many);
        reported_usage(&name, kind, &events, &whole.usage());
        assert!(
            events == split_events,
            "{name}: output depends on the split\nwhole: {}\nsplit: {}",
            check::shown(&one),
            check::shown(&many)
        );
    }
}

fn run(t: &mut dyn StreamTranslator, pieces: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pieces {
        out.extend(t.push(p));
    }
    out.extend(t.finish());
    out
}

/// Parses and checks a translator's output; returns its events with ids and
/// timestamps masked, for comparing runs.
fn output(name: &str, kind: Out, bytes: &[u8]) -> Vec<(Option<String>, Value)> {
    let mut parser = SseParser::default();
    let mut events: Vec<SseEvent> = parser.push(bytes);
    assert!(
        !parser.has_partial(),
        "{name}: output ends inside an event: {}",
        check::shown(bytes)
    );
    events.extend(parser.finish());
    let mut out = Vec::new();
    let last = events.len().saturating_sub(1);
    for (i, ev) in events.into_iter().enumerate() {
        if ev.data == "[DONE]" {
            assert_eq!(kind, Out::OpenAiChunks, "{name}: [DONE] in {kind:?}");
            assert_eq!(i, last, "{name}: events after [DONE]");
            out.push((ev.event, Value::Null));
            continue;
        }
        let v = json(name, ev.data.as_bytes());
        match kind {
            Out::OpenAiChunks => check::openai_chunk(name, &v),
            Out::Gemini => check::gemini_response(name, &v),
            Out::Anthropic | Out::Responses => {
                let ty = v.get("type").and_then(Value::as_str);
                assert!(ty.is_some(), "{name}: event without type: {v}");
                if let Some(e) = &ev.event {
                    assert_eq!(Some(e.as_str()), ty, "{name}: event name and type differ");
                }
                if ty == Some("error") && kind == Out::Anthropic {
                    check::anthropic_error(name, &v);
                }
            }
            Out::Same => {}
        }
        out.push((ev.event, masked(v)));
    }
    ends_once(name, kind, &out, bytes);
    out
}

/// Whether an event ends a stream, and whether it ends it well.
fn terminal(kind: Out, ev: &(Option<String>, Value)) -> Option<bool> {
    let v = &ev.1;
    let ty = v.get("type").and_then(Value::as_str);
    match kind {
        Out::OpenAiChunks if v.is_null() => Some(true),
        Out::OpenAiChunks | Out::Gemini if v.get("error").is_some() => Some(false),
        Out::Anthropic => match ty {
            Some("message_stop") => Some(true),
            Some("error") => Some(false),
            _ => None,
        },
        Out::Responses => match ty {
            Some("response.completed" | "response.incomplete") => Some(true),
            Some("response.failed" | "error") => Some(false),
            _ => None,
        },
        // Gemini streams have no end marker: the closing event is the one
        // that carries usageMetadata (with every candidate's finishReason).
        Out::Gemini => v.get("usageMetadata").map(|_| true),
        _ => None,
    }
}

/// A translated stream always ends with exactly one closing event (a proper
/// end or an error), and nothing follows it.
fn ends_once(name: &str, kind: Out, events: &[(Option<String>, Value)], bytes: &[u8]) {
    let last = events.iter().rposition(|e| terminal(kind, e).is_some());
    assert!(
        last.is_some_and(|i| i + 1 == events.len()),
        "{name}: stream does not end with a closing event: {}",
        check::shown(bytes)
    );
    let closers = events
        .iter()
        .filter(|e| terminal(kind, e).is_some())
        .count();
    assert!(
        closers <= 1,
        "{name}: {closers} closing events: {}",
        check::shown(bytes)
    );
}

/// When a stream ends well and reports usage, it reports what was metered.
fn reported_usage(name: &str, kind: Out, events: &[(Option<String>, Value)], metered: &Usage) {
    let ended_well = events.last().and_then(|e| terminal(kind, e));
    if ended_well != Some(true) {
        return;
    }
    let n = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_u64);
    let last_with = |p: &str| events.iter().rev().find_map(|(_, v)| n(v, p).map(|_| v));
    let pairs: Vec<(Option<u64>, u64, &str)> = match kind {
        Out::OpenAiChunks => match last_with("/usage/prompt_tokens") {
            Some(v) => vec![
                (
                    n(v, "/usage/prompt_tokens"),
                    metered.prompt_tokens,
                    "prompt",
                ),
                (
                    n(v, "/usage/completion_tokens"),
                    metered.completion_tokens,
                    "completion",
                ),
            ],
            None => Vec::new(),
        },
        Out::Responses => match last_with("/response/usage/input_tokens") {
            Some(v) => vec![
                (
                    n(v, "/response/usage/input_tokens"),
                    metered.prompt_tokens,
                    "input",
                ),
                (
                    n(v, "/response/usage/output_tokens"),
                    metered.completion_tokens,
                    "output",
                ),
            ],
            None => Vec::new(),
        },
        Out::Gemini => match last_with("/usageMetadata/totalTokenCount") {
            Some(v) => vec![
                (
                    n(v, "/usageMetadata/promptTokenCount"),
                    metered.prompt_tokens,
                    "prompt",
                ),
                (
                    n(v, "/usageMetadata/totalTokenCount"),
                    metered.total(),
                    "total",
                ),
            ],
            None => Vec::new(),
        },
        Out::Anthropic => match last_with("/usage/output_tokens") {
            Some(v) => vec![(
                n(v, "/usage/output_tokens"),
                metered.completion_tokens,
                "output",
            )],
            None => Vec::new(),
        },
        Out::Same => Vec::new(),
    };
    for (reported, want, what) in pairs {
        assert_eq!(
            reported,
            Some(want),
            "{name}: reported {what} tokens differ from the metered usage {metered:?}"
        );
    }
}

/// Drops what legitimately differs between two runs: generated ids and clocks.
fn masked(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let generated = k == "id"
                        || k.ends_with("_id")
                        || k.ends_with("Id")
                        || k == "created"
                        || k == "created_at";
                    let v = if generated { Value::Null } else { masked(v) };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(masked).collect()),
        other => other,
    }
}
