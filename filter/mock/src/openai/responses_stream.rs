//! Responses API event streams, framed like the recorded ones: an `event:` line,
//! a `data:` object with `type` first and a `sequence_number`, one write per event.

use serde_json::{json, Map, Value};

use super::chat::Outcome;
use super::responses::{output_item, response_object, text_part, Plan};
use crate::reply::{Reply, SSE};
use crate::util::{rand_alnum, rand_u64};

/// Collects events with increasing sequence numbers.
struct Events {
    out: Vec<String>,
}

impl Events {
    fn push(&mut self, kind: &str, fields: Value) {
        let mut map = match fields {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        map.insert("sequence_number".into(), json!(self.out.len()));
        let rest = Value::Object(map).to_string();
        let rest = rest.strip_prefix('{').unwrap_or(&rest);
        let kind_json = Value::String(kind.to_owned());
        self.out.push(format!(
            "event: {kind}\ndata: {{\"type\":{kind_json},{rest}\n\n"
        ));
    }
}

/// The real API pads deltas with random filler so lengths do not leak content.
fn obfuscation() -> String {
    rand_alnum((rand_u64() % 16) as usize)
}

/// Renders the plan as a Responses event stream.
pub(super) fn reply(plan: &Plan) -> Reply {
    let mut ev = Events { out: Vec::new() };
    let started = response_object(plan, false);
    ev.push("response.created", json!({"response": started}));
    ev.push("response.in_progress", json!({"response": started}));
    ev.push(
        "response.output_item.added",
        json!({"item": output_item(plan, false), "output_index": 0}),
    );
    let id = &plan.item_id;
    match &plan.outcome {
        Outcome::Text(pieces) => {
            let at = json!({"item_id": id, "output_index": 0, "content_index": 0});
            let with = |extra: Value| merge(&at, extra);
            ev.push(
                "response.content_part.added",
                with(json!({"part": text_part("")})),
            );
            for piece in pieces {
                ev.push(
                    "response.output_text.delta",
                    with(json!({"delta": piece, "logprobs": [], "obfuscation": obfuscation()})),
                );
            }
            let text = pieces.concat();
            ev.push(
                "response.output_text.done",
                with(json!({"text": text, "logprobs": []})),
            );
            ev.push(
                "response.content_part.done",
                with(json!({"part": text_part(&text)})),
            );
        }
        Outcome::Tool { fragments, .. } => {
            for fragment in fragments {
                ev.push(
                    "response.function_call_arguments.delta",
                    json!({"item_id": id, "output_index": 0, "delta": fragment, "obfuscation": obfuscation()}),
                );
            }
            ev.push(
                "response.function_call_arguments.done",
                json!({"item_id": id, "output_index": 0, "arguments": fragments.concat()}),
            );
        }
    }
    ev.push(
        "response.output_item.done",
        json!({"item": output_item(plan, true), "output_index": 0}),
    );
    let kind = if plan.incomplete {
        "response.incomplete"
    } else {
        "response.completed"
    };
    ev.push(kind, json!({"response": response_object(plan, true)}));
    Reply::stream(SSE, ev.out)
}

/// `base` with `extra`'s fields added.
fn merge(base: &Value, extra: Value) -> Value {
    let mut out = base.clone();
    if let (Some(o), Value::Object(e)) = (out.as_object_mut(), extra) {
        o.extend(e);
    }
    out
}
