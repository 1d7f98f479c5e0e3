//! The response half of a translated exchange: provider format -> OpenAI chat
//! (the pivot) -> the client's format, for whole bodies, streams and errors.

use crate::error::ApiError;
use crate::provider::Provider;
use crate::providers::{anthropic, gemini};
use crate::routes::ClientApi;
use crate::translate::responses::{chat_to_responses, ChatToResponsesStream};
use crate::translate::{Chain, RequestCtx, StreamTranslator, Usage};
use serde_json::Value;

/// What the shim does with the upstream response.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponsePlan {
    /// Client and provider speak the same format: bytes pass untouched.
    Passthrough,
    /// Translate status-preserving: body, stream or error.
    Translate(Translation),
}

/// Everything needed to translate one response; created per request.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// Format the client expects.
    pub client: ClientApi,
    /// Format the provider answers in.
    pub provider: Provider,
    /// The upstream answers with a stream.
    pub stream: bool,
    /// Request facts (model names, include_usage).
    pub ctx: RequestCtx,
    /// The client's original Responses request, echoed into response objects.
    pub responses_request: Option<Value>,
    /// Embedding options (Gemini reports no usage or encoding).
    pub embed: Option<gemini::EmbedOptions>,
}

impl Translation {
    /// Content type of a successful translated body.
    pub fn content_type(&self, status: u16) -> &'static str {
        if self.stream && status < 300 {
            "text/event-stream"
        } else {
            "application/json"
        }
    }

    /// A fresh incremental translator for a successful streamed body.
    pub fn streamer(&self) -> Box<dyn StreamTranslator> {
        let to_pivot: Option<Box<dyn StreamTranslator>> = match self.provider {
            Provider::Anthropic => Some(Box::new(anthropic::MessagesToChatStream::new(&self.ctx))),
            Provider::Gemini => Some(Box::new(gemini::GeminiToChatStream::new(self.ctx.clone()))),
            Provider::OpenAi | Provider::Azure => None,
        };
        let to_client: Option<Box<dyn StreamTranslator>> = match self.client {
            ClientApi::Chat | ClientApi::Embeddings => None,
            ClientApi::Responses => Some(Box::new(ChatToResponsesStream::new(
                self.responses_request.as_ref().unwrap_or(&Value::Null),
            ))),
            ClientApi::Anthropic => Some(Box::new(anthropic::ChatToMessagesStream::new(&self.ctx))),
            ClientApi::Gemini => Some(Box::new(gemini::ChatToGeminiStream::new())),
        };
        match (to_pivot, to_client) {
            (Some(a), Some(b)) => Box::new(Chain(a, b)),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => Box::new(Identity::default()),
        }
    }

    /// Translates a whole body. Errors (status >= 400) keep their status and are
    /// re-shaped for the client, keeping the provider's message.
    pub fn translate_body(&self, status: u16, body: &[u8]) -> (Vec<u8>, Option<Usage>) {
        if status >= 400 {
            return (self.error_body(status, body), None);
        }
        match self.success_body(body) {
            Ok((out, usage)) => (out, usage),
            Err(e) => (self.client_error(&e), None),
        }
    }

    fn success_body(&self, body: &[u8]) -> Result<(Vec<u8>, Option<Usage>), ApiError> {
        let upstream: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::upstream(
                502,
                format!("provider returned a body that is not JSON: {e}"),
            )
        })?;
        if self.client == ClientApi::Embeddings {
            let (v, usage) = match self.provider {
                Provider::Gemini => gemini::gemini_to_embeddings(
                    &upstream,
                    self.embed.unwrap_or_default(),
                    &self.ctx,
                )?,
                _ => {
                    let usage = upstream
                        .get("usage")
                        .map(Usage::from_openai)
                        .unwrap_or_default();
                    (upstream, usage)
                }
            };
            return Ok((v.to_string().into_bytes(), Some(usage)));
        }
        let (chat, usage) = match self.provider {
            Provider::Anthropic => anthropic::messages_to_chat(&upstream, &self.ctx)?,
            Provider::Gemini => gemini::gemini_to_chat(&upstream, &self.ctx)?,
            Provider::OpenAi | Provider::Azure => {
                let usage = upstream
                    .get("usage")
                    .map(Usage::from_openai)
                    .unwrap_or_default();
                (upstream, usage)
            }
        };
        let out = match self.client {
            ClientApi::Chat | ClientApi::Embeddings => chat,
            ClientApi::Responses => chat_to_responses(
                &chat,
                self.responses_request.as_ref().unwrap_or(&Value::Null),
            )?,
            ClientApi::Anthropic => anthropic::chat_to_messages_response(&chat)?,
            ClientApi::Gemini => gemini::chat_to_gemini_response(&chat)?,
        };
        Ok((out.to_string().into_bytes(), Some(usage)))
    }

    fn error_body(&self, status: u16, body: &[u8]) -> Vec<u8> {
        let (status, openai) = match self.provider {
            Provider::Anthropic => anthropic::error_to_openai(status, body),
            Provider::Gemini => gemini::error_to_openai(status, body),
            Provider::OpenAi | Provider::Azure => openai_error(status, body),
        };
        from_openai_error(self.client, status, &openai)
    }

    /// Renders a gateway-side error in the client's format.
    pub fn client_error(&self, e: &ApiError) -> Vec<u8> {
        from_openai_error(self.client, e.status, &e.openai_body())
    }
}

/// An OpenAI error body re-shaped for `client`.
pub fn from_openai_error(client: ClientApi, status: u16, body: &[u8]) -> Vec<u8> {
    match client {
        ClientApi::Anthropic => anthropic::error_from_openai(status, body).1,
        ClientApi::Gemini => gemini::error_from_openai(status, body).1,
        _ => body.to_vec(),
    }
}

/// OpenAI-compatible servers usually answer errors in OpenAI's shape; anything
/// else (HTML from a proxy, plain text) is wrapped keeping its text.
fn openai_error(status: u16, body: &[u8]) -> (u16, Vec<u8>) {
    let is_openai = serde_json::from_slice::<Value>(body)
        .ok()
        .is_some_and(|v| v.get("error").is_some_and(Value::is_object));
    if is_openai {
        return (status, body.to_vec());
    }
    let text = String::from_utf8_lossy(body);
    let e = ApiError::upstream(
        status,
        format!("provider error ({status}): {}", text.trim()),
    );
    (status, e.openai_body())
}

/// Secrets shorter than this are not scrubbed: replacing every occurrence of a
/// two-letter "key" would mangle the message, and such a value protects nothing.
pub const MIN_SCRUBBED_LEN: usize = 8;
/// What a scrubbed secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Replaces every occurrence of the given secrets (the deployment's provider
/// credential) in a body about to reach the client. Providers and proxies in
/// front of them sometimes echo request headers in error bodies. None when
/// nothing was found, so the caller can leave the body alone.
pub fn scrub_secrets(body: &[u8], secrets: &[String]) -> Option<Vec<u8>> {
    let mut scrubbed: Option<Vec<u8>> = None;
    for secret in secrets.iter().filter(|s| s.len() >= MIN_SCRUBBED_LEN) {
        let current = scrubbed.as_deref().unwrap_or(body);
        if let Some(out) = replace_all(current, secret.as_bytes(), REDACTED.as_bytes()) {
            scrubbed = Some(out);
        }
    }
    scrubbed
}

fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    let mut found = false;
    while let Some((first, tail)) = rest.split_first() {
        if rest.starts_with(needle) {
            out.extend_from_slice(with);
            rest = rest.get(needle.len()..).unwrap_or_default();
            found = true;
        } else {
            out.push(*first);
            rest = tail;
        }
    }
    found.then_some(out)
}

/// Pass-through stream (OpenAI provider, OpenAI chat client).
#[derive(Default)]
struct Identity {
    usage: Usage,
}

impl StreamTranslator for Identity {
    fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        chunk.to_vec()
    }
    fn finish(&mut self) -> Vec<u8> {
        Vec::new()
    }
    fn usage(&self) -> Usage {
        self.usage
    }
}

#[cfg(test)]
mod scrub_tests {
    use super::*;

    #[test]
    fn scrubs_every_occurrence_of_each_secret() {
        let secrets = vec!["sk-provider-1".to_string(), "ak-other-22".to_string()];
        let body = br#"{"error":{"message":"bad key Bearer sk-provider-1, x-api-key: ak-other-22 (sk-provider-1)"}}"#;
        let out = scrub_secrets(body, &secrets).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"error":{"message":"bad key Bearer [redacted], x-api-key: [redacted] ([redacted])"}}"#
        );
        // At the very start and end, and overlapping prefixes.
        let out = scrub_secrets(b"sk-provider-1sk-provider-sk-provider-1", &secrets).unwrap();
        assert_eq!(out, b"[redacted]sk-provider-[redacted]");
    }

    #[test]
    fn leaves_clean_bodies_and_short_values_alone() {
        let body = b"make no mistake: the key is wrong";
        assert_eq!(scrub_secrets(body, &["sk-provider-1".into()]), None);
        assert_eq!(scrub_secrets(body, &["ak".into(), String::new()]), None);
        assert_eq!(scrub_secrets(b"", &["sk-provider-1".into()]), None);
        assert_eq!(scrub_secrets(body, &[]), None);
    }
}
