//! One request's spend record, named like LiteLLM's spend logs.

use crate::translate::Usage;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What one request cost and who made it.
///
/// JSON names follow LiteLLM's `LiteLLM_SpendLogs` where it has the field
/// (`user`, `custom_llm_provider`, `startTime`, `endTime`); the Rust-style names
/// are accepted when reading. Times are unix milliseconds, not ISO strings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct SpendRecord {
    /// The provider's response id when known, else the gateway's request id.
    pub request_id: String,
    /// SHA-256 of the virtual key (never the plaintext); empty for the master key or an open gateway.
    pub api_key: String,
    /// The key's alias.
    pub key_alias: Option<String>,
    /// The key's team.
    pub team_id: Option<String>,
    /// The key's user.
    #[serde(rename = "user", alias = "user_id")]
    pub user_id: Option<String>,
    /// The key's metadata; `department`, `project` and `cost_center` live here.
    pub metadata: Map<String, Value>,
    /// Model group the client asked for (after alias resolution).
    pub model_group: String,
    /// Provider model id that served the request.
    pub model: String,
    /// Deployment id.
    pub model_id: String,
    /// Provider family (`openai`, `anthropic`, `gemini`, `azure`).
    #[serde(rename = "custom_llm_provider", alias = "provider")]
    pub provider: String,
    /// Route called, e.g. `/v1/chat/completions`.
    pub call_type: String,
    /// Prompt tokens, cached ones included.
    pub prompt_tokens: u64,
    /// Completion tokens, reasoning included.
    pub completion_tokens: u64,
    /// prompt + completion.
    pub total_tokens: u64,
    /// Prompt tokens read from cache.
    pub cached_tokens: u64,
    /// Prompt tokens written to cache.
    pub cache_creation_tokens: u64,
    /// Reasoning tokens within completion_tokens.
    pub reasoning_tokens: u64,
    /// Cost in USD (`spend_micros / 1e6`; reports sum the micros).
    pub spend: f64,
    /// Cost in micro-dollars; the exact figure.
    pub spend_micros: u64,
    /// Request start, unix ms.
    #[serde(rename = "startTime", alias = "start_time")]
    pub start_time: u64,
    /// Response end, unix ms.
    #[serde(rename = "endTime", alias = "end_time")]
    pub end_time: u64,
    /// HTTP status returned to the client.
    pub status: u16,
    /// The response was streamed.
    pub stream: bool,
}

impl SpendRecord {
    /// Sets the token counts and the cost, keeping `spend` and `spend_micros` in step.
    pub fn set_usage(&mut self, usage: &Usage, spend_micros: u64) {
        self.prompt_tokens = usage.prompt_tokens;
        self.completion_tokens = usage.completion_tokens;
        self.total_tokens = usage.prompt_tokens.saturating_add(usage.completion_tokens);
        self.cached_tokens = usage.cached_tokens;
        self.cache_creation_tokens = usage.cache_creation_tokens;
        self.reasoning_tokens = usage.reasoning_tokens;
        self.spend_micros = spend_micros;
        self.spend = usd(spend_micros);
    }
}

/// Micro-dollars as USD.
pub fn usd(micros: u64) -> f64 {
    micros as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn litellm_names_round_trip() {
        let mut r = SpendRecord {
            request_id: "chatcmpl-1".into(),
            user_id: Some("u1".into()),
            provider: "openai".into(),
            start_time: 1_700_000_000_000,
            end_time: 1_700_000_000_250,
            ..SpendRecord::default()
        };
        r.set_usage(
            &Usage {
                prompt_tokens: 10,
                completion_tokens: 5,
                cached_tokens: 2,
                cache_creation_tokens: 1,
                reasoning_tokens: 3,
            },
            1_234_567,
        );
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["user"], "u1");
        assert_eq!(v["custom_llm_provider"], "openai");
        assert_eq!(v["startTime"], 1_700_000_000_000u64);
        assert_eq!(v["endTime"], 1_700_000_000_250u64);
        assert_eq!(v["total_tokens"], 15);
        assert_eq!(v["spend"], 1.234567);
        assert_eq!(v["spend_micros"], 1_234_567);
        assert_eq!(serde_json::from_value::<SpendRecord>(v).unwrap(), r);
        let alt: SpendRecord = serde_json::from_str(
            r#"{"user_id":"u2","provider":"gemini","start_time":5,"unknown":1}"#,
        )
        .unwrap();
        assert_eq!(alt.user_id.as_deref(), Some("u2"));
        assert_eq!(alt.provider, "gemini");
        assert_eq!(alt.start_time, 5);
    }
}
