//! The output items of a Responses stream: opening them, their deltas, closing them.

use serde_json::{json, Value};

use super::stream::ChatToResponsesStream;
use super::stream_items::{Body, Item, Part};

impl ChatToResponsesStream {
    pub(super) fn reasoning(&mut self, out: &mut Vec<u8>, delta: &str) {
        let idx = match self.current {
            Some(i) if self.is(i, |b| matches!(b, Body::Reasoning(_))) => i,
            _ => {
                self.close_open(out, "completed");
                let idx = self.open(out, "rs", Body::Reasoning(String::new()));
                let (id, oi) = self.ids(idx);
                let part = json!({"type": "summary_text", "text": ""});
                self.emit(
                    out,
                    "response.reasoning_summary_part.added",
                    json!({"item_id": id, "output_index": oi, "summary_index": 0, "part": part}),
                );
                self.current = Some(idx);
                idx
            }
        };
        if let Some(Body::Reasoning(text)) = self.items.get_mut(idx).map(|it| &mut it.body) {
            text.push_str(delta);
        }
        let (id, oi) = self.ids(idx);
        self.emit(
            out,
            "response.reasoning_summary_text.delta",
            json!({"item_id": id, "output_index": oi, "summary_index": 0, "delta": delta}),
        );
    }

    pub(super) fn text(&mut self, out: &mut Vec<u8>, delta: &str, refusal: bool) {
        let idx = match self.current {
            Some(i) if self.is(i, |b| matches!(b, Body::Message(_))) => i,
            _ => {
                self.close_open(out, "completed");
                let idx = self.open(out, "msg", Body::Message(Vec::new()));
                self.current = Some(idx);
                idx
            }
        };
        let Some(Body::Message(parts)) = self.items.get_mut(idx).map(|it| &mut it.body) else {
            return;
        };
        let same_kind = parts.last().is_some_and(|p| p.refusal == refusal);
        let new_part = (!same_kind).then(|| {
            parts.push(Part {
                refusal,
                text: String::new(),
            });
            parts.len() - 1
        });
        let ci = parts.len().saturating_sub(1);
        if let Some(ci) = new_part {
            if ci > 0 {
                self.close_part(out, idx, ci - 1);
            }
            let (id, oi) = self.ids(idx);
            let part = Part {
                refusal,
                text: String::new(),
            }
            .to_json();
            self.emit(
                out,
                "response.content_part.added",
                json!({"item_id": id, "output_index": oi, "content_index": ci, "part": part}),
            );
        }
        if let Some(Body::Message(parts)) = self.items.get_mut(idx).map(|it| &mut it.body) {
            if let Some(p) = parts.last_mut() {
                p.text.push_str(delta);
            }
        }
        let (id, oi) = self.ids(idx);
        if refusal {
            self.emit(
                out,
                "response.refusal.delta",
                json!({"item_id": id, "output_index": oi, "content_index": ci, "delta": delta}),
            );
        } else {
            self.emit(out, "response.output_text.delta", json!({"item_id": id, "output_index": oi, "content_index": ci, "delta": delta, "logprobs": []}));
        }
    }

    pub(super) fn tool_call(&mut self, out: &mut Vec<u8>, call: &Value) {
        if let Some(i) = self.current.take() {
            self.close_item(out, i, "completed");
        }
        let index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
        let name = call
            .pointer("/function/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let idx = match self.calls.iter().find(|(ci, _)| *ci == index) {
            Some(&(_, idx)) => idx,
            None => {
                let call_id = match call.get("id").and_then(Value::as_str) {
                    Some(id) if !id.is_empty() => id.to_string(),
                    _ => format!("call_{}_{}", self.base, self.items.len()),
                };
                let body = Body::Call {
                    call_id,
                    name: name.to_string(),
                    args: String::new(),
                };
                let idx = self.open(out, "fc", body);
                self.calls.push((index, idx));
                idx
            }
        };
        let args = call
            .pointer("/function/arguments")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(Body::Call {
            name: n, args: a, ..
        }) = self.items.get_mut(idx).map(|it| &mut it.body)
        {
            if n.is_empty() {
                n.push_str(name);
            }
            a.push_str(args);
        }
        if !args.is_empty() {
            let (id, oi) = self.ids(idx);
            self.emit(
                out,
                "response.function_call_arguments.delta",
                json!({"item_id": id, "output_index": oi, "delta": args}),
            );
        }
    }

    /// Adds an item and announces it.
    pub(super) fn open(&mut self, out: &mut Vec<u8>, prefix: &str, body: Body) -> usize {
        let idx = self.items.len();
        let item = Item::new(prefix, &self.base, idx, body);
        let added = item.to_json();
        self.items.push(item);
        self.emit(
            out,
            "response.output_item.added",
            json!({"item": added, "output_index": idx}),
        );
        idx
    }

    /// Closes the open item(s) with the given item status.
    pub(super) fn close_open(&mut self, out: &mut Vec<u8>, status: &'static str) {
        if let Some(i) = self.current.take() {
            self.close_item(out, i, status);
        }
        for (_, i) in std::mem::take(&mut self.calls) {
            self.close_item(out, i, status);
        }
    }

    pub(super) fn close_item(&mut self, out: &mut Vec<u8>, idx: usize, status: &'static str) {
        let Some(item) = self.items.get_mut(idx) else {
            return;
        };
        item.status = status;
        let closing = match &item.body {
            Body::Reasoning(text) => Closing::Reasoning(text.clone()),
            Body::Message(parts) => Closing::Message(parts.len().checked_sub(1)),
            Body::Call { args, .. } => Closing::Call(args.clone()),
        };
        let (id, oi) = self.ids(idx);
        match closing {
            Closing::Reasoning(text) => {
                let part = json!({"type": "summary_text", "text": text});
                self.emit(
                    out,
                    "response.reasoning_summary_text.done",
                    json!({"item_id": id, "output_index": oi, "summary_index": 0, "text": text}),
                );
                self.emit(
                    out,
                    "response.reasoning_summary_part.done",
                    json!({"item_id": id, "output_index": oi, "summary_index": 0, "part": part}),
                );
            }
            Closing::Message(Some(last)) => self.close_part(out, idx, last),
            Closing::Message(None) => {}
            Closing::Call(args) => {
                self.emit(
                    out,
                    "response.function_call_arguments.done",
                    json!({"item_id": id, "output_index": oi, "arguments": args}),
                );
            }
        }
        let done = self
            .items
            .get(idx)
            .map(Item::to_json)
            .unwrap_or(Value::Null);
        self.emit(
            out,
            "response.output_item.done",
            json!({"item": done, "output_index": oi}),
        );
    }

    pub(super) fn close_part(&mut self, out: &mut Vec<u8>, idx: usize, ci: usize) {
        let Some(part) = self.items.get(idx).and_then(|it| it.part(ci)).cloned() else {
            return;
        };
        let (id, oi) = self.ids(idx);
        if part.refusal {
            self.emit(out, "response.refusal.done", json!({"item_id": id, "output_index": oi, "content_index": ci, "refusal": part.text}));
        } else {
            self.emit(out, "response.output_text.done", json!({"item_id": id, "output_index": oi, "content_index": ci, "text": part.text, "logprobs": []}));
        }
        self.emit(
            out,
            "response.content_part.done",
            json!({"item_id": id, "output_index": oi, "content_index": ci, "part": part.to_json()}),
        );
    }

    pub(super) fn is(&self, idx: usize, pred: impl Fn(&Body) -> bool) -> bool {
        self.items.get(idx).is_some_and(|it| pred(&it.body))
    }

    pub(super) fn ids(&self, idx: usize) -> (String, usize) {
        (
            self.items
                .get(idx)
                .map(|it| it.id.clone())
                .unwrap_or_default(),
            idx,
        )
    }
}

/// What closing an item has to report, copied out of the item.
enum Closing {
    Reasoning(String),
    Message(Option<usize>),
    Call(String),
}
