//! OpenAI `chat.completion.chunk` SSE -> Anthropic Messages SSE (for Anthropic-format clients).

use serde_json::{json, Value};

use super::errors::anthropic_error_type;
use super::inbound_response::{message_id, stop_reason};
use super::wire::{text, Chunk, Delta, ToolCall};
use super::{anthropic_usage, complete_event};
use crate::translate::sse::{write_event, SseEvent, SseParser};
use crate::translate::{RequestCtx, StreamTranslator, Usage};

/// The content block currently open on the Anthropic side.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    None,
    Text,
    Thinking,
    /// A tool_use block for this OpenAI tool_calls index.
    Tool(u64),
}

#[derive(PartialEq, Eq)]
enum State {
    Open,
    Done,
    Failed,
}

/// Translates an OpenAI chat chunk stream into Anthropic Messages events.
pub struct ChatToMessagesStream {
    parser: SseParser,
    model: String,
    started: bool,
    open: Open,
    next_index: u64,
    closed_tools: Vec<u64>,
    /// Id of the latest tool call, to tell a new call from a continuation.
    tool_id: String,
    finish: Option<String>,
    usage: Usage,
    state: State,
}

fn emit(out: &mut Vec<u8>, event: &str, data: &Value) {
    write_event(out, Some(event), &data.to_string());
}

impl ChatToMessagesStream {
    /// A translator for one response.
    pub fn new(ctx: &RequestCtx) -> Self {
        ChatToMessagesStream {
            parser: SseParser::default(),
            model: ctx.model.clone(),
            started: false,
            open: Open::None,
            next_index: 0,
            closed_tools: Vec::new(),
            tool_id: String::new(),
            finish: None,
            usage: Usage::default(),
            state: State::Open,
        }
    }

    fn start(&mut self, chunk: &Chunk, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        if let Some(m) = &chunk.model {
            self.model.clone_from(m);
        }
        let message = json!({
            "id": message_id(text(&chunk.id)), "type": "message", "role": "assistant",
            "model": self.model, "content": [], "stop_reason": null, "stop_sequence": null,
            // OpenAI reports usage only at the end; message_delta carries the real counts.
            "usage": {"input_tokens": 0, "output_tokens": 0},
        });
        emit(
            out,
            "message_start",
            &json!({"type": "message_start", "message": message}),
        );
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        if self.open == Open::None {
            return;
        }
        if let Open::Tool(i) = self.open {
            self.closed_tools.push(i);
        }
        let index = self.next_index.saturating_sub(1);
        emit(
            out,
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        );
        self.open = Open::None;
    }

    /// Opens `kind` unless it is already the open block; returns the block index.
    fn ensure(&mut self, kind: Open, block: Value, out: &mut Vec<u8>) -> u64 {
        if self.open != kind {
            self.close(out);
            let index = self.next_index;
            self.next_index += 1;
            let ev = json!({"type": "content_block_start", "index": index, "content_block": block});
            emit(out, "content_block_start", &ev);
            self.open = kind;
        }
        self.next_index.saturating_sub(1)
    }

    fn delta(&mut self, kind: Open, block: Value, delta: Value, out: &mut Vec<u8>) {
        let index = self.ensure(kind, block, out);
        let ev = json!({"type": "content_block_delta", "index": index, "delta": delta});
        emit(out, "content_block_delta", &ev);
    }

    fn handle(&mut self, ev: SseEvent, out: &mut Vec<u8>) {
        let data = ev.data.trim();
        if data.is_empty() {
            return;
        }
        if data == "[DONE]" {
            self.complete(out);
            return;
        }
        let Ok(chunk) = serde_json::from_str::<Chunk>(data) else {
            self.fail(out, "api_error", "malformed event in the upstream stream");
            return;
        };
        if let Some(err) = &chunk.error {
            let field = |k: &str| err.get(k).and_then(Value::as_str);
            let kind = anthropic_error_type(field("type"), field("code"));
            let message = field("message").unwrap_or("upstream error").to_string();
            self.fail(out, kind, &message);
            return;
        }
        self.start(&chunk, out);
        if let Some(u) = chunk.usage.as_ref().filter(|u| u.is_object()) {
            self.usage = Usage::from_openai(u);
        }
        let Some(choice) = chunk.choices.as_ref().and_then(|c| c.first()) else {
            return;
        };
        if let Some(d) = &choice.delta {
            self.translate_delta(d, out);
        }
        if let Some(f) = &choice.finish_reason {
            self.finish = Some(f.clone());
        }
    }

    fn translate_delta(&mut self, d: &Delta, out: &mut Vec<u8>) {
        let thinking_block = || json!({"type": "thinking", "thinking": "", "signature": ""});
        let reasoning = nonempty(&d.reasoning_content).or(nonempty(&d.reasoning));
        if let Some(r) = reasoning {
            let delta = json!({"type": "thinking_delta", "thinking": r});
            self.delta(Open::Thinking, thinking_block(), delta, out);
        }
        for b in d.thinking_blocks.iter().flatten() {
            if text(&b.kind) == "redacted_thinking" {
                self.close(out);
                let block = json!({"type": "redacted_thinking", "data": text(&b.data)});
                self.ensure(Open::Thinking, block, out);
                self.close(out);
                continue;
            }
            // reasoning_content already carried the text when both are present.
            if let Some(t) = nonempty(&b.thinking).filter(|_| reasoning.is_none()) {
                let delta = json!({"type": "thinking_delta", "thinking": t});
                self.delta(Open::Thinking, thinking_block(), delta, out);
            }
            if let Some(sig) = nonempty(&b.signature) {
                let delta = json!({"type": "signature_delta", "signature": sig});
                self.delta(Open::Thinking, thinking_block(), delta, out);
            }
        }
        if let Some(t) = nonempty(&d.content) {
            let block = json!({"type": "text", "text": ""});
            let delta = json!({"type": "text_delta", "text": t});
            self.delta(Open::Text, block, delta, out);
        }
        for call in d.tool_calls.iter().flatten() {
            self.tool_call(call, out);
        }
    }

    fn tool_call(&mut self, call: &ToolCall, out: &mut Vec<u8>) {
        let i = call.index.unwrap_or(0);
        let id = text(&call.id);
        // Some servers send every call whole with the same (or no) index: a new id starts
        // a new block even when the index repeats.
        let new_call = !id.is_empty() && id != self.tool_id;
        if new_call {
            self.close(out);
            self.tool_id = id.to_string();
        } else if self.open != Open::Tool(i) && self.closed_tools.contains(&i) {
            // A finished block cannot be reopened; OpenAI never interleaves calls anyway.
            return;
        }
        let f = call.function.as_ref();
        let name = f.map_or("", |f| text(&f.name));
        let block = json!({"type": "tool_use", "id": id, "name": name, "input": {}});
        self.ensure(Open::Tool(i), block, out);
        let args = f.map_or("", |f| text(&f.arguments));
        if !args.is_empty() {
            let delta = json!({"type": "input_json_delta", "partial_json": args});
            self.delta(Open::Tool(i), Value::Null, delta, out);
        }
    }

    fn complete(&mut self, out: &mut Vec<u8>) {
        self.start(&Chunk::default(), out);
        self.close(out);
        let delta = json!({
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason(self.finish.as_deref()), "stop_sequence": null},
            "usage": anthropic_usage(&self.usage),
        });
        emit(out, "message_delta", &delta);
        emit(out, "message_stop", &json!({"type": "message_stop"}));
        self.state = State::Done;
    }

    fn fail(&mut self, out: &mut Vec<u8>, kind: &str, message: &str) {
        let ev = json!({"type": "error", "error": {"type": kind, "message": message}});
        emit(out, "error", &ev);
        self.state = State::Failed;
    }
}

impl StreamTranslator for ChatToMessagesStream {
    fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if self.state != State::Open {
            return out;
        }
        for ev in self.parser.push(chunk) {
            self.handle(ev, &mut out);
            if self.state != State::Open {
                break;
            }
        }
        out
    }

    fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.state != State::Open {
            return out;
        }
        // An unterminated last event counts only if it is whole; a cut one is truncation.
        if let Some(ev) = self.parser.finish().filter(complete_event) {
            self.handle(ev, &mut out);
        }
        if self.state == State::Open {
            if self.finish.is_some() {
                // finish_reason arrived; only the [DONE] marker is missing.
                self.complete(&mut out);
            } else {
                self.fail(
                    &mut out,
                    "api_error",
                    "upstream stream ended before completion",
                );
            }
        }
        out
    }

    fn usage(&self) -> Usage {
        self.usage
    }
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|t| !t.is_empty())
}
