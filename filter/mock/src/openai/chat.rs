//! `POST .../chat/completions`: deterministic echo answers, tool calls, and their streams.

use hyper::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{created, invalid, missing, parse_object, require_model, stream};
use crate::faces::ProviderRequest;
use crate::reply::Reply;
use crate::util::{fnv1a, rand_alnum, truncate_chars, word_pieces};

/// Replies are cut to this many characters so huge prompts give short answers.
const MAX_REPLY_CHARS: usize = 200;

/// Everything needed to render the answer either as one object or as a stream.
pub(super) struct Plan {
    pub id: String,
    pub created: u64,
    pub model: String,
    pub fingerprint: String,
    pub outcome: Outcome,
    pub finish_reason: &'static str,
    pub usage: Usage,
    pub include_usage: bool,
}

/// What the assistant says.
pub(super) enum Outcome {
    /// Text, already split into streamed pieces.
    Text(Vec<String>),
    /// One call of the first tool, with its streamed argument fragments.
    Tool {
        id: String,
        name: String,
        fragments: Vec<String>,
    },
}

/// OpenAI's usage object, field order as the API sends it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub prompt_tokens_details: PromptDetails,
    pub completion_tokens_details: CompletionDetails,
}

#[derive(Debug, Clone, Serialize)]
pub(super) struct PromptDetails {
    cached_tokens: u64,
    audio_tokens: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(super) struct CompletionDetails {
    reasoning_tokens: u64,
    audio_tokens: u64,
    accepted_prediction_tokens: u64,
    rejected_prediction_tokens: u64,
}

impl Usage {
    fn new(prompt: u64, completion: u64) -> Usage {
        Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt + completion,
            prompt_tokens_details: PromptDetails {
                cached_tokens: 0,
                audio_tokens: 0,
            },
            completion_tokens_details: CompletionDetails {
                reasoning_tokens: 0,
                audio_tokens: 0,
                accepted_prediction_tokens: 0,
                rejected_prediction_tokens: 0,
            },
        }
    }
}

/// Answers one chat completion request.
pub fn answer(req: &ProviderRequest<'_>) -> Reply {
    let body = match parse_object(req.body) {
        Ok(body) => body,
        Err(reply) => return *reply,
    };
    let model = match require_model(&body) {
        Ok(model) => model,
        Err(reply) => return *reply,
    };
    let messages = match body.get("messages") {
        None | Some(Value::Null) => return missing("messages"),
        Some(Value::Array(m)) if m.is_empty() => {
            let msg = "Invalid 'messages': empty array. Expected an array with minimum length 1, \
                       but got an empty array instead.";
            return super::error(
                StatusCode::BAD_REQUEST,
                msg.to_owned(),
                Some("messages"),
                Some("empty_array"),
            );
        }
        Some(Value::Array(m)) => m,
        Some(_) => return invalid("Invalid type for 'messages': expected an array.".into()),
    };
    let plan = plan(req.name, model, messages, &body);
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        stream::reply(&plan)
    } else {
        Reply::json(StatusCode::OK, &completion(&plan))
    }
}

/// Text of a message's content: a string, or the `text` parts of a part list.
pub(super) fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

pub(super) fn mentions_tool(text: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case("tool") || w.eq_ignore_ascii_case("tools"))
}

fn first_tool_name(body: &Map<String, Value>) -> Option<String> {
    let tool = body.get("tools")?.as_array()?.first()?;
    let name = tool
        .pointer("/function/name")
        .or_else(|| tool.get("name"))?;
    name.as_str().map(str::to_owned)
}

fn plan(name: &str, model: String, messages: &[Value], body: &Map<String, Value>) -> Plan {
    let last_user = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .map(|m| content_text(m.get("content")))
        .unwrap_or_default();
    let prompt_chars: usize = messages
        .iter()
        .map(|m| content_text(m.get("content")).chars().count())
        .sum();
    let prompt_tokens = (prompt_chars as u64 / 4).max(1);
    let last_is_user = messages
        .last()
        .and_then(|m| m.get("role"))
        .and_then(Value::as_str)
        == Some("user");
    let tool = first_tool_name(body).filter(|_| last_is_user && mentions_tool(&last_user));
    let (outcome, finish_reason) = match tool {
        Some(tool_name) => (tool_outcome(tool_name, &last_user), "tool_calls"),
        None => text_outcome(name, &last_user, max_tokens(body)),
    };
    let completion_tokens = match &outcome {
        Outcome::Text(pieces) => pieces.len(),
        Outcome::Tool { fragments, .. } => fragments.len(),
    } as u64;
    let include_usage = body
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        == Some(true);
    Plan {
        id: format!("chatcmpl-{}", rand_alnum(29)),
        created: created(),
        model,
        fingerprint: format!("fp_{:010x}", fnv1a(name.as_bytes()) & 0xff_ffff_ffff),
        outcome,
        finish_reason,
        usage: Usage::new(prompt_tokens, completion_tokens),
        include_usage,
    }
}

fn max_tokens(body: &Map<String, Value>) -> Option<usize> {
    let limit = |key| body.get(key).and_then(Value::as_u64);
    let limit = limit("max_completion_tokens").or_else(|| limit("max_tokens"))?;
    Some(usize::try_from(limit).unwrap_or(usize::MAX))
}

pub(super) fn text_outcome(
    name: &str,
    user_text: &str,
    limit: Option<usize>,
) -> (Outcome, &'static str) {
    let full = format!("[{name}] {user_text}");
    let content = truncate_chars(&full, MAX_REPLY_CHARS).trim_end();
    let pieces: Vec<String> = word_pieces(content)
        .into_iter()
        .map(str::to_owned)
        .collect();
    match limit {
        Some(limit) if limit < pieces.len() => (Outcome::Text(pieces[..limit].to_vec()), "length"),
        _ => (Outcome::Text(pieces), "stop"),
    }
}

pub(super) fn tool_outcome(tool_name: String, user_text: &str) -> Outcome {
    // Fragments mimic how the API streams arguments: key, separators, then value words.
    let escaped = serde_json::to_string(user_text).unwrap_or_else(|_| "\"\"".to_owned());
    let inner = escaped
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or_default();
    let mut fragments = vec!["{\"".to_owned(), "input".to_owned(), "\":\"".to_owned()];
    fragments.extend(word_pieces(inner).into_iter().map(str::to_owned));
    fragments.push("\"}".to_owned());
    Outcome::Tool {
        id: format!("call_{}", rand_alnum(24)),
        name: tool_name,
        fragments,
    }
}

#[derive(Serialize)]
struct Completion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [Choice; 1],
    usage: &'a Usage,
    service_tier: &'static str,
    system_fingerprint: &'a str,
}

#[derive(Serialize)]
struct Choice {
    index: u32,
    message: Message,
    logprobs: Option<()>,
    finish_reason: &'static str,
}

#[derive(Serialize)]
struct Message {
    role: &'static str,
    content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<Vec<Value>>,
    refusal: Option<()>,
    annotations: [(); 0],
}

fn completion(plan: &Plan) -> Completion<'_> {
    let (content, tool_calls) = match &plan.outcome {
        Outcome::Text(pieces) => (Some(pieces.concat()), None),
        Outcome::Tool {
            id,
            name,
            fragments,
        } => {
            let call = serde_json::json!({
                "id": id, "type": "function",
                "function": {"name": name, "arguments": fragments.concat()},
            });
            (None, Some(vec![call]))
        }
    };
    Completion {
        id: &plan.id,
        object: "chat.completion",
        created: plan.created,
        model: &plan.model,
        choices: [Choice {
            index: 0,
            message: Message {
                role: "assistant",
                content,
                tool_calls,
                refusal: None,
                annotations: [],
            },
            logprobs: None,
            finish_reason: plan.finish_reason,
        }],
        usage: &plan.usage,
        service_tier: "default",
        system_fingerprint: &plan.fingerprint,
    }
}

#[cfg(test)]
#[path = "chat_tests.rs"]
mod tests;
