//! OpenAI chat chunk stream -> Responses event stream.
//!
//! Output items are opened when their first delta arrives and closed when a
//! different kind of content starts or the chat finish_reason arrives, so the
//! client sees the same added / delta / done nesting as from OpenAI. Text and
//! arguments are kept only to fill the `done` events and the final response.

use serde_json::{json, Map, Value};

use super::items::{
    echo_settings, id_base, response_id, response_object, status_for, usage_object, Header, Outcome,
};
use super::stream_items::Item;
use crate::translate::sse::{write_event, SseEvent, SseParser};
use crate::translate::{unix_now, StreamTranslator, Usage};

/// Translates an OpenAI chat completion stream into Responses API events.
pub struct ChatToResponsesStream {
    pub(super) parser: SseParser,
    pub(super) settings: Map<String, Value>,
    pub(super) req_model: Value,
    pub(super) seq: u64,
    pub(super) header: Option<Header>,
    pub(super) base: String,
    pub(super) items: Vec<Item>,
    /// Open reasoning or message item.
    pub(super) current: Option<usize>,
    /// Open function_call items, and the chat tool index each answers to.
    pub(super) calls: Vec<(u64, usize)>,
    pub(super) finish: Option<String>,
    pub(super) usage: Option<Usage>,
    pub(super) ended: bool,
}

impl ChatToResponsesStream {
    /// A translator for the answer to `req`, the client's original Responses request.
    pub fn new(req: &Value) -> Self {
        ChatToResponsesStream {
            parser: SseParser::default(),
            settings: echo_settings(req),
            req_model: req.get("model").cloned().unwrap_or(Value::Null),
            seq: 0,
            header: None,
            base: String::new(),
            items: Vec::new(),
            current: None,
            calls: Vec::new(),
            finish: None,
            usage: None,
            ended: false,
        }
    }

    fn on_event(&mut self, out: &mut Vec<u8>, ev: &SseEvent) {
        if self.ended {
            return;
        }
        let data = ev.data.trim();
        if data == "[DONE]" {
            match self.finish {
                Some(_) => self.complete(out),
                None => self.fail(out, None, "upstream stream ended without a finish_reason"),
            }
            return;
        }
        let parsed = serde_json::from_str::<Value>(data).ok();
        let err = match &parsed {
            Some(v) => v.get("error").filter(|e| !e.is_null()),
            None => None,
        };
        if err.is_some() || ev.event.as_deref() == Some("error") {
            let detail = err
                .and_then(|e| e.get("message"))
                .and_then(Value::as_str)
                .unwrap_or(data);
            self.fail(out, err, &format!("upstream error: {detail}"));
            return;
        }
        // Keep-alives and other non-JSON lines carry nothing to translate.
        let Some(chunk) = parsed else {
            return;
        };
        self.on_chunk(out, &chunk);
    }

    fn on_chunk(&mut self, out: &mut Vec<u8>, chunk: &Value) {
        if self.header.is_none() {
            self.start(out, chunk);
        }
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(Usage::from_openai(u));
        }
        let choices = chunk.get("choices").and_then(Value::as_array);
        // Responses has one answer; a stray n>1 choice is ignored.
        let first = choices
            .into_iter()
            .flatten()
            .filter(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0);
        for choice in first {
            if self.finish.is_some() {
                break;
            }
            if let Some(delta) = choice.get("delta") {
                self.on_delta(out, delta);
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                let (status, _) = status_for(Some(reason));
                let item_status = if status == "completed" {
                    "completed"
                } else {
                    "incomplete"
                };
                self.close_open(out, item_status);
                self.finish = Some(reason.to_string());
            }
        }
        if self.finish.is_some() && self.usage.is_some() {
            self.complete(out);
        }
    }

    fn on_delta(&mut self, out: &mut Vec<u8>, delta: &Value) {
        let text = |key: &str| {
            delta
                .get(key)
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
        };
        if let Some(t) = text("reasoning_content") {
            self.reasoning(out, t);
        }
        if let Some(t) = text("content") {
            self.text(out, t, false);
        }
        if let Some(t) = text("refusal") {
            self.text(out, t, true);
        }
        let calls = delta.get("tool_calls").and_then(Value::as_array);
        for call in calls.into_iter().flatten() {
            self.tool_call(out, call);
        }
    }

    fn start(&mut self, out: &mut Vec<u8>, chunk: &Value) {
        self.base = id_base(chunk.get("id").and_then(Value::as_str));
        let header = Header {
            id: response_id(&self.base),
            created_at: chunk
                .get("created")
                .and_then(Value::as_u64)
                .unwrap_or_else(unix_now),
            model: chunk
                .get("model")
                .filter(|m| m.is_string())
                .unwrap_or(&self.req_model)
                .clone(),
        };
        let obj = response_object(&self.settings, &header, in_progress());
        self.header = Some(header);
        self.emit(out, "response.created", json!({"response": obj.clone()}));
        self.emit(out, "response.in_progress", json!({"response": obj}));
    }

    pub(super) fn complete(&mut self, out: &mut Vec<u8>) {
        self.ended = true;
        let (status, incomplete) = status_for(self.finish.as_deref());
        let outcome = Outcome {
            status,
            incomplete,
            error: None,
            output: self.items.iter().map(Item::to_json).collect(),
            usage: self.usage.as_ref().map(usage_object),
        };
        let kind = if incomplete.is_some() {
            "response.incomplete"
        } else {
            "response.completed"
        };
        self.finish_with(out, kind, outcome);
    }

    /// Ends the stream with `response.failed`, or with an `error` event when no
    /// response was announced yet.
    fn fail(&mut self, out: &mut Vec<u8>, upstream: Option<&Value>, message: &str) {
        self.ended = true;
        let upstream_code = upstream.and_then(|e| e.get("code")).and_then(Value::as_str);
        if self.header.is_none() {
            let param = upstream
                .and_then(|e| e.get("param"))
                .cloned()
                .unwrap_or(Value::Null);
            let code = upstream_code.unwrap_or("server_error");
            self.emit(
                out,
                "error",
                json!({"code": code, "message": message, "param": param}),
            );
            return;
        }
        let code = match upstream_code {
            Some("rate_limit_exceeded") => "rate_limit_exceeded",
            _ => "server_error",
        };
        for i in self
            .current
            .take()
            .into_iter()
            .chain(self.calls.drain(..).map(|(_, i)| i))
        {
            if let Some(item) = self.items.get_mut(i) {
                item.status = "incomplete";
            }
        }
        let outcome = Outcome {
            status: "failed",
            incomplete: None,
            error: Some(json!({"code": code, "message": message})),
            output: self.items.iter().map(Item::to_json).collect(),
            usage: self.usage.as_ref().map(usage_object),
        };
        self.finish_with(out, "response.failed", outcome);
    }

    fn finish_with(&mut self, out: &mut Vec<u8>, kind: &str, outcome: Outcome<'_>) {
        let Some(header) = self.header.as_ref() else {
            return;
        };
        let obj = response_object(&self.settings, header, outcome);
        self.emit(out, kind, json!({"response": obj}));
    }

    /// Writes one event: `type` first, then the fields and the sequence number.
    pub(super) fn emit(&mut self, out: &mut Vec<u8>, kind: &str, fields: Value) {
        let mut fields = match fields {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        fields.insert("sequence_number".into(), json!(self.seq));
        self.seq += 1;
        let rest = Value::Object(fields).to_string();
        let rest = rest.strip_prefix('{').unwrap_or(&rest);
        let data = format!("{{\"type\":{},{rest}", Value::String(kind.to_string()));
        write_event(out, Some(kind), &data);
    }
}

fn in_progress() -> Outcome<'static> {
    Outcome {
        status: "in_progress",
        incomplete: None,
        error: None,
        output: Vec::new(),
        usage: None,
    }
}

impl StreamTranslator for ChatToResponsesStream {
    fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for ev in self.parser.push(chunk) {
            self.on_event(&mut out, &ev);
        }
        out
    }

    fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(ev) = self.parser.finish() {
            self.on_event(&mut out, &ev);
        }
        if !self.ended {
            match self.finish {
                Some(_) => self.complete(&mut out),
                None => self.fail(
                    &mut out,
                    None,
                    "upstream stream ended before the response was complete",
                ),
            }
        }
        out
    }

    fn usage(&self) -> Usage {
        self.usage.unwrap_or_default()
    }
}
