//! The deterministic Messages answer: echoed text, a tool call, thinking, stop reasons, usage.

use hyper::StatusCode;
use serde_json::{json, Map, Value};

use super::stream;
use crate::reply::Reply;
use crate::util::{base64, fnv1a, rand_alnum, splitmix64, truncate_chars, word_pieces};

/// Replies are cut to this many characters so huge prompts give short answers.
const MAX_REPLY_CHARS: usize = 200;

/// Everything needed to render the answer either as one object or as a stream.
pub(super) struct Plan {
    pub id: String,
    pub model: String,
    pub blocks: Vec<Block>,
    pub stop_reason: &'static str,
    pub stop_sequence: Option<String>,
    pub usage: Usage,
}

/// One content block, already split into its streamed pieces.
pub(super) enum Block {
    Thinking {
        pieces: Vec<String>,
        signature: String,
    },
    Text(Vec<String>),
    ToolUse {
        id: String,
        name: String,
        fragments: Vec<String>,
    },
}

/// Token counts; `input` excludes the cached part, as Anthropic reports it.
#[derive(Clone, Copy)]
pub(super) struct Usage {
    pub input: u64,
    pub cache_read: u64,
    pub output: u64,
}

impl Usage {
    /// The `usage` object of a message (and of message_start).
    pub fn json(&self, output: u64) -> Value {
        json!({
            "input_tokens": self.input,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": self.cache_read,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "output_tokens": output,
            "service_tier": "standard",
        })
    }
}

/// Answers a validated request.
pub(super) fn answer(name: &str, body: &Map<String, Value>, max_tokens: u64) -> Reply {
    let plan = plan(name, body, max_tokens);
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        stream::reply(&plan)
    } else {
        Reply::json(StatusCode::OK, &message(&plan))
    }
}

fn message(plan: &Plan) -> Value {
    let content: Vec<Value> = plan
        .blocks
        .iter()
        .map(|b| match b {
            Block::Thinking { pieces, signature } => {
                json!({"type": "thinking", "thinking": pieces.concat(), "signature": signature})
            }
            Block::Text(pieces) => json!({"type": "text", "text": pieces.concat()}),
            Block::ToolUse {
                id,
                name,
                fragments,
            } => {
                let input: Value = serde_json::from_str(&fragments.concat()).unwrap_or(json!({}));
                json!({"type": "tool_use", "id": id, "name": name, "input": input})
            }
        })
        .collect();
    json!({
        "model": plan.model,
        "id": plan.id,
        "type": "message",
        "role": "assistant",
        "content": content,
        "stop_reason": plan.stop_reason,
        "stop_sequence": plan.stop_sequence,
        "usage": plan.usage.json(plan.usage.output),
    })
}

/// Text of a content value: a string, or its text blocks (tool_result content included
/// when `results` is set).
fn text_of(content: Option<&Value>, results: bool) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .map(|b| match b.get("type").and_then(Value::as_str) {
                Some("text") => b.get("text").and_then(Value::as_str).unwrap_or("").into(),
                Some("tool_result") if results => text_of(b.get("content"), false),
                _ => String::new(),
            })
            .collect(),
        _ => String::new(),
    }
}

fn mentions_tool(text: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case("tool") || w.eq_ignore_ascii_case("tools"))
}

fn plan(name: &str, body: &Map<String, Value>, max_tokens: u64) -> Plan {
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let role = |m: &Value| m.get("role").and_then(Value::as_str).map(str::to_owned);
    let last_user = messages
        .iter()
        .rev()
        .find(|m| role(m).as_deref() == Some("user"))
        .map(|m| text_of(m.get("content"), false))
        .unwrap_or_default();
    let prompt_chars = text_of(body.get("system"), false).chars().count()
        + messages
            .iter()
            .map(|m| text_of(m.get("content"), true).chars().count())
            .sum::<usize>();
    let prompt = (prompt_chars as u64 / 4).max(1);
    // Any cache_control marker: report half the prompt as read from cache.
    let cache_read = if Value::Object(body.clone())
        .to_string()
        .contains("\"cache_control\"")
    {
        prompt / 2
    } else {
        0
    };
    let mut blocks = Vec::new();
    let thinking = body
        .get("thinking")
        .and_then(|t| t.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t == "enabled" || t == "adaptive");
    if thinking {
        blocks.push(thinking_block(&last_user));
    }
    let last_is_user = messages.last().and_then(role).as_deref() == Some("user");
    let tool = first_tool_name(body).filter(|_| last_is_user && mentions_tool(&last_user));
    let (stop_reason, stop_sequence) = match tool {
        Some(tool_name) => {
            blocks.push(tool_block(tool_name, &last_user));
            ("tool_use", None)
        }
        None => {
            let (pieces, stop, seq) = text_pieces(name, &last_user, body, max_tokens);
            if !pieces.is_empty() {
                blocks.push(Block::Text(pieces));
            }
            (stop, seq)
        }
    };
    let output = blocks
        .iter()
        .map(|b| match b {
            Block::Thinking { pieces, .. } | Block::Text(pieces) => pieces.len(),
            Block::ToolUse { fragments, .. } => fragments.len(),
        })
        .sum::<usize>() as u64;
    Plan {
        id: format!("msg_01{}", rand_alnum(22)),
        model: body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        blocks,
        stop_reason,
        stop_sequence,
        usage: Usage {
            input: prompt - cache_read,
            cache_read,
            output,
        },
    }
}

fn first_tool_name(body: &Map<String, Value>) -> Option<String> {
    let tool = body.get("tools")?.as_array()?.first()?;
    tool.get("name")?.as_str().map(str::to_owned)
}

/// The echo text, cut at the first stop sequence and at max_tokens words.
fn text_pieces(
    name: &str,
    user_text: &str,
    body: &Map<String, Value>,
    max_tokens: u64,
) -> (Vec<String>, &'static str, Option<String>) {
    let full = format!("[{name}] {user_text}");
    let mut text = truncate_chars(&full, MAX_REPLY_CHARS).trim_end();
    let mut stop = None;
    let sequences = body.get("stop_sequences").and_then(Value::as_array);
    for seq in sequences.into_iter().flatten().filter_map(Value::as_str) {
        if let Some(pos) = text.find(seq).filter(|_| !seq.is_empty()) {
            text = text.get(..pos).unwrap_or(text);
            stop = Some(seq.to_owned());
        }
    }
    let pieces: Vec<String> = word_pieces(text).into_iter().map(str::to_owned).collect();
    let limit = usize::try_from(max_tokens).unwrap_or(usize::MAX);
    if limit < pieces.len() {
        return (pieces.into_iter().take(limit).collect(), "max_tokens", None);
    }
    match stop {
        Some(seq) => (pieces, "stop_sequence", Some(seq)),
        None => (pieces, "end_turn", None),
    }
}

fn thinking_block(user_text: &str) -> Block {
    let words = user_text.split_whitespace().count();
    let thought = format!("The user wrote {words} words; I will echo them back.");
    let pieces = word_pieces(&thought)
        .into_iter()
        .map(str::to_owned)
        .collect();
    // A stable, signature-looking blob derived from the thought.
    let mut state = fnv1a(thought.as_bytes());
    let bytes: Vec<u8> = (0..6)
        .flat_map(|_| {
            state = splitmix64(state);
            state.to_le_bytes()
        })
        .collect();
    Block::Thinking {
        pieces,
        signature: base64(&bytes),
    }
}

fn tool_block(name: String, user_text: &str) -> Block {
    // Fragments mimic the recorded input_json_delta stream: an empty first fragment, the
    // key, separators, then value words.
    let escaped = serde_json::to_string(user_text).unwrap_or_else(|_| "\"\"".to_owned());
    let inner = escaped
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or_default();
    let mut fragments = vec![String::new(), "{\"input\"".to_owned(), ": \"".to_owned()];
    fragments.extend(word_pieces(inner).into_iter().map(str::to_owned));
    fragments.push("\"}".to_owned());
    Block::ToolUse {
        id: format!("toolu_01{}", rand_alnum(22)),
        name,
        fragments,
    }
}
