//! Usage capture for responses relayed untranslated (client and provider speak
//! the same API): the bytes pass through as they are, usage and the response id
//! are read on the side.

use crate::providers::gemini::jsonseq::JsonSeq;
use crate::providers::gemini::usage_from_metadata;
use crate::translate::sse::SseParser;
use crate::translate::{StreamTranslator, Usage};
use serde_json::Value;

/// Most bytes held for one unfinished event or JSON object before the tap gives
/// up on the response; it keeps relaying, it just stops looking.
const MAX_PENDING: usize = 32 * 1024 * 1024;

/// The API a relayed response is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapFormat {
    /// OpenAI chat completions (chunks carry `usage` on the last one).
    OpenAiChat,
    /// OpenAI Responses (`response.completed` carries the response with usage).
    OpenAiResponses,
    /// OpenAI embeddings (`usage.prompt_tokens`).
    OpenAiEmbeddings,
    /// Anthropic Messages (`message_start` then `message_delta` usage).
    Anthropic,
    /// Gemini generateContent (cumulative `usageMetadata`, `responseId`).
    Gemini,
}

/// Usage and response id of a whole JSON body (a Gemini JSON-array stream
/// included); None when it is not JSON or reports no usage.
pub fn usage_from_body(format: TapFormat, body: &[u8]) -> Option<(Usage, Option<String>)> {
    // Most of a body is content the tap never reads; skipping it is cheaper than
    // building it into a Value (a duplicate field falls back to the full parse).
    // Only for an object: serde would fill the struct from an array by position.
    let object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let top = object.then(|| serde_json::from_slice::<TopFields>(body).ok());
    let v = match top.flatten() {
        Some(top) => top.into_value(),
        None => serde_json::from_slice(body).ok()?,
    };
    let mut c = Capture::default();
    match &v {
        Value::Array(items) => items.iter().for_each(|i| c.absorb(format, i)),
        _ => c.absorb(format, &v),
    }
    c.usage.map(|u| (u, c.id))
}

/// The top-level fields [`Capture::absorb`] reads, whatever the format.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct TopFields {
    id: Option<Value>,
    usage: Option<Value>,
    response: Option<Value>,
    message: Option<Value>,
    #[serde(rename = "type")]
    kind: Option<Value>,
    response_id: Option<Value>,
    usage_metadata: Option<Value>,
}

impl TopFields {
    fn into_value(self) -> Value {
        let fields = [
            ("id", self.id),
            ("usage", self.usage),
            ("response", self.response),
            ("message", self.message),
            ("type", self.kind),
            ("responseId", self.response_id),
            ("usageMetadata", self.usage_metadata),
        ];
        Value::Object(
            fields
                .into_iter()
                .filter_map(|(k, v)| Some((k.to_string(), v?)))
                .collect(),
        )
    }
}

/// What has been seen so far.
#[derive(Debug, Default)]
struct Capture {
    usage: Option<Usage>,
    id: Option<String>,
}

impl Capture {
    /// Takes usage and id from one JSON object (a body, stream chunk or event).
    fn absorb(&mut self, format: TapFormat, v: &Value) {
        match format {
            TapFormat::OpenAiChat | TapFormat::OpenAiEmbeddings => {
                self.id_from(v.get("id"));
                if let Some(u) = object(v.get("usage")) {
                    self.usage = Some(Usage::from_openai(u));
                }
            }
            TapFormat::OpenAiResponses => {
                // Stream events wrap the response object; a whole body is the response.
                let r = object(v.get("response")).unwrap_or(v);
                self.id_from(r.get("id"));
                if let Some(u) = object(r.get("usage")) {
                    self.usage = Some(responses_usage(u));
                }
            }
            TapFormat::Anthropic => {
                // message_start wraps the message; message_delta and whole bodies do not.
                let m = object(v.get("message")).unwrap_or(v);
                if m.get("type").and_then(Value::as_str) == Some("message") {
                    self.id_from(m.get("id"));
                }
                if let Some(u) = object(m.get("usage")) {
                    merge_anthropic(self.usage.get_or_insert_with(Usage::default), u);
                }
            }
            TapFormat::Gemini => {
                self.id_from(v.get("responseId"));
                // Counts are cumulative, so the last report is the total.
                if let Some(m) = object(v.get("usageMetadata")) {
                    self.usage = Some(usage_from_metadata(m));
                }
            }
        }
    }

    fn id_from(&mut self, id: Option<&Value>) {
        if self.id.is_none() {
            self.id = id
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string);
        }
    }
}

fn object(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| v.is_object())
}

/// Responses API usage: input includes cached, output includes reasoning.
fn responses_usage(u: &Value) -> Usage {
    let n = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    Usage {
        prompt_tokens: n("/input_tokens"),
        completion_tokens: n("/output_tokens"),
        cached_tokens: n("/input_tokens_details/cached_tokens"),
        cache_creation_tokens: 0,
        reasoning_tokens: n("/output_tokens_details/reasoning_tokens"),
    }
}

/// Adds an Anthropic usage report: input_tokens exclude cache reads and writes,
/// and message_delta repeats only some counts, so absent ones keep their values.
fn merge_anthropic(into: &mut Usage, u: &Value) {
    let n = |k: &str| u.get(k).and_then(Value::as_u64);
    let (input, read, created) = (
        n("input_tokens"),
        n("cache_read_input_tokens"),
        n("cache_creation_input_tokens"),
    );
    if input.is_some() || read.is_some() || created.is_some() {
        let old_plain = into
            .prompt_tokens
            .saturating_sub(into.cached_tokens)
            .saturating_sub(into.cache_creation_tokens);
        let read = read.unwrap_or(into.cached_tokens);
        let created = created.unwrap_or(into.cache_creation_tokens);
        into.prompt_tokens = input
            .unwrap_or(old_plain)
            .saturating_add(read)
            .saturating_add(created);
        into.cached_tokens = read;
        into.cache_creation_tokens = created;
    }
    if let Some(out) = n("output_tokens") {
        into.completion_tokens = out;
    }
}

/// How the body is framed, decided by its first non-blank byte.
#[derive(Debug)]
enum Mode {
    Undecided,
    /// Server-sent events.
    Sse(SseParser),
    /// A JSON object, or a JSON array of objects (Gemini without `alt=sse`).
    Json(JsonSeq),
    /// Gave up (an event or object grew past [`MAX_PENDING`]).
    Off,
}

/// A pass-through [`StreamTranslator`] that records usage and the response id.
#[derive(Debug)]
pub struct UsageTap {
    format: TapFormat,
    mode: Mode,
    capture: Capture,
    /// Bytes fed since an event or object last completed.
    pending: usize,
}

impl UsageTap {
    /// A tap for a response in `format`.
    pub fn new(format: TapFormat) -> Self {
        UsageTap {
            format,
            mode: Mode::Undecided,
            capture: Capture::default(),
            pending: 0,
        }
    }

    /// The response id, once seen.
    pub fn response_id(&self) -> Option<&str> {
        self.capture.id.as_deref()
    }

    /// The usage, if the response reported any (unlike [`StreamTranslator::usage`],
    /// tells "no report" from "zero tokens").
    pub fn captured(&self) -> Option<Usage> {
        self.capture.usage
    }

    fn feed(&mut self, chunk: &[u8]) {
        if let Mode::Undecided = self.mode {
            match chunk.iter().find(|b| !b.is_ascii_whitespace()) {
                None => return,
                Some(b'{' | b'[') => self.mode = Mode::Json(JsonSeq::default()),
                Some(_) => self.mode = Mode::Sse(SseParser::default()),
            }
        }
        let completed = match &mut self.mode {
            Mode::Sse(parser) => {
                let events = parser.push(chunk);
                let n = events.len();
                for ev in events {
                    self.event(&ev.data);
                }
                n
            }
            Mode::Json(seq) => {
                let objects = seq.push(chunk);
                let n = objects.len();
                for obj in objects {
                    if let Ok(v) = serde_json::from_slice::<Value>(&obj) {
                        self.capture.absorb(self.format, &v);
                    }
                }
                n
            }
            Mode::Undecided | Mode::Off => return,
        };
        self.pending = if completed > 0 {
            0
        } else {
            self.pending.saturating_add(chunk.len())
        };
        if self.pending > MAX_PENDING {
            self.mode = Mode::Off;
        }
    }

    fn event(&mut self, data: &str) {
        // Most events carry neither usage nor a first id; skip parsing those.
        if self.capture.id.is_some() && !data.contains("usage") {
            return;
        }
        if let Ok(v) = serde_json::from_str::<Value>(data.trim()) {
            self.capture.absorb(self.format, &v);
        }
    }
}

impl StreamTranslator for UsageTap {
    fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.feed(chunk);
        chunk.to_vec()
    }

    fn finish(&mut self) -> Vec<u8> {
        if let Mode::Sse(parser) = &mut self.mode {
            if let Some(ev) = parser.finish() {
                self.event(&ev.data);
            }
        }
        Vec::new()
    }

    fn usage(&self) -> Usage {
        self.capture.usage.unwrap_or_default()
    }
}

#[cfg(test)]
#[path = "tap_tests.rs"]
mod tests;
