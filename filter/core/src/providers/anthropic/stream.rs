//! Anthropic Messages SSE -> OpenAI `chat.completion.chunk` SSE, event by event.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::errors::openai_kind;
use super::{finish_reason, read_usage, usage_json, ANSWER_TOOL_PREFIX};
use crate::translate::sse::{write_event, SseEvent, SseParser};
use crate::translate::{unix_now, RequestCtx, StreamTranslator, Usage};

/// What an open content block turns into.
enum Block {
    Text,
    Thinking,
    /// A client tool call: its OpenAI `tool_calls` index, and whether arguments arrived.
    Tool {
        index: u64,
        has_args: bool,
    },
    /// The `response_format: json_schema` answer tool: its arguments are the content.
    Answer,
    Other,
}

#[derive(PartialEq, Eq)]
enum State {
    Open,
    Done,
    Failed,
}

/// Translates an Anthropic Messages event stream into OpenAI chat chunks.
pub struct MessagesToChatStream {
    parser: SseParser,
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    blocks: HashMap<u64, Block>,
    tool_count: u64,
    saw_answer: bool,
    finish_sent: bool,
    usage: Usage,
    state: State,
}

impl MessagesToChatStream {
    /// A translator for one response.
    pub fn new(ctx: &RequestCtx) -> Self {
        MessagesToChatStream {
            parser: SseParser::default(),
            id: String::new(),
            model: ctx.model.clone(),
            created: unix_now(),
            include_usage: ctx.include_usage,
            blocks: HashMap::new(),
            tool_count: 0,
            saw_answer: false,
            finish_sent: false,
            usage: Usage::default(),
            state: State::Open,
        }
    }

    /// Fixes the `created` timestamp (deterministic output for tests and replays).
    pub fn with_created(mut self, created: u64) -> Self {
        self.created = created;
        self
    }

    fn chunk(&self, out: &mut Vec<u8>, delta: Value, finish: Option<&str>) {
        let chunk = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        write_event(out, None, &chunk.to_string());
    }

    fn fail(&mut self, out: &mut Vec<u8>, kind: &str, code: Option<&str>, message: &str) {
        let err = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
        write_event(out, None, &err.to_string());
        self.state = State::Failed;
    }

    fn handle(&mut self, ev: SseEvent, out: &mut Vec<u8>) {
        let data = ev.data.trim();
        if data.is_empty() {
            return;
        }
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            let msg = "malformed event in the upstream stream";
            self.fail(out, "upstream_error", None, msg);
            return;
        };
        let kind = v
            .get("type")
            .and_then(Value::as_str)
            .or(ev.event.as_deref())
            .unwrap_or_default();
        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
        match kind {
            "message_start" => {
                let m = v.get("message");
                let field = |k: &str| m.and_then(|m| m.get(k)).and_then(Value::as_str);
                if let Some(id) = field("id") {
                    self.id = id.to_string();
                }
                if let Some(model) = field("model") {
                    self.model = model.to_string();
                }
                read_usage(m.and_then(|m| m.get("usage")), &mut self.usage);
                self.chunk(out, json!({"role": "assistant", "content": ""}), None);
            }
            "content_block_start" => self.block_start(index, v.get("content_block"), out),
            "content_block_delta" => self.block_delta(index, v.get("delta"), out),
            "content_block_stop" => {
                if let Some(Block::Tool {
                    index,
                    has_args: false,
                }) = self.blocks.remove(&index)
                {
                    // A tool without parameters streams no JSON; say `{}` like the
                    // non-streamed answer does.
                    self.chunk(out, tool_args(index, "{}"), None);
                }
            }
            "message_delta" => {
                read_usage(v.get("usage"), &mut self.usage);
                let stop = v.pointer("/delta/stop_reason").and_then(Value::as_str);
                let finish = if self.saw_answer && self.tool_count == 0 && stop == Some("tool_use")
                {
                    "stop"
                } else {
                    finish_reason(stop)
                };
                self.chunk(out, json!({}), Some(finish));
                self.finish_sent = true;
            }
            "message_stop" => {
                if !self.finish_sent {
                    self.chunk(out, json!({}), Some("stop"));
                }
                if self.include_usage {
                    let chunk = json!({
                        "id": self.id,
                        "object": "chat.completion.chunk",
                        "created": self.created,
                        "model": self.model,
                        "choices": [],
                        "usage": usage_json(&self.usage),
                    });
                    write_event(out, None, &chunk.to_string());
                }
                write_event(out, None, "[DONE]");
                self.state = State::Done;
            }
            "error" => {
                let err = v.get("error");
                let field = |k: &str| err.and_then(|e| e.get(k)).and_then(Value::as_str);
                let (kind, code) = openai_kind(field("type").unwrap_or("api_error"), 500);
                let message = field("message").unwrap_or("upstream error").to_string();
                self.fail(out, kind, code, &message);
            }
            // ping and event types added later carry nothing to translate.
            _ => {}
        }
    }

    fn block_start(&mut self, index: u64, cb: Option<&Value>, out: &mut Vec<u8>) {
        let field = |k: &str| cb.and_then(|b| b.get(k)).and_then(Value::as_str);
        let block = match field("type").unwrap_or_default() {
            "text" => {
                if let Some(t) = field("text").filter(|t| !t.is_empty()) {
                    self.chunk(out, json!({ "content": t }), None);
                }
                Block::Text
            }
            "thinking" => {
                if let Some(t) = field("thinking").filter(|t| !t.is_empty()) {
                    self.chunk(out, thinking_delta(t), None);
                }
                Block::Thinking
            }
            "redacted_thinking" => {
                let data = field("data").unwrap_or_default();
                let blocks = json!([{"type": "redacted_thinking", "data": data}]);
                self.chunk(out, json!({ "thinking_blocks": blocks }), None);
                Block::Other
            }
            "tool_use" => {
                let name = field("name").unwrap_or_default();
                if name.starts_with(ANSWER_TOOL_PREFIX) {
                    self.saw_answer = true;
                    Block::Answer
                } else {
                    let i = self.tool_count;
                    self.tool_count += 1;
                    let call = json!([{
                        "index": i,
                        "id": field("id").unwrap_or_default(),
                        "type": "function",
                        "function": {"name": name, "arguments": ""},
                    }]);
                    self.chunk(out, json!({ "tool_calls": call }), None);
                    Block::Tool {
                        index: i,
                        has_args: false,
                    }
                }
            }
            _ => Block::Other,
        };
        self.blocks.insert(index, block);
    }

    fn block_delta(&mut self, index: u64, delta: Option<&Value>, out: &mut Vec<u8>) {
        let field = |k: &str| delta.and_then(|d| d.get(k)).and_then(Value::as_str);
        let delta_out = match field("type").unwrap_or_default() {
            "text_delta" => field("text")
                .filter(|t| !t.is_empty())
                .map(|t| json!({ "content": t })),
            "thinking_delta" => field("thinking")
                .filter(|t| !t.is_empty())
                .map(thinking_delta),
            "signature_delta" => field("signature").map(|s| {
                json!({"thinking_blocks": [{"type": "thinking", "thinking": "", "signature": s}]})
            }),
            "input_json_delta" => {
                let Some(part) = field("partial_json").filter(|p| !p.is_empty()) else {
                    return;
                };
                match self.blocks.get_mut(&index) {
                    Some(Block::Tool { index, has_args }) => {
                        *has_args = true;
                        Some(tool_args(*index, part))
                    }
                    Some(Block::Answer) => Some(json!({ "content": part })),
                    _ => None,
                }
            }
            // citations_delta and later additions.
            _ => None,
        };
        if let Some(d) = delta_out {
            self.chunk(out, d, None);
        }
    }
}

/// A thinking fragment in LiteLLM's shape: `reasoning_content` plus a `thinking_blocks` piece.
fn thinking_delta(text: &str) -> Value {
    json!({
        "reasoning_content": text,
        "thinking_blocks": [{"type": "thinking", "thinking": text}],
    })
}

fn tool_args(index: u64, arguments: &str) -> Value {
    json!({"tool_calls": [{"index": index, "function": {"arguments": arguments}}]})
}

impl StreamTranslator for MessagesToChatStream {
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
        if let Some(ev) = self.parser.finish() {
            self.handle(ev, &mut out);
        }
        if self.state == State::Open {
            let msg = "upstream stream ended before completion";
            self.fail(&mut out, "upstream_error", None, msg);
        }
        out
    }

    fn usage(&self) -> Usage {
        self.usage
    }
}
