//! Where key data lives in the flat store, and the compare-and-swap loops over it.
//!
//! [`INDEX`] (a JSON array of the tokens of API-created keys) is the serialisation
//! point: every create and delete is a versioned read-modify-write of it, so the key
//! count stays bounded and concurrent workers cannot lose each other's keys. Each
//! key's [`KeyRecord`] lives under [`record_key`]; it is written only once its token
//! is in the index and is removed by writing an empty value (a tombstone).

use super::record::KeyRecord;
use super::store::{KeyStore, StoreError};
use crate::config::Config;
use crate::error::ApiError;

/// Store key of the index of API-created keys.
pub const INDEX: &str = "tollgate/keys/index";
/// Prefix of the store keys holding one record each.
pub const RECORD_PREFIX: &str = "tollgate/keys/k/";
/// Read-modify-write attempts before giving up on a contended value.
pub const MAX_ATTEMPTS: usize = 32;

/// Envoy treats version 0 as "write unconditionally", so the first write of the
/// index names a version no write is ever given: it then succeeds only while the
/// index is still absent, and two workers creating the first keys cannot both win.
const UNWRITTEN: u32 = u32::MAX;

/// Store key of one key's record.
pub fn record_key(token: &str) -> String {
    format!("{RECORD_PREFIX}{token}")
}

/// The index and its version ([`UNWRITTEN`] when no key was ever created).
pub fn read_index(store: &dyn KeyStore) -> Result<(Vec<String>, u32), ApiError> {
    match store.get(INDEX) {
        None => Ok((Vec::new(), UNWRITTEN)),
        Some((bytes, version)) => serde_json::from_slice(&bytes)
            .map(|tokens| (tokens, version))
            .map_err(|e| ApiError::internal(500, format!("The key index is corrupt: {e}"))),
    }
}

/// Read-modify-write of the index, retried on conflict. `change` edits the index and
/// returns whether to write it; it runs again on every retry, so it must start over.
pub fn update_index(
    store: &dyn KeyStore,
    change: &mut dyn FnMut(&mut Vec<String>) -> Result<bool, ApiError>,
) -> Result<(), ApiError> {
    for _ in 0..MAX_ATTEMPTS {
        let (mut tokens, version) = read_index(store)?;
        if !change(&mut tokens)? {
            return Ok(());
        }
        match store.set(INDEX, &encode(&tokens)?, Some(version)) {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict) => continue,
            Err(StoreError::Unavailable(m)) => return Err(unavailable(&m)),
        }
    }
    Err(busy())
}

/// Parsed records by token, each beside the exact bytes it was parsed from.
/// Every request reads its key's record; while the stored bytes are unchanged
/// the parse is reused (the bytes are compared, so no version scheme can fool it).
const PARSED_CAPACITY: usize = 512;

thread_local! {
    static PARSED: std::cell::RefCell<std::collections::HashMap<String, (Vec<u8>, KeyRecord)>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// One record and its version; None when absent or deleted.
pub fn read_record(
    store: &dyn KeyStore,
    token: &str,
) -> Result<Option<(KeyRecord, u32)>, ApiError> {
    let Some((bytes, version)) = store.get(&record_key(token)) else {
        return Ok(None);
    };
    let cached = PARSED.with(|p| {
        p.borrow()
            .get(token)
            .filter(|(b, _)| *b == bytes)
            .map(|(_, rec)| rec.clone())
    });
    if let Some(rec) = cached {
        return Ok(Some((rec, version)));
    }
    let rec: KeyRecord = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::internal(500, format!("A stored key record is corrupt: {e}")))?;
    PARSED.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() >= PARSED_CAPACITY && !p.contains_key(token) {
            p.clear();
        }
        p.insert(token.to_string(), (bytes, rec.clone()));
    });
    Ok(Some((rec, version)))
}

/// Read-modify-write of one record, retried on conflict; 404 when the key is gone.
pub fn update_record(
    store: &dyn KeyStore,
    token: &str,
    change: &mut dyn FnMut(&mut KeyRecord) -> Result<(), ApiError>,
) -> Result<KeyRecord, ApiError> {
    for _ in 0..MAX_ATTEMPTS {
        let Some((mut rec, version)) = read_record(store, token)? else {
            return Err(key_not_found());
        };
        change(&mut rec)?;
        match store.set(&record_key(token), &encode(&rec)?, Some(version)) {
            Ok(()) => return Ok(rec),
            Err(StoreError::Conflict) => continue,
            Err(StoreError::Unavailable(m)) => return Err(unavailable(&m)),
        }
    }
    Err(busy())
}

/// Writes a record unconditionally (its token's place in the index makes it ours).
pub fn write_record(store: &dyn KeyStore, rec: &KeyRecord) -> Result<(), ApiError> {
    store
        .set(&record_key(&rec.token), &encode(rec)?, None)
        .map_err(store_error)
}

/// Deletes a record. Unconditional, so a racing update cannot resurrect the key.
pub fn tombstone(store: &dyn KeyStore, token: &str) -> Result<(), ApiError> {
    store
        .set(&record_key(token), b"", None)
        .map_err(store_error)
}

/// Records of all API-created keys, in creation order (index entries whose record
/// is not written yet are skipped).
pub fn api_records(store: &dyn KeyStore) -> Result<Vec<KeyRecord>, ApiError> {
    let (tokens, _) = read_index(store)?;
    let mut out = Vec::with_capacity(tokens.len());
    for token in &tokens {
        if let Some((rec, _)) = read_record(store, token)? {
            out.push(rec);
        }
    }
    Ok(out)
}

/// The key (declared or API-created) that uses `alias`: its token, and whether it is declared.
///
/// Scans every record: aliases are checked only on admin writes, where a scan is
/// cheaper than keeping a second index consistent.
pub fn alias_owner(
    store: &dyn KeyStore,
    config: &Config,
    alias: &str,
) -> Result<Option<(String, bool)>, ApiError> {
    let has = |r: &KeyRecord| r.key_alias.as_deref() == Some(alias);
    if let Some(r) = config.declared_keys.values().find(|r| has(r)) {
        return Ok(Some((r.token.clone(), true)));
    }
    Ok(api_records(store)?
        .into_iter()
        .find(|r| has(r))
        .map(|r| (r.token, false)))
}

/// 404 for a key that does not exist; says nothing about which keys do.
pub fn key_not_found() -> ApiError {
    ApiError::not_found("Key not found.")
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError::internal(500, format!("encoding failed: {e}")))
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict => busy(),
        StoreError::Unavailable(m) => unavailable(&m),
    }
}

fn unavailable(message: &str) -> ApiError {
    ApiError::internal(503, format!("The key store refused the write: {message}"))
}

fn busy() -> ApiError {
    ApiError::internal(
        503,
        "The key store is busy with concurrent changes; retry the request.",
    )
}
