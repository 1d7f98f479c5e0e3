//! `:generateContent` / `:streamGenerateContent`: deterministic echo answers,
//! function calls and thought parts.

use hyper::StatusCode;
use serde_json::{json, Map, Value};

use super::{error, stream, JSON_UTF8};
use crate::reply::Reply;
use crate::util::{rand_alnum, truncate_chars, word_pieces};

/// Replies are cut to this many characters so huge prompts give short answers.
const MAX_REPLY_CHARS: usize = 200;

/// Everything needed to render the answer as one object or as a stream.
pub(super) struct Plan {
    pub response_id: String,
    pub model: String,
    /// Thought summary, when thinkingConfig.includeThoughts asked for one.
    pub thought: Option<String>,
    pub outcome: Outcome,
    pub finish_reason: &'static str,
    pub prompt_tokens: u64,
}

/// What the model says.
pub(super) enum Outcome {
    /// Text, split into streamed pieces.
    Text(Vec<String>),
    /// One call of the first declared function.
    Call { name: String, args: Value },
}

impl Plan {
    /// Tokens of the visible answer.
    pub fn candidate_tokens(&self) -> u64 {
        match &self.outcome {
            Outcome::Text(pieces) => pieces.len() as u64,
            Outcome::Call { args, .. } => word_pieces(&args.to_string()).len() as u64,
        }
    }

    /// Tokens of the thought summary.
    pub fn thought_tokens(&self) -> u64 {
        self.thought
            .as_deref()
            .map_or(0, |t| word_pieces(t).len() as u64)
    }

    /// `usageMetadata` after `candidates` answer tokens (cumulative, as Gemini streams it).
    pub fn usage(&self, candidates: u64) -> Value {
        let thoughts = self.thought_tokens();
        let mut meta = json!({
            "promptTokenCount": self.prompt_tokens,
            "candidatesTokenCount": candidates,
            "totalTokenCount": self.prompt_tokens + candidates + thoughts,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": self.prompt_tokens}],
        });
        if thoughts > 0 {
            meta["thoughtsTokenCount"] = json!(thoughts);
        }
        meta
    }

    /// One response object (`GenerateContentResponse`).
    pub fn response(&self, parts: Vec<Value>, finish: bool, candidates: u64) -> Value {
        let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
        if finish {
            candidate["finishReason"] = json!(self.finish_reason);
        }
        json!({
            "candidates": [candidate],
            "usageMetadata": self.usage(candidates),
            "modelVersion": self.model,
            "responseId": self.response_id,
        })
    }
}

/// Text of a content's text parts (thoughts excluded).
fn content_text(content: &Value) -> String {
    content
        .get("parts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p.get("thought").and_then(Value::as_bool) != Some(true))
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect()
}

fn mentions_tool(text: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case("tool") || w.eq_ignore_ascii_case("tools"))
}

fn first_function(body: &Map<String, Value>) -> Option<String> {
    body.get("tools")?.as_array()?.iter().find_map(|t| {
        let decls = t
            .get("functionDeclarations")
            .or_else(|| t.get("function_declarations"))?;
        decls
            .as_array()?
            .first()?
            .get("name")?
            .as_str()
            .map(str::to_owned)
    })
}

fn prompt_tokens(body: &Map<String, Value>, contents: &[Value]) -> u64 {
    let system = body
        .get("systemInstruction")
        .map(content_text)
        .unwrap_or_default();
    let chars: usize = contents
        .iter()
        .map(|c| content_text(c).chars().count())
        .sum::<usize>()
        + system.chars().count();
    (chars as u64 / 4).max(1)
}

/// Answers; `stream` is None for generateContent, Some(alt=sse) for streams.
pub(super) fn answer(
    name: &str,
    model: &str,
    body: &Map<String, Value>,
    stream: Option<bool>,
) -> Reply {
    let contents = match body.get("contents") {
        Some(Value::Array(c)) if !c.is_empty() => c,
        _ => {
            let msg = "* GenerateContentRequest.contents: contents is not specified\n";
            return error(StatusCode::BAD_REQUEST, msg);
        }
    };
    let plan = plan(name, model, body, contents);
    match stream {
        None => {
            let parts = all_parts(&plan);
            let value = plan.response(parts, true, plan.candidate_tokens());
            Reply::raw(StatusCode::OK, JSON_UTF8, value.to_string())
        }
        Some(sse) => stream::reply(&plan, sse),
    }
}

fn plan(name: &str, model: &str, body: &Map<String, Value>, contents: &[Value]) -> Plan {
    let last = contents.last();
    let last_is_user = last
        .and_then(|c| c.get("role"))
        .and_then(Value::as_str)
        .is_none_or(|r| r == "user");
    let user_text = contents
        .iter()
        .rev()
        .find(|c| {
            c.get("role")
                .and_then(Value::as_str)
                .is_none_or(|r| r == "user")
        })
        .map(content_text)
        .unwrap_or_default();
    let config = body.get("generationConfig");
    let include_thoughts = config
        .and_then(|c| c.pointer("/thinkingConfig/includeThoughts"))
        .and_then(Value::as_bool)
        == Some(true);
    let thought = include_thoughts.then(|| {
        format!(
            "**Considering the request**\n\nThe user wrote {} words; I will echo them.\n\n",
            word_pieces(&user_text).len()
        )
    });
    let tool = first_function(body).filter(|_| last_is_user && mentions_tool(&user_text));
    let (outcome, finish_reason) = match tool {
        Some(name) => (
            Outcome::Call {
                name,
                args: json!({ "input": user_text }),
            },
            "STOP",
        ),
        None => {
            let full = format!("[{name}] {user_text}");
            let text = truncate_chars(&full, MAX_REPLY_CHARS).trim_end();
            let mut pieces: Vec<String> =
                word_pieces(text).into_iter().map(str::to_owned).collect();
            let limit = config
                .and_then(|c| c.get("maxOutputTokens"))
                .and_then(Value::as_u64)
                .map(|l| usize::try_from(l).unwrap_or(usize::MAX));
            match limit {
                Some(limit) if limit < pieces.len() => {
                    pieces.truncate(limit);
                    (Outcome::Text(pieces), "MAX_TOKENS")
                }
                _ => (Outcome::Text(pieces), "STOP"),
            }
        }
    };
    Plan {
        response_id: rand_alnum(23),
        model: model.to_owned(),
        thought,
        outcome,
        finish_reason,
        prompt_tokens: prompt_tokens(body, contents),
    }
}

/// Every part of the answer, for the non-streamed response.
fn all_parts(plan: &Plan) -> Vec<Value> {
    let mut parts = Vec::new();
    if let Some(t) = &plan.thought {
        parts.push(json!({"text": t, "thought": true}));
    }
    match &plan.outcome {
        Outcome::Text(pieces) => parts.push(json!({ "text": pieces.concat() })),
        Outcome::Call { name, args } => {
            parts.push(json!({"functionCall": {"name": name, "args": args}}))
        }
    }
    parts
}

/// `:countTokens`: the same estimate the answers report as promptTokenCount.
pub(super) fn count_tokens(body: &Map<String, Value>) -> Reply {
    let contents = body
        .get("contents")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let total = prompt_tokens(body, contents);
    Reply::raw(
        StatusCode::OK,
        JSON_UTF8,
        json!({ "totalTokens": total }).to_string(),
    )
}
