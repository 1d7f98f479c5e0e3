//! The index read-modify-write under contention: retries lose no update.

use super::layout::{record_key, INDEX, MAX_ATTEMPTS};
use super::store::{KeyStore, MemStore, StoreError};
use super::test_support::{Env, NOW};
use super::{authenticate, hash_key, KeyApi};
use crate::auth::Principal;
use crate::config::Config;
use std::cell::{Cell, RefCell};

/// Refuses the first `conflicts` writes of the index as if another worker won.
struct Contended {
    inner: MemStore,
    conflicts: Cell<usize>,
    index_writes: Cell<usize>,
}

impl KeyStore for Contended {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.inner.get(key)
    }

    fn set(&self, key: &str, value: &[u8], version: Option<u32>) -> Result<(), StoreError> {
        if key == INDEX {
            self.index_writes.set(self.index_writes.get() + 1);
            if self.conflicts.get() > 0 {
                self.conflicts.set(self.conflicts.get() - 1);
                return Err(StoreError::Conflict);
            }
        }
        self.inner.set(key, value, version)
    }
}

fn contended(conflicts: usize) -> Env<Contended> {
    Env::with_store(Contended {
        inner: MemStore::default(),
        conflicts: Cell::new(conflicts),
        index_writes: Cell::new(0),
    })
}

#[test]
fn injected_conflicts_are_retried() {
    let env = contended(5);
    let a = env.generate("{}");
    assert_eq!(env.store.index_writes.get(), 6);
    let b = env.generate(r#"{"key_alias": "b"}"#);
    env.store.conflicts.set(3);
    env.generate("{}");
    env.store.conflicts.set(2);
    env.admin("POST", "/key/delete", r#"{"key_aliases": ["b"]}"#);
    assert!(authenticate(&env.store, &env.config, &b, NOW).is_err());
    env.store.conflicts.set(4);
    let v = env.admin("POST", "/key/regenerate", &format!(r#"{{"key": "{a}"}}"#));
    let new = v["key"].as_str().unwrap();
    assert_eq!(env.index().len(), 2);
    assert!(env.index().contains(&hash_key(new)));
    authenticate(&env.store, &env.config, new, NOW).unwrap();
}

#[test]
fn endless_conflicts_give_up_cleanly() {
    let env = contended(usize::MAX);
    let e = env.admin_err("POST", "/key/generate", "{}");
    assert_eq!(e.status, 503);
    assert_eq!(env.store.index_writes.get(), MAX_ATTEMPTS);
    env.store.conflicts.set(0);
    assert!(env.index().is_empty());
}

/// Lets another worker run a whole API call between each index read and the write
/// that depends on it, so every write it races with really changed the version.
struct Racing<'a> {
    inner: &'a MemStore,
    rival: RefCell<Option<Box<dyn FnMut() + 'a>>>,
    races: Cell<usize>,
}

impl KeyStore for Racing<'_> {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.inner.get(key)
    }

    fn set(&self, key: &str, value: &[u8], version: Option<u32>) -> Result<(), StoreError> {
        if key == INDEX && self.races.get() > 0 {
            self.races.set(self.races.get() - 1);
            if let Some(rival) = self.rival.borrow_mut().as_mut() {
                rival();
            }
        }
        self.inner.set(key, value, version)
    }
}

#[test]
fn a_rival_write_between_read_and_write_is_not_lost() {
    let shared = MemStore::default();
    let config = Config::load(super::test_support::CONFIG, &|_| None).unwrap();
    let rival_api = KeyApi {
        store: &shared,
        config: &config,
        now: NOW,
    };
    let rival_keys = RefCell::new(Vec::new());
    let mut n = 0u8;
    let racing = Racing {
        inner: &shared,
        rival: RefCell::new(Some(Box::new(|| {
            n += 1;
            let body = format!(r#"{{"key": "sk-rival-{n:03}"}}"#);
            let mut random = |_: &mut [u8]| {};
            let (_, v) = rival_api
                .handle(
                    &Principal::Master,
                    "POST",
                    "/key/generate",
                    "",
                    body.as_bytes(),
                    &mut random,
                )
                .unwrap();
            rival_keys
                .borrow_mut()
                .push(v["token"].as_str().unwrap().to_string());
        }))),
        // The very first race is on the absent index: both sides create it.
        races: Cell::new(10),
    };
    let api = KeyApi {
        store: &racing,
        config: &config,
        now: NOW,
    };
    let mut ours = Vec::new();
    for i in 0..10u8 {
        let mut random = |buf: &mut [u8]| buf.fill(i + 1);
        let (_, v) = api
            .handle(
                &Principal::Master,
                "POST",
                "/key/generate",
                "",
                b"{}",
                &mut random,
            )
            .unwrap();
        ours.push(v["token"].as_str().unwrap().to_string());
    }
    let (index, _) = super::layout::read_index(&shared).unwrap();
    assert_eq!(index.len(), 20, "{index:?}");
    for token in ours.iter().chain(rival_keys.borrow().iter()) {
        assert!(index.contains(token));
        assert!(shared.get(&record_key(token)).is_some());
    }
}

#[test]
fn two_workers_alternating_keep_all_keys() {
    let shared = MemStore::default();
    let config = Config::load(super::test_support::CONFIG, &|_| None).unwrap();
    let workers = [0u64, 1].map(|w| KeyApi {
        store: &shared,
        config: &config,
        now: NOW + w,
    });
    let mut plaintexts = Vec::new();
    for i in 0..100u32 {
        let worker = &workers[(i % 2) as usize];
        let mut random = |buf: &mut [u8]| {
            for (j, b) in buf.iter_mut().enumerate() {
                *b = (i as u8).wrapping_mul(7) ^ (j as u8) ^ ((i >> 8) as u8) ^ 0x5a;
            }
        };
        let (_, v) = worker
            .handle(
                &Principal::Master,
                "POST",
                "/key/generate",
                "",
                b"{}",
                &mut random,
            )
            .unwrap();
        plaintexts.push(v["key"].as_str().unwrap().to_string());
    }
    let (index, _) = super::layout::read_index(&shared).unwrap();
    assert_eq!(index.len(), 100);
    for key in &plaintexts {
        assert!(index.contains(&hash_key(key)));
        authenticate(&shared, &config, key, NOW + 2).unwrap();
    }
}
