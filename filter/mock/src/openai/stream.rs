//! `chat.completion.chunk` event streams, framed exactly like the recorded API streams.

use serde::Serialize;

use super::chat::{Outcome, Plan, Usage};
use crate::reply::{sse_data, Reply, SSE};
use crate::util::{rand_alnum, rand_u64};

/// Terminal event of every OpenAI stream.
pub const DONE: &str = "data: [DONE]\n\n";

#[derive(Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    service_tier: &'static str,
    system_fingerprint: &'a str,
    choices: Vec<ChunkChoice<'a>>,
    // Outer None omits the field; Some(None) is the `"usage": null` of include_usage streams.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Option<&'a Usage>>,
    obfuscation: String,
}

#[derive(Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    logprobs: Option<()>,
    finish_reason: Option<&'static str>,
}

/// A delta; `Some(None)` fields serialise as explicit nulls, `None` ones are left out.
#[derive(Serialize, Default)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[ToolCallDelta<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<Option<()>>,
}

#[derive(Serialize)]
struct ToolCallDelta<'a> {
    index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    function: FunctionDelta<'a>,
}

#[derive(Serialize)]
struct FunctionDelta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    arguments: &'a str,
}

/// Renders the plan as SSE events ending in `data: [DONE]`.
pub(super) fn reply(plan: &Plan) -> Reply {
    let chunk = |delta: Delta<'_>, finish: Option<&'static str>| -> String {
        let choice = ChunkChoice {
            index: 0,
            delta,
            logprobs: None,
            finish_reason: finish,
        };
        event(plan, vec![choice], plan.include_usage.then_some(None))
    };
    let mut events = Vec::new();
    match &plan.outcome {
        Outcome::Text(pieces) => {
            events.push(chunk(
                Delta {
                    role: Some("assistant"),
                    content: Some(Some("")),
                    refusal: Some(None),
                    ..Delta::default()
                },
                None,
            ));
            for piece in pieces {
                events.push(chunk(
                    Delta {
                        content: Some(Some(piece)),
                        ..Delta::default()
                    },
                    None,
                ));
            }
        }
        Outcome::Tool {
            id,
            name,
            fragments,
        } => {
            let call = ToolCallDelta {
                index: 0,
                id: Some(id),
                kind: Some("function"),
                function: FunctionDelta {
                    name: Some(name),
                    arguments: "",
                },
            };
            events.push(chunk(
                Delta {
                    role: Some("assistant"),
                    content: Some(None),
                    tool_calls: Some([call]),
                    refusal: Some(None),
                },
                None,
            ));
            for fragment in fragments {
                let call = ToolCallDelta {
                    index: 0,
                    id: None,
                    kind: None,
                    function: FunctionDelta {
                        name: None,
                        arguments: fragment,
                    },
                };
                events.push(chunk(
                    Delta {
                        tool_calls: Some([call]),
                        ..Delta::default()
                    },
                    None,
                ));
            }
        }
    }
    events.push(chunk(Delta::default(), Some(plan.finish_reason)));
    if plan.include_usage {
        events.push(event(plan, Vec::new(), Some(Some(&plan.usage))));
    }
    events.push(DONE.to_owned());
    Reply::stream(SSE, events)
}

fn event(plan: &Plan, choices: Vec<ChunkChoice<'_>>, usage: Option<Option<&Usage>>) -> String {
    let chunk = Chunk {
        id: &plan.id,
        object: "chat.completion.chunk",
        created: plan.created,
        model: &plan.model,
        service_tier: "default",
        system_fingerprint: &plan.fingerprint,
        choices,
        usage,
        // The real API pads chunks with random filler so lengths do not leak content.
        obfuscation: rand_alnum((rand_u64() % 16) as usize),
    };
    sse_data(&chunk)
}
