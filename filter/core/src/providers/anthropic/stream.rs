//! Anthropic Messages SSE -> OpenAI `chat.completion.chunk` SSE, event by event.

use std::collections::HashMap;

use super::errors::openai_kind;
use super::wire::{quote, text, Event, Fields};
use super::{complete_event, finish_reason, read_usage, usage_json, ANSWER_TOOL_PREFIX};
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
    /// `{"id":..,"object":..,"created":..,"model":..,` shared by every chunk.
    head: String,
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
        let mut t = MessagesToChatStream {
            parser: SseParser::default(),
            id: String::new(),
            model: ctx.model.clone(),
            created: unix_now(),
            head: String::new(),
            include_usage: ctx.include_usage,
            blocks: HashMap::new(),
            tool_count: 0,
            saw_answer: false,
            finish_sent: false,
            usage: Usage::default(),
            state: State::Open,
        };
        t.set_head();
        t
    }

    /// Fixes the `created` timestamp (deterministic output for tests and replays).
    pub fn with_created(mut self, created: u64) -> Self {
        self.created = created;
        self.set_head();
        self
    }

    fn set_head(&mut self) {
        self.head = format!(
            "{{\"id\":{},\"object\":\"chat.completion.chunk\",\"created\":{},\"model\":{},",
            quote(&self.id),
            self.created,
            quote(&self.model)
        );
    }

    /// One chunk whose single choice has `delta` (a JSON object text).
    fn chunk(&self, out: &mut Vec<u8>, delta: &str, finish: Option<&str>) {
        // Serialised JSON has no raw newlines, so the event is one `data:` line.
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(self.head.as_bytes());
        out.extend_from_slice(b"\"choices\":[{\"index\":0,\"delta\":");
        out.extend_from_slice(delta.as_bytes());
        out.extend_from_slice(b",\"logprobs\":null,\"finish_reason\":");
        match finish {
            Some(f) => out.extend_from_slice(quote(f).as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b"}]}\n\n");
    }

    fn fail(&mut self, out: &mut Vec<u8>, kind: &str, code: Option<&str>, message: &str) {
        let err = serde_json::json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
        write_event(out, None, &err.to_string());
        self.state = State::Failed;
    }

    fn handle(&mut self, ev: SseEvent, out: &mut Vec<u8>) {
        let data = ev.data.trim();
        if data.is_empty() {
            return;
        }
        let Ok(v) = serde_json::from_str::<Event>(data) else {
            self.fail(
                out,
                "upstream_error",
                None,
                "malformed event in the upstream stream",
            );
            return;
        };
        let kind = v
            .kind
            .as_deref()
            .or(ev.event.as_deref())
            .unwrap_or_default();
        let index = v.index.unwrap_or(0);
        match kind {
            "message_start" => {
                if let Some(m) = &v.message {
                    if let Some(id) = &m.id {
                        self.id.clone_from(id);
                    }
                    if let Some(model) = &m.model {
                        self.model.clone_from(model);
                    }
                    if let Some(u) = &m.usage {
                        read_usage(u, &mut self.usage);
                    }
                    self.set_head();
                }
                self.chunk(out, "{\"role\":\"assistant\",\"content\":\"\"}", None);
            }
            "content_block_start" => {
                let cb = v.content_block.unwrap_or_default();
                self.block_start(index, &cb, out);
            }
            "content_block_delta" => {
                let d = v.delta.unwrap_or_default();
                self.block_delta(index, &d, out);
            }
            "content_block_stop" => {
                if let Some(Block::Tool {
                    index,
                    has_args: false,
                }) = self.blocks.remove(&index)
                {
                    // A tool without parameters streams no JSON; say `{}` like the
                    // non-streamed answer does.
                    self.chunk(out, &tool_args(index, "{}"), None);
                }
            }
            "message_delta" => {
                if let Some(u) = &v.usage {
                    read_usage(u, &mut self.usage);
                }
                let stop = v.delta.as_ref().and_then(|d| d.stop_reason.as_deref());
                let answered = self.saw_answer && self.tool_count == 0;
                let finish = if answered && stop == Some("tool_use") {
                    "stop"
                } else {
                    finish_reason(stop)
                };
                self.chunk(out, "{}", Some(finish));
                self.finish_sent = true;
            }
            "message_stop" => self.complete(out),
            "error" => {
                let err = v.error.unwrap_or_default();
                let (kind, code) = openai_kind(err.kind.as_deref().unwrap_or("api_error"), 500);
                let message = err.message.as_deref().unwrap_or("upstream error");
                self.fail(out, kind, code, message);
            }
            // ping and event types added later carry nothing to translate.
            _ => {}
        }
    }

    fn complete(&mut self, out: &mut Vec<u8>) {
        if !self.finish_sent {
            self.chunk(out, "{}", Some("stop"));
        }
        if self.include_usage {
            let data = format!(
                "{}\"choices\":[],\"usage\":{}}}",
                self.head,
                usage_json(&self.usage)
            );
            write_event(out, None, &data);
        }
        write_event(out, None, "[DONE]");
        self.state = State::Done;
    }

    fn block_start(&mut self, index: u64, cb: &Fields, out: &mut Vec<u8>) {
        let block = match text(&cb.kind) {
            "text" => {
                if let Some(t) = cb.text.as_deref().filter(|t| !t.is_empty()) {
                    self.chunk(out, &format!("{{\"content\":{}}}", quote(t)), None);
                }
                Block::Text
            }
            "thinking" => {
                if let Some(t) = cb.thinking.as_deref().filter(|t| !t.is_empty()) {
                    self.chunk(out, &thinking_delta(t), None);
                }
                Block::Thinking
            }
            "redacted_thinking" => {
                let delta = format!(
                    "{{\"thinking_blocks\":[{{\"type\":\"redacted_thinking\",\"data\":{}}}]}}",
                    quote(text(&cb.data))
                );
                self.chunk(out, &delta, None);
                Block::Other
            }
            "tool_use" if text(&cb.name).starts_with(ANSWER_TOOL_PREFIX) => {
                self.saw_answer = true;
                Block::Answer
            }
            "tool_use" => {
                let i = self.tool_count;
                self.tool_count += 1;
                let delta = format!(
                    "{{\"tool_calls\":[{{\"index\":{i},\"id\":{},\"type\":\"function\",\
                     \"function\":{{\"name\":{},\"arguments\":\"\"}}}}]}}",
                    quote(text(&cb.id)),
                    quote(text(&cb.name))
                );
                self.chunk(out, &delta, None);
                Block::Tool {
                    index: i,
                    has_args: false,
                }
            }
            _ => Block::Other,
        };
        self.blocks.insert(index, block);
    }

    fn block_delta(&mut self, index: u64, d: &Fields, out: &mut Vec<u8>) {
        let nonempty = |s: &Option<String>| s.as_deref().filter(|t| !t.is_empty()).map(quote);
        let delta = match text(&d.kind) {
            "text_delta" => nonempty(&d.text).map(|t| format!("{{\"content\":{t}}}")),
            "thinking_delta" => d
                .thinking
                .as_deref()
                .filter(|t| !t.is_empty())
                .map(thinking_delta),
            "signature_delta" => d.signature.as_deref().map(|s| {
                format!(
                    "{{\"thinking_blocks\":[{{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":{}}}]}}",
                    quote(s)
                )
            }),
            "input_json_delta" => {
                let Some(part) = d.partial_json.as_deref().filter(|p| !p.is_empty()) else {
                    return;
                };
                match self.blocks.get_mut(&index) {
                    Some(Block::Tool { index, has_args }) => {
                        *has_args = true;
                        Some(tool_args(*index, part))
                    }
                    Some(Block::Answer) => Some(format!("{{\"content\":{}}}", quote(part))),
                    _ => None,
                }
            }
            // citations_delta and later additions.
            _ => None,
        };
        if let Some(d) = delta {
            self.chunk(out, &d, None);
        }
    }
}

/// A thinking fragment in LiteLLM's shape: `reasoning_content` plus a `thinking_blocks` piece.
fn thinking_delta(t: &str) -> String {
    let t = quote(t);
    format!(
        "{{\"reasoning_content\":{t},\"thinking_blocks\":[{{\"type\":\"thinking\",\"thinking\":{t}}}]}}"
    )
}

fn tool_args(index: u64, arguments: &str) -> String {
    format!(
        "{{\"tool_calls\":[{{\"index\":{index},\"function\":{{\"arguments\":{}}}}}]}}",
        quote(arguments)
    )
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
        // An unterminated last event counts only if it is whole; a cut one is truncation.
        if let Some(ev) = self.parser.finish().filter(complete_event) {
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
