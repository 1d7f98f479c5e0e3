//! Wire-format translation between client APIs and providers.
//!
//! OpenAI chat completions is the pivot: every provider module translates its
//! own format to and from OpenAI chat, and other client APIs (Anthropic
//! Messages in, Responses in) are bridged through it. Streams are translated
//! incrementally by [`StreamTranslator`]s that can be chained.

pub mod responses;
pub mod sse;

use serde_json::Value;

/// Token usage in OpenAI terms, as reported by the provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens, cached ones included (OpenAI's convention).
    pub prompt_tokens: u64,
    /// Completion tokens, reasoning included.
    pub completion_tokens: u64,
    /// Prompt tokens served from cache (Anthropic cache_read, Gemini cachedContent).
    pub cached_tokens: u64,
    /// Prompt tokens written to cache (Anthropic cache_creation).
    pub cache_creation_tokens: u64,
    /// Reasoning/thinking tokens within completion_tokens.
    pub reasoning_tokens: u64,
}

impl Usage {
    /// prompt + completion, saturating: counts come from the provider, and a
    /// wrapped (or, with overflow checks, panicking) total would undercount limits.
    pub fn total(&self) -> u64 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }

    /// The OpenAI chat `usage` object.
    pub fn to_openai(&self) -> Value {
        serde_json::json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total(),
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens},
            "completion_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
        })
    }

    /// Reads an OpenAI chat `usage` object (missing fields are 0).
    pub fn from_openai(v: &Value) -> Usage {
        let n = |p: &str| v.pointer(p).and_then(Value::as_u64).unwrap_or(0);
        Usage {
            prompt_tokens: n("/prompt_tokens"),
            completion_tokens: n("/completion_tokens"),
            cached_tokens: n("/prompt_tokens_details/cached_tokens"),
            cache_creation_tokens: n("/prompt_tokens_details/cache_creation_tokens"),
            reasoning_tokens: n("/completion_tokens_details/reasoning_tokens"),
        }
    }
}

/// Request-time facts translators need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCtx {
    /// Provider model id to put in the upstream request.
    pub model: String,
    /// The name the client asked for (group or alias).
    pub client_model: String,
    /// The client asked for a stream.
    pub stream: bool,
    /// OpenAI `stream_options.include_usage` (or implied by the client API).
    pub include_usage: bool,
    /// Drop parameters the provider lacks instead of refusing them.
    pub drop_params: bool,
    /// max_tokens to send when the client gave none and the provider requires it.
    pub default_max_tokens: u64,
}

/// Translates a streamed response body incrementally.
///
/// `push` may receive any byte slice of the upstream stream (events split
/// anywhere) and returns the bytes to send to the client now; work per call is
/// proportional to the input. `finish` is called once when the upstream ends
/// and returns any trailing bytes (a closing event, `[DONE]`, or an error event
/// when the upstream stopped mid-message).
pub trait StreamTranslator {
    /// Translates the next upstream bytes.
    fn push(&mut self, chunk: &[u8]) -> Vec<u8>;
    /// Upstream ended; returns the closing bytes.
    fn finish(&mut self) -> Vec<u8>;
    /// Usage seen so far.
    fn usage(&self) -> Usage;
}

impl<T: StreamTranslator + ?Sized> StreamTranslator for Box<T> {
    fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        (**self).push(chunk)
    }
    fn finish(&mut self) -> Vec<u8> {
        (**self).finish()
    }
    fn usage(&self) -> Usage {
        (**self).usage()
    }
}

/// Runs two translators in sequence (provider -> pivot -> client).
pub struct Chain<A, B>(pub A, pub B);

impl<A: StreamTranslator, B: StreamTranslator> StreamTranslator for Chain<A, B> {
    fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mid = self.0.push(chunk);
        if mid.is_empty() {
            return mid;
        }
        self.1.push(&mid)
    }

    fn finish(&mut self) -> Vec<u8> {
        let mid = self.0.finish();
        let mut out = if mid.is_empty() {
            Vec::new()
        } else {
            self.1.push(&mid)
        };
        out.extend(self.1.finish());
        out
    }

    fn usage(&self) -> Usage {
        self.0.usage()
    }
}

/// Current time in seconds for `created` fields; 0 where the clock is unavailable.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_total_saturates_on_provider_counts_near_u64_max() {
        let u = Usage::from_openai(&serde_json::json!({
            "prompt_tokens": u64::MAX,
            "completion_tokens": 2,
        }));
        assert_eq!(u.total(), u64::MAX);
        assert_eq!(u.to_openai()["total_tokens"], u64::MAX);
    }
}
