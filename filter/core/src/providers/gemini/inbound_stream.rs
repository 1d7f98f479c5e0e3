//! OpenAI `chat.completion.chunk` SSE -> Gemini `streamGenerateContent` SSE,
//! for clients of the native Gemini routes served by non-Gemini deployments.

use serde_json::{json, Value};

use super::error::gemini_error_body;
use super::inbound_response::{gemini_finish, usage_metadata};
use crate::translate::sse::{write_event, SseParser};
use crate::translate::{StreamTranslator, Usage};

/// A tool call being assembled from argument fragments.
#[derive(Debug, Default)]
struct Call {
    index: u64,
    id: String,
    name: String,
    args: String,
}

/// Per-choice state (one Gemini candidate each).
#[derive(Debug)]
struct Candidate {
    index: u64,
    calls: Vec<Call>,
    finish: Option<&'static str>,
}

/// Translates OpenAI chunks into Gemini events. Text and thoughts stream as
/// they come; function calls are sent whole (Gemini never splits their
/// arguments) on the closing event, which also carries finishReason and
/// usageMetadata. A stream that ends without a finish reason ends with a
/// Gemini error event.
#[derive(Debug, Default)]
pub struct ChatToGeminiStream {
    sse: SseParser,
    id: String,
    model: String,
    candidates: Vec<Candidate>,
    usage: Option<Usage>,
    failed: bool,
    closed: bool,
}

impl ChatToGeminiStream {
    /// A translator for one response.
    pub fn new() -> Self {
        Self::default()
    }

    fn event(&self, out: &mut Vec<u8>, candidates: Vec<Value>, usage: Option<&Usage>) {
        let mut ev = json!({
            "candidates": candidates,
            "modelVersion": self.model,
            "responseId": self.id,
        });
        if let Some(u) = usage {
            ev["usageMetadata"] = usage_metadata(u);
        }
        write_event(out, None, &ev.to_string());
    }

    fn fail(&mut self, out: &mut Vec<u8>, status: u16, message: &str) {
        self.failed = true;
        write_event(out, None, &gemini_error_body(status, message).to_string());
    }

    /// The position of the candidate for choice `index`, created on first sight.
    fn candidate(&mut self, index: u64) -> usize {
        if let Some(pos) = self.candidates.iter().position(|c| c.index == index) {
            return pos;
        }
        self.candidates.push(Candidate {
            index,
            calls: Vec::new(),
            finish: None,
        });
        self.candidates.len() - 1
    }

    fn on_chunk(&mut self, data: &str, out: &mut Vec<u8>) {
        let v: Value = match serde_json::from_str(data) {
            Ok(v) => v,
            Err(_) => {
                return self.fail(
                    out,
                    502,
                    "the deployment sent a stream event that is not JSON",
                )
            }
        };
        if let Some(err) = v.get("error") {
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("upstream error");
            let status = err.get("code").and_then(Value::as_u64);
            let status = status.and_then(|s| u16::try_from(s).ok()).unwrap_or(500);
            return self.fail(out, status, message);
        }
        if self.id.is_empty() {
            self.id = v
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            self.model = v
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
        }
        if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(Usage::from_openai(u));
        }
        let choices = v.get("choices").and_then(Value::as_array);
        for choice in choices.into_iter().flatten() {
            self.on_choice(choice, out);
        }
    }

    fn on_choice(&mut self, choice: &Value, out: &mut Vec<u8>) {
        let index = choice.get("index").and_then(Value::as_u64).unwrap_or(0);
        let delta = choice.get("delta").unwrap_or(&Value::Null);
        let mut parts = Vec::new();
        let reasoning = delta
            .get("reasoning_content")
            .or_else(|| delta.get("reasoning"))
            .and_then(Value::as_str);
        if let Some(r) = reasoning.filter(|r| !r.is_empty()) {
            parts.push(json!({"text": r, "thought": true}));
        }
        if let Some(t) = delta
            .get("content")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            parts.push(json!({ "text": t }));
        }
        let pos = self.candidate(index);
        let Some(cand) = self.candidates.get_mut(pos) else {
            return;
        };
        let calls = delta.get("tool_calls").and_then(Value::as_array);
        for tc in calls.into_iter().flatten() {
            let ti = tc.get("index").and_then(Value::as_u64).unwrap_or(0);
            let call = match cand.calls.iter().position(|c| c.index == ti) {
                Some(p) => cand.calls.get_mut(p),
                None => {
                    cand.calls.push(Call {
                        index: ti,
                        ..Call::default()
                    });
                    cand.calls.last_mut()
                }
            };
            let Some(call) = call else { continue };
            let s = |p: &str| tc.pointer(p).and_then(Value::as_str);
            if let Some(id) = s("/id") {
                call.id = id.to_string();
            }
            if let Some(name) = s("/function/name") {
                call.name.push_str(name);
            }
            if let Some(a) = s("/function/arguments") {
                call.args.push_str(a);
            }
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            cand.finish = Some(gemini_finish(reason));
        }
        if !parts.is_empty() {
            let c = json!({"content": {"role": "model", "parts": parts}, "index": index});
            self.event(out, vec![c], None);
        }
    }

    /// The closing event: whole function calls, finish reasons, usage.
    fn close(&mut self, out: &mut Vec<u8>) {
        let candidates: Vec<Value> = self
            .candidates
            .iter()
            .map(|c| {
                let mut parts: Vec<Value> = c
                    .calls
                    .iter()
                    .map(|call| {
                        let tc = json!({"id": call.id, "function": {"name": call.name, "arguments": call.args}});
                        super::inbound_response::function_call_part(&tc)
                    })
                    .collect();
                if parts.is_empty() {
                    parts.push(json!({"text": ""}));
                }
                json!({
                    "content": {"role": "model", "parts": parts},
                    "finishReason": c.finish.unwrap_or("STOP"),
                    "index": c.index,
                })
            })
            .collect();
        let usage = self.usage.unwrap_or_default();
        self.event(out, candidates, Some(&usage));
        self.closed = true;
    }
}

impl StreamTranslator for ChatToGeminiStream {
    fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for ev in self.sse.push(chunk) {
            if self.failed || self.closed {
                break;
            }
            if ev.data.trim() == "[DONE]" {
                self.close(&mut out);
            } else {
                self.on_chunk(&ev.data, &mut out);
            }
        }
        out
    }

    fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(ev) = self.sse.finish() {
            if !self.failed && !self.closed && ev.data.trim() != "[DONE]" {
                self.on_chunk(&ev.data, &mut out);
            } else if ev.data.trim() == "[DONE]" && !self.failed && !self.closed {
                self.close(&mut out);
            }
        }
        if self.failed || self.closed {
            return out;
        }
        let finished =
            !self.candidates.is_empty() && self.candidates.iter().all(|c| c.finish.is_some());
        if finished {
            self.close(&mut out);
        } else {
            self.fail(
                &mut out,
                502,
                "the deployment's stream ended before the response was complete",
            );
        }
        out
    }

    fn usage(&self) -> Usage {
        self.usage.unwrap_or_default()
    }
}
