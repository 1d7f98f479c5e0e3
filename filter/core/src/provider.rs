//! Provider identities and the per-provider conventions LiteLLM users know.

use std::fmt;

/// An upstream API family; decides the URL layout, auth header and translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// OpenAI or any OpenAI-compatible server (vLLM, llama.cpp, the mock).
    OpenAi,
    /// Anthropic Messages API.
    Anthropic,
    /// Google Generative Language API (Gemini).
    Gemini,
    /// Azure OpenAI deployments.
    Azure,
}

impl Provider {
    /// Splits a LiteLLM model string (`openai/gpt-4o`) into provider and provider model id.
    pub fn split_model(model: &str) -> Result<(Provider, &str), String> {
        let Some((prefix, rest)) = model.split_once('/') else {
            return Err(format!(
                "missing provider prefix in {model:?} (write e.g. \"openai/{model}\")"
            ));
        };
        let provider = match prefix {
            "openai" => Provider::OpenAi,
            "anthropic" => Provider::Anthropic,
            "gemini" => Provider::Gemini,
            "azure" => Provider::Azure,
            other => {
                return Err(format!(
                    "unknown provider {other:?} (supported: openai, anthropic, gemini, azure)"
                ))
            }
        };
        if rest.is_empty() {
            return Err(format!("empty model id after \"{prefix}/\""));
        }
        Ok((provider, rest))
    }

    /// The public endpoint used when a deployment has no api_base (LiteLLM's convention).
    pub fn default_api_base(self) -> Option<&'static str> {
        match self {
            Provider::OpenAi => Some("https://api.openai.com/v1"),
            Provider::Anthropic => Some("https://api.anthropic.com"),
            Provider::Gemini => Some("https://generativelanguage.googleapis.com"),
            Provider::Azure => None,
        }
    }

    /// Short lower-case name, as written in config prefixes and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
            Provider::Gemini => "gemini",
            Provider::Azure => "azure",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_known_prefixes() {
        assert_eq!(
            Provider::split_model("openai/gpt-4o"),
            Ok((Provider::OpenAi, "gpt-4o"))
        );
        assert_eq!(
            Provider::split_model("gemini/models/gemini-2.0"),
            Ok((Provider::Gemini, "models/gemini-2.0"))
        );
    }

    #[test]
    fn rejects_unknown_and_missing_prefix() {
        let err = Provider::split_model("foo/bar").unwrap_err();
        assert!(err.contains("unknown provider \"foo\""), "{err}");
        let err = Provider::split_model("gpt-4o").unwrap_err();
        assert!(err.contains("missing provider prefix"), "{err}");
        assert!(Provider::split_model("openai/").is_err());
    }
}
