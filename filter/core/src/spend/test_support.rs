//! Shared helpers for the spend tests: recorded fixtures, deployments, a seeded RNG.

use super::tap::TapFormat;
use crate::config::{Config, Deployment};
use serde_json::Value;

/// One recorded response from fixtures/providers.
pub struct Fixture {
    pub name: String,
    pub status: u16,
    pub format: TapFormat,
    pub stream: bool,
    pub body: Vec<u8>,
}

/// Every recorded interaction, in name order.
pub fn fixtures() -> Vec<Fixture> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/providers");
    let mut out = Vec::new();
    for dir in ["anthropic", "gemini", "openai"] {
        let mut files: Vec<_> = std::fs::read_dir(format!("{root}/{dir}"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for path in files {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let req_path = v["request"]["path"].as_str().unwrap_or_default();
            let format = match dir {
                "anthropic" => TapFormat::Anthropic,
                "gemini" => TapFormat::Gemini,
                _ if req_path.contains("/responses") => TapFormat::OpenAiResponses,
                _ if req_path.contains("/embeddings") => TapFormat::OpenAiEmbeddings,
                _ => TapFormat::OpenAiChat,
            };
            let body = &v["response"]["body"];
            let (stream, body) = match body.as_str() {
                Some(s) => (true, s.as_bytes().to_vec()),
                None => (false, serde_json::to_vec(body).unwrap()),
            };
            out.push(Fixture {
                name: format!("{dir}/{}", path.file_name().unwrap().to_string_lossy()),
                status: v["response"]["status"].as_u64().unwrap() as u16,
                format,
                stream,
                body,
            });
        }
    }
    assert!(out.len() >= 40, "fixtures not found under {root}");
    out
}

/// The recorded body of one fixture (`openai/chat-completions-basic.json`).
pub fn fixture(name: &str) -> Fixture {
    fixtures().into_iter().find(|f| f.name == name).unwrap()
}

/// A deployment from a `litellm_params.model` string and optional model_info YAML.
pub fn deployment(model: &str, model_info: &str) -> Deployment {
    let yaml = format!(
        "model_list:\n  - model_name: m\n    litellm_params: {{model: {model}, api_key: k}}\n    model_info: {{{model_info}}}\n"
    );
    Config::load(&yaml, &|_| None)
        .unwrap()
        .deployments
        .remove(0)
}

/// xorshift64*: deterministic chunking and interleaving in tests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in 0..n (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Splits `data` at random offsets (chunks of 0..=max bytes, empty ones included).
    pub fn chunks<'a>(&mut self, data: &'a [u8], max: u64) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        let mut rest = data;
        while !rest.is_empty() {
            let n = (self.below(max + 1) as usize).min(rest.len());
            let (a, b) = rest.split_at(n);
            out.push(a);
            rest = b;
        }
        out
    }
}
