//! The spend log: a fixed ring of slots in the shared store.
//!
//! Shared data never evicts, so the log lives under `capacity + 1` fixed keys.
//! [`HEAD`] holds the next sequence number; an append claims one by a versioned
//! increment (so concurrent workers never share a number), then writes its record
//! with the number to slot `seq % capacity`, replacing only an older record.
//! Readers keep the newest `capacity` sequence numbers below the head.

use super::record::SpendRecord;
use crate::error::ApiError;
use crate::keys::{KeyStore, StoreError};
use serde::Deserialize;

/// Store key of the next sequence number (decimal text).
pub const HEAD: &str = "tollgate/spendlog/head";
/// Prefix of the slot keys: `tollgate/spendlog/<slot>`.
pub const SLOT_PREFIX: &str = "tollgate/spendlog/";
/// Read-modify-write attempts before giving up on a contended key.
pub const MAX_ATTEMPTS: usize = 64;

/// Envoy treats version 0 as "write unconditionally"; a version no write is ever
/// given makes the first write succeed only while the key is still absent.
const UNWRITTEN: u32 = u32::MAX;

/// What a slot holds.
#[derive(Deserialize)]
struct Slot {
    seq: u64,
    rec: SpendRecord,
}

/// Just the sequence number of a slot, to decide whether it may be replaced.
#[derive(Deserialize)]
struct SeqOnly {
    seq: u64,
}

/// Store key of one slot.
pub fn slot_key(slot: u64) -> String {
    format!("{SLOT_PREFIX}{slot}")
}

/// Appends a record; returns its sequence number, or None when the log is
/// disabled (`capacity` 0). Err when the store stays contended or refuses writes.
pub fn append(
    store: &dyn KeyStore,
    rec: &SpendRecord,
    capacity: usize,
) -> Result<Option<u64>, ApiError> {
    let json = serde_json::to_vec(rec)
        .map_err(|e| ApiError::internal(500, format!("encoding a spend record failed: {e}")))?;
    append_encoded(store, &json, capacity)
}

/// [`append`] for a record already encoded as JSON (the filter encodes it once for
/// the ring and the access log).
pub fn append_encoded(
    store: &dyn KeyStore,
    rec_json: &[u8],
    capacity: usize,
) -> Result<Option<u64>, ApiError> {
    let Some(cap) = u64::try_from(capacity).ok().filter(|c| *c > 0) else {
        return Ok(None);
    };
    let seq = claim(store)?;
    let key = slot_key(seq % cap);
    // The same bytes serde would write for `Slot { seq, rec }`.
    let mut value = Vec::with_capacity(rec_json.len() + 32);
    value.extend_from_slice(b"{\"seq\":");
    value.extend_from_slice(seq.to_string().as_bytes());
    value.extend_from_slice(b",\"rec\":");
    value.extend_from_slice(rec_json);
    value.push(b'}');
    for _ in 0..MAX_ATTEMPTS {
        let version = match store.get(&key) {
            None => UNWRITTEN,
            Some((bytes, version)) => {
                // A writer that claimed a later number got here first: ours is already evicted.
                if slot_seq(&bytes).is_some_and(|s| s > seq) {
                    return Ok(Some(seq));
                }
                version
            }
        };
        match store.set(&key, &value, Some(version)) {
            Ok(()) => return Ok(Some(seq)),
            Err(StoreError::Conflict) => continue,
            Err(StoreError::Unavailable(m)) => return Err(unavailable(&m)),
        }
    }
    Err(busy())
}

/// A stored slot's sequence number. Slots are written `{"seq":N,...` so the number
/// is read from the front without parsing the record; anything else is parsed.
fn slot_seq(bytes: &[u8]) -> Option<u64> {
    if let Some(rest) = bytes.strip_prefix(b"{\"seq\":") {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0 && rest.get(digits) == Some(&b',') {
            return std::str::from_utf8(&rest[..digits]).ok()?.parse().ok();
        }
    }
    serde_json::from_slice::<SeqOnly>(bytes).ok().map(|s| s.seq)
}

/// Takes the next sequence number with a versioned increment of [`HEAD`].
fn claim(store: &dyn KeyStore) -> Result<u64, ApiError> {
    for _ in 0..MAX_ATTEMPTS {
        let (next, version) = match store.get(HEAD) {
            None => (0, UNWRITTEN),
            Some((bytes, version)) => (parse_head(&bytes)?, version),
        };
        let bumped = next.saturating_add(1).to_string();
        match store.set(HEAD, bumped.as_bytes(), Some(version)) {
            Ok(()) => return Ok(next),
            Err(StoreError::Conflict) => continue,
            Err(StoreError::Unavailable(m)) => return Err(unavailable(&m)),
        }
    }
    Err(busy())
}

fn parse_head(bytes: &[u8]) -> Result<u64, ApiError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::internal(500, "The spend log head is corrupt."))
}

/// The retained records with their sequence numbers, oldest first.
///
/// A slot counts only if its number is one of the newest `capacity` below the
/// head and belongs to that slot: a slot whose newer record is claimed but not
/// yet written still holds an evicted one, and slots written under another
/// capacity do not line up.
pub fn read_entries(store: &dyn KeyStore, capacity: usize) -> Vec<(u64, SpendRecord)> {
    let Some(cap) = u64::try_from(capacity).ok().filter(|c| *c > 0) else {
        return Vec::new();
    };
    let head = match store.get(HEAD) {
        Some((bytes, _)) => parse_head(&bytes).unwrap_or(0),
        None => 0,
    };
    let low = head.saturating_sub(cap);
    let mut out: Vec<(u64, SpendRecord)> = (0..cap.min(head))
        .filter_map(|slot| {
            let (bytes, _) = store.get(&slot_key(slot))?;
            let s: Slot = serde_json::from_slice(&bytes).ok()?;
            (s.seq >= low && s.seq < head && s.seq % cap == slot).then_some((s.seq, s.rec))
        })
        .collect();
    out.sort_by_key(|(seq, _)| *seq);
    out
}

/// The retained records, oldest first (at most `capacity`).
pub fn read_all(store: &dyn KeyStore, capacity: usize) -> Vec<SpendRecord> {
    read_entries(store, capacity)
        .into_iter()
        .map(|(_, r)| r)
        .collect()
}

fn unavailable(message: &str) -> ApiError {
    ApiError::internal(503, format!("The store refused a spend record: {message}"))
}

fn busy() -> ApiError {
    ApiError::internal(503, "The spend log is busy with concurrent appends.")
}

#[cfg(test)]
#[path = "ring_tests.rs"]
mod tests;
