//! Fixtures: deployments with and without capacity limits, keys, stores that race.

use crate::config::{Config, Deployment};
use crate::keys::{KeyRecord, KeyStore, MemStore, StoreError};
use crate::limits::{admit, Admission, LimitRequest};
use crate::ApiError;
use std::cell::{Cell, RefCell};

const CONFIG: &str = r#"
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: sk-up, rpm: 3, tpm: 1000}
    model_info: {id: capped}
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: sk-up}
    model_info: {id: free}
"#;

/// 2025-01-01T12:00:37Z: 23 seconds left in the minute.
pub const NOW: u64 = 1_735_732_837;

/// The deployment with `id` ("capped": rpm 3, tpm 1000; "free": no limits).
pub fn dep(id: &str) -> Deployment {
    let config = Config::load(CONFIG, &|_| None).unwrap();
    config.deployments.into_iter().find(|d| d.id == id).unwrap()
}

/// A key with no limits, changed by `f`.
pub fn key(f: impl FnOnce(&mut KeyRecord)) -> KeyRecord {
    let mut k = KeyRecord {
        token: "0123abcd".repeat(8),
        key_name: "sk-...wxyz".into(),
        ..KeyRecord::default()
    };
    f(&mut k);
    k
}

/// A request of `key` to gpt-4o on `dep`.
pub fn req<'a>(
    key: Option<&'a KeyRecord>,
    dep: &'a Deployment,
    est_tokens: u64,
    worst_cost_micros: u64,
    now: u64,
) -> LimitRequest<'a> {
    LimitRequest {
        key,
        group: "gpt-4o",
        deployment: dep,
        est_tokens,
        worst_cost_micros,
        now,
        count_deployment_tokens: false,
    }
}

/// Admits a request of `key` with `est` tokens and no cost at NOW.
pub fn admit_at(
    store: &dyn KeyStore,
    key: &KeyRecord,
    est: u64,
    now: u64,
) -> Result<Admission, ApiError> {
    admit(store, &req(Some(key), &dep("free"), est, 0, now))
}

/// Value of a header.
pub fn header<'a>(headers: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

/// Refuses writes as if another worker had won: every `every`-th write, and every
/// write of `always`.
pub struct Flaky<'a> {
    pub inner: &'a MemStore,
    pub every: usize,
    pub always: Option<String>,
    pub writes: Cell<usize>,
    pub refused: Cell<usize>,
}

impl<'a> Flaky<'a> {
    pub fn new(inner: &'a MemStore, every: usize, always: Option<String>) -> Self {
        Flaky {
            inner,
            every,
            always,
            writes: Cell::new(0),
            refused: Cell::new(0),
        }
    }
}

impl KeyStore for Flaky<'_> {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.inner.get(key)
    }

    fn set(&self, key: &str, value: &[u8], version: Option<u32>) -> Result<(), StoreError> {
        self.writes.set(self.writes.get() + 1);
        let injected = self.every > 0 && self.writes.get().is_multiple_of(self.every);
        if injected || self.always.as_deref() == Some(key) {
            self.refused.set(self.refused.get() + 1);
            return Err(StoreError::Conflict);
        }
        self.inner.set(key, value, version)
    }
}

/// Lets another worker run between each read and the write that depends on it, so
/// the write really races: its version is stale whenever the rival wrote.
pub struct Racing<'a> {
    pub inner: &'a MemStore,
    pub rival: RefCell<Option<Box<dyn FnMut() + 'a>>>,
    pub races: Cell<usize>,
    pub lost: Cell<usize>,
}

impl<'a> Racing<'a> {
    pub fn new(inner: &'a MemStore, races: usize, rival: impl FnMut() + 'a) -> Self {
        Racing {
            inner,
            rival: RefCell::new(Some(Box::new(rival))),
            races: Cell::new(races),
            lost: Cell::new(0),
        }
    }
}

impl KeyStore for Racing<'_> {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.inner.get(key)
    }

    fn set(&self, key: &str, value: &[u8], version: Option<u32>) -> Result<(), StoreError> {
        if self.races.get() > 0 {
            self.races.set(self.races.get() - 1);
            let rival = self.rival.borrow_mut().take();
            if let Some(mut run) = rival {
                run();
                *self.rival.borrow_mut() = Some(run);
            }
        }
        let result = self.inner.set(key, value, version);
        if result.is_err() {
            self.lost.set(self.lost.get() + 1);
        }
        result
    }
}
