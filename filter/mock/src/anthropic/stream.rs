//! Messages event streams, framed like the recordings: `event:` lines, a ping after the
//! first content_block_start, one delta per word (or JSON fragment).

use serde_json::{json, Value};

use super::messages::{Block, Plan};
use crate::reply::{Reply, SSE};

/// Exactly as the API sends it (note the space after the colon).
const PING: &str = "event: ping\ndata: {\"type\": \"ping\"}\n\n";

fn event(name: &str, data: &Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

fn delta(index: usize, delta: Value) -> String {
    event(
        "content_block_delta",
        &json!({"type": "content_block_delta", "index": index, "delta": delta}),
    )
}

/// Renders the plan as an event stream ending in message_stop.
pub(super) fn reply(plan: &Plan) -> Reply {
    let message = json!({
        "model": plan.model,
        "id": plan.id,
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": null,
        "stop_sequence": null,
        "usage": plan.usage.json(1),
    });
    let mut events = vec![event(
        "message_start",
        &json!({"type": "message_start", "message": message}),
    )];
    for (index, block) in plan.blocks.iter().enumerate() {
        let start = match block {
            Block::Thinking { .. } => json!({"type": "thinking", "thinking": "", "signature": ""}),
            Block::Text(_) => json!({"type": "text", "text": ""}),
            Block::ToolUse { id, name, .. } => {
                json!({"type": "tool_use", "id": id, "name": name, "input": {}})
            }
        };
        events.push(event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": start}),
        ));
        if index == 0 {
            events.push(PING.to_owned());
        }
        match block {
            Block::Thinking { pieces, signature } => {
                for p in pieces {
                    events.push(delta(
                        index,
                        json!({"type": "thinking_delta", "thinking": p}),
                    ));
                }
                events.push(delta(
                    index,
                    json!({"type": "signature_delta", "signature": signature}),
                ));
            }
            Block::Text(pieces) => {
                for p in pieces {
                    events.push(delta(index, json!({"type": "text_delta", "text": p})));
                }
            }
            Block::ToolUse { fragments, .. } => {
                for f in fragments {
                    let d = json!({"type": "input_json_delta", "partial_json": f});
                    events.push(delta(index, d));
                }
            }
        }
        events.push(event(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        ));
    }
    let usage = json!({
        "input_tokens": plan.usage.input,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": plan.usage.cache_read,
        "output_tokens": plan.usage.output,
    });
    events.push(event(
        "message_delta",
        &json!({
            "type": "message_delta",
            "delta": {"stop_reason": plan.stop_reason, "stop_sequence": plan.stop_sequence},
            "usage": usage,
        }),
    ));
    events.push(event("message_stop", &json!({"type": "message_stop"})));
    Reply::stream(SSE, events)
}
