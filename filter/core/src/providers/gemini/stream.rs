//! Gemini `streamGenerateContent` (SSE with `alt=sse`, or the plain JSON-array
//! stream) -> OpenAI `chat.completion.chunk` events.

use serde_json::{json, Value};

use super::error::api_error_from_gemini;
use super::jsonseq::JsonSeq;
use super::response::{grounding, is_thought, model_name, response_id};
use super::{finish_reason, tool_call, upstream_error, usage_from_metadata};
use crate::error::ApiError;
use crate::translate::sse::{write_event, SseParser};
use crate::translate::{unix_now, RequestCtx, StreamTranslator, Usage};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// Nothing but whitespace seen yet.
    Unknown,
    /// `data: {...}` events.
    Sse,
    /// `[{...},{...}]` arriving piece by piece.
    Array,
}

/// Per-candidate progress (one OpenAI choice each).
#[derive(Debug)]
struct Choice {
    index: u64,
    calls: usize,
    finished: bool,
}

/// Translates a Gemini stream into OpenAI chat chunks, ending with the usage
/// chunk (when `include_usage`) and `data: [DONE]`; an upstream that stops
/// before every candidate has a finishReason ends with an error event instead.
pub struct GeminiToChatStream {
    ctx: RequestCtx,
    framing: Framing,
    sse: SseParser,
    seq: JsonSeq,
    id: Option<String>,
    model: String,
    created: u64,
    choices: Vec<Choice>,
    usage: Usage,
    failed: bool,
    closed: bool,
}

impl GeminiToChatStream {
    /// A translator for one response.
    pub fn new(ctx: RequestCtx) -> Self {
        GeminiToChatStream {
            model: ctx.model.clone(),
            ctx,
            framing: Framing::Unknown,
            sse: SseParser::default(),
            seq: JsonSeq::default(),
            id: None,
            created: unix_now(),
            choices: Vec::new(),
            usage: Usage::default(),
            failed: false,
            closed: false,
        }
    }

    fn chunk(&self, out: &mut Vec<u8>, index: u64, delta: Value, finish: Option<&str>) {
        let chunk = json!({
            "id": self.id.as_deref().unwrap_or("chatcmpl-gemini"),
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": index, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        write_event(out, None, &chunk.to_string());
    }

    fn fail(&mut self, out: &mut Vec<u8>, err: &ApiError) {
        self.failed = true;
        write_event(out, None, &String::from_utf8_lossy(&err.openai_body()));
    }

    /// The position of the choice for candidate `index`, announcing it on first sight.
    fn choice(&mut self, out: &mut Vec<u8>, index: u64) -> usize {
        if let Some(pos) = self.choices.iter().position(|c| c.index == index) {
            return pos;
        }
        self.chunk(
            out,
            index,
            json!({"role": "assistant", "content": ""}),
            None,
        );
        self.choices.push(Choice {
            index,
            calls: 0,
            finished: false,
        });
        self.choices.len() - 1
    }

    fn on_data(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if self.failed {
            return;
        }
        let v: Value = match serde_json::from_slice(data) {
            Ok(v) => v,
            Err(_) if data.trim_ascii() == b"[DONE]" => return,
            Err(_) => {
                let err = upstream_error("Gemini sent a stream event that is not JSON");
                return self.fail(out, &err);
            }
        };
        if let Some(err) = v.get("error") {
            return self.fail(out, &api_error_from_gemini(err, 502));
        }
        if self.id.is_none() && v.get("responseId").is_some() {
            self.id = Some(response_id(&v));
            self.model = model_name(&v, &self.ctx);
        }
        if let Some(meta) = v.get("usageMetadata") {
            self.usage = usage_from_metadata(meta);
        }
        let candidates = v.get("candidates").and_then(Value::as_array);
        for (pos, cand) in candidates.into_iter().flatten().enumerate() {
            let index = cand
                .get("index")
                .and_then(Value::as_u64)
                .unwrap_or(pos as u64);
            self.on_candidate(index, cand, out);
        }
        if candidates.is_none_or(Vec::is_empty)
            && v.pointer("/promptFeedback/blockReason").is_some()
        {
            let pos = self.choice(out, 0);
            self.finish_choice(pos, "content_filter", out);
        }
    }

    fn on_candidate(&mut self, index: u64, cand: &Value, out: &mut Vec<u8>) {
        let pos = self.choice(out, index);
        let parts = cand.pointer("/content/parts").and_then(Value::as_array);
        for part in parts.into_iter().flatten() {
            let n = self.choices.get(pos).map_or(0, |c| c.calls);
            if let Some(call) = tool_call(part, n) {
                let mut call = call;
                call["index"] = json!(n);
                if let Some(c) = self.choices.get_mut(pos) {
                    c.calls += 1;
                }
                self.chunk(out, index, json!({ "tool_calls": [call] }), None);
            } else if let Some(text) = part.get("text").and_then(Value::as_str) {
                if text.is_empty() {
                    continue;
                }
                let key = if is_thought(part) {
                    "reasoning_content"
                } else {
                    "content"
                };
                self.chunk(out, index, json!({ key: text }), None);
            }
        }
        if let Some(g) = grounding(cand) {
            self.chunk(out, index, json!({ "grounding_metadata": g }), None);
        }
        if let Some(reason) = cand.get("finishReason").and_then(Value::as_str) {
            let calls = self.choices.get(pos).is_some_and(|c| c.calls > 0);
            self.finish_choice(pos, finish_reason(reason, calls), out);
        }
    }

    fn finish_choice(&mut self, pos: usize, reason: &str, out: &mut Vec<u8>) {
        let Some(c) = self.choices.get(pos) else {
            return;
        };
        if c.finished {
            return;
        }
        let index = c.index;
        self.chunk(out, index, json!({}), Some(reason));
        if let Some(c) = self.choices.get_mut(pos) {
            c.finished = true;
        }
    }

    fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        let mut bytes = bytes;
        if self.framing == Framing::Unknown {
            let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
            let Some(start) = start else {
                return;
            };
            bytes = bytes.get(start..).unwrap_or_default();
            self.framing = if bytes.first() == Some(&b'[') {
                Framing::Array
            } else {
                Framing::Sse
            };
        }
        if self.framing == Framing::Array {
            for obj in self.seq.push(bytes) {
                self.on_data(&obj, out);
            }
        } else {
            for ev in self.sse.push(bytes) {
                self.on_data(ev.data.as_bytes(), out);
            }
        }
    }
}

impl StreamTranslator for GeminiToChatStream {
    fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.feed(chunk, &mut out);
        out
    }

    fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.closed {
            return out;
        }
        self.closed = true;
        if let Some(ev) = self.sse.finish() {
            self.on_data(ev.data.as_bytes(), &mut out);
        }
        if self.failed {
            return out;
        }
        if self.choices.is_empty() || self.choices.iter().any(|c| !c.finished) {
            let err = upstream_error("Gemini stream ended before the response was complete")
                .with_code("upstream_stream_truncated");
            self.fail(&mut out, &err);
            return out;
        }
        if self.ctx.include_usage {
            let chunk = json!({
                "id": self.id.as_deref().unwrap_or("chatcmpl-gemini"),
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [],
                "usage": self.usage.to_openai(),
            });
            write_event(&mut out, None, &chunk.to_string());
        }
        write_event(&mut out, None, "[DONE]");
        out
    }

    fn usage(&self) -> Usage {
        self.usage
    }
}
