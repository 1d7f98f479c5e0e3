//! Shared fixture for the key API tests: a config with declared keys and a store.

use super::{authenticate, KeyApi, KeyStore, MemStore};
use crate::auth::Principal;
use crate::config::Config;
use crate::error::ApiError;
use serde_json::Value;
use std::cell::Cell;

pub const CONFIG: &str = r#"
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: sk-upstream}
  - model_name: claude
    litellm_params: {model: anthropic/claude-sonnet-4-5, api_key: sk-upstream}
router_settings:
  model_group_alias: {fast: gpt-4o}
general_settings:
  master_key: sk-master
  max_keys: 1000
keys:
  - key: sk-declared-admin
    key_alias: ops
    role: proxy_admin
  - key: sk-declared-user
    key_alias: declared-user
"#;

/// Noon, 2025-01-01 UTC.
pub const NOW: u64 = 1_735_732_800;

/// A store, a config and a deterministic random source.
pub struct Env<S: KeyStore = MemStore> {
    pub store: S,
    pub config: Config,
    pub now: u64,
    seed: Cell<u8>,
}

impl Env {
    pub fn new() -> Env {
        Env::with_store(MemStore::default())
    }
}

impl<S: KeyStore> Env<S> {
    pub fn with_store(store: S) -> Env<S> {
        Env {
            store,
            config: Config::load(CONFIG, &|_| None).unwrap(),
            now: NOW,
            seed: Cell::new(1),
        }
    }

    pub fn api(&self) -> KeyApi<'_> {
        KeyApi {
            store: &self.store,
            config: &self.config,
            now: self.now,
        }
    }

    /// One call; `path` may carry a query string.
    pub fn call(
        &self,
        who: &Principal,
        method: &str,
        path: &str,
        body: &str,
    ) -> Result<Value, ApiError> {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let seed = self.seed.get();
        self.seed.set(seed.wrapping_add(1));
        let mut random = |buf: &mut [u8]| {
            for (i, b) in buf.iter_mut().enumerate() {
                *b = seed.wrapping_mul(31).wrapping_add(i as u8);
            }
        };
        let (status, value) =
            self.api()
                .handle(who, method, path, query, body.as_bytes(), &mut random)?;
        assert_eq!(status, 200);
        Ok(value)
    }

    /// A call as the master key that must succeed.
    pub fn admin(&self, method: &str, path: &str, body: &str) -> Value {
        self.call(&Principal::Master, method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {}", e.message))
    }

    /// A call as the master key that must fail.
    pub fn admin_err(&self, method: &str, path: &str, body: &str) -> ApiError {
        match self.call(&Principal::Master, method, path, body) {
            Ok(v) => panic!("{method} {path} succeeded: {v}"),
            Err(e) => e,
        }
    }

    /// Generates a key; returns its plaintext.
    pub fn generate(&self, body: &str) -> String {
        let v = self.admin("POST", "/key/generate", body);
        v["key"].as_str().unwrap().to_string()
    }

    /// The principal a presented key authenticates as.
    pub fn principal(&self, key: &str) -> Principal {
        Principal::Key(Box::new(
            authenticate(&self.store, &self.config, key, self.now).unwrap(),
        ))
    }

    /// Tokens in the index.
    pub fn index(&self) -> Vec<String> {
        super::layout::read_index(&self.store).unwrap().0
    }
}
