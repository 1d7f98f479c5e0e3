//! Wire structs for the two event streams, so per-event work is one typed parse (no
//! intermediate `Value` maps). Unknown fields are ignored; every field is optional.

use serde::Deserialize;

/// An optional string field.
pub(super) type Str = Option<String>;

/// One Anthropic Messages stream event (all event types share this shape).
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Event {
    #[serde(rename = "type")]
    pub kind: Str,
    pub index: Option<u64>,
    pub message: Option<StartMessage>,
    pub content_block: Option<Fields>,
    pub delta: Option<Fields>,
    pub usage: Option<AnthropicUsage>,
    pub error: Option<Fields>,
}

/// `message_start.message`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct StartMessage {
    pub id: Str,
    pub model: Str,
    pub usage: Option<AnthropicUsage>,
}

/// The string fields of content blocks, deltas and error objects.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Fields {
    #[serde(rename = "type")]
    pub kind: Str,
    pub text: Str,
    pub thinking: Str,
    pub signature: Str,
    pub partial_json: Str,
    pub stop_reason: Str,
    pub id: Str,
    pub name: Str,
    pub data: Str,
    pub message: Str,
    pub arguments: Str,
}

/// Anthropic token counts; `message_delta` repeats only some of them.
#[derive(Deserialize, Default, Clone, Copy)]
#[serde(default)]
pub(super) struct AnthropicUsage {
    pub input_tokens: Option<u64>,
    pub cache_read_input_tokens: Option<u64>,
    pub cache_creation_input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
}

/// One OpenAI `chat.completion.chunk` (or an `{"error": ...}` frame).
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Chunk {
    pub id: Str,
    pub model: Str,
    pub choices: Option<Vec<Choice>>,
    pub usage: Option<serde_json::Value>,
    pub error: Option<serde_json::Value>,
}

/// A chunk choice.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Choice {
    pub delta: Option<Delta>,
    pub finish_reason: Str,
}

/// A chunk delta, with the reasoning fields LiteLLM, vLLM and OpenRouter use.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Delta {
    pub content: Str,
    pub reasoning_content: Str,
    pub reasoning: Str,
    pub thinking_blocks: Option<Vec<Fields>>,
    pub tool_calls: Option<Vec<ToolCall>>,
}

/// A tool call fragment.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ToolCall {
    pub index: Option<u64>,
    pub id: Str,
    pub function: Option<Fields>,
}

/// JSON string literal for `s`.
pub(super) fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// The borrowed text of an optional field ("" when absent).
pub(super) fn text(s: &Str) -> &str {
    s.as_deref().unwrap_or_default()
}
