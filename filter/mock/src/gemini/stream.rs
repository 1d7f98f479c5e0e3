//! Streamed answers: SSE events separated by `\r\n\r\n` (with `alt=sse`), or
//! the JSON array Gemini streams without it, one element per write.

use serde_json::{json, Value};

use super::generate::{Outcome, Plan};
use super::JSON_UTF8;
use crate::reply::Reply;

/// Content type of `alt=sse` streams, as Gemini sends it.
const SSE: &str = "text/event-stream";

/// Renders the plan as stream chunks (one per event / array element).
pub(super) fn reply(plan: &Plan, sse: bool) -> Reply {
    let mut objects: Vec<Value> = Vec::new();
    if let Some(t) = &plan.thought {
        objects.push(plan.response(vec![json!({"text": t, "thought": true})], false, 0));
    }
    match &plan.outcome {
        Outcome::Text(pieces) => {
            for (i, piece) in pieces.iter().enumerate() {
                let last = i + 1 == pieces.len();
                let part = json!({ "text": piece });
                objects.push(plan.response(vec![part], last, i as u64 + 1));
            }
            if pieces.is_empty() {
                objects.push(plan.response(vec![json!({"text": ""})], true, 0));
            }
        }
        Outcome::Call { name, args } => {
            let part = json!({"functionCall": {"name": name, "args": args}});
            objects.push(plan.response(vec![part], true, plan.candidate_tokens()));
        }
    }
    if sse {
        let events = objects
            .iter()
            .map(|o| format!("data: {o}\r\n\r\n"))
            .collect();
        Reply::stream(SSE, events).with_header("content-disposition", "attachment")
    } else {
        let count = objects.len();
        let mut chunks: Vec<String> = objects
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let pretty = serde_json::to_string_pretty(o).unwrap_or_default();
                if i == 0 {
                    format!("[{pretty}\n")
                } else {
                    format!(",\r\n{pretty}\n")
                }
            })
            .collect();
        if count == 0 {
            chunks.push("[".into());
        }
        chunks.push("]".into());
        Reply::stream(JSON_UTF8, chunks)
    }
}
