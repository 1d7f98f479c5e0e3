//! Where keys live. In Envoy: shared data (one map per process, shared by all
//! worker VMs, compare-and-swap on write). In tests: [`MemStore`]. A durable
//! backend shared by replicas implements the same trait.

use std::cell::RefCell;
use std::collections::HashMap;

/// A write that lost a race or could not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The value changed since it was read; re-read and retry.
    Conflict,
    /// The backend refused the write.
    Unavailable(String),
}

/// A versioned key-value store; versions make read-modify-write safe across workers.
pub trait KeyStore {
    /// The value and its version; None when absent (or deleted: empty values are tombstones).
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)>;
    /// Writes `value` if the stored version is still `version` (None writes unconditionally).
    fn set(&self, key: &str, value: &[u8], version: Option<u32>) -> Result<(), StoreError>;
}

/// In-memory store with the same version semantics as Envoy shared data.
#[derive(Debug, Default)]
pub struct MemStore {
    map: RefCell<HashMap<String, (Vec<u8>, u32)>>,
    next: RefCell<u32>,
}

impl KeyStore for MemStore {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.map
            .borrow()
            .get(key)
            .filter(|(v, _)| !v.is_empty())
            .cloned()
    }

    fn set(&self, key: &str, value: &[u8], version: Option<u32>) -> Result<(), StoreError> {
        let mut map = self.map.borrow_mut();
        let mut next = self.next.borrow_mut();
        *next += 1;
        match map.get_mut(key) {
            Some(entry) => {
                if version.is_some_and(|v| v != entry.1) {
                    return Err(StoreError::Conflict);
                }
                *entry = (value.to_vec(), *next);
            }
            None => {
                map.insert(key.to_string(), (value.to_vec(), *next));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_guard_writes() {
        let s = MemStore::default();
        assert!(s.get("a").is_none());
        s.set("a", b"1", None).unwrap();
        let (v, ver) = s.get("a").unwrap();
        assert_eq!(v, b"1");
        s.set("a", b"2", Some(ver)).unwrap();
        assert_eq!(s.set("a", b"3", Some(ver)), Err(StoreError::Conflict));
        s.set("a", b"", None).unwrap();
        assert!(s.get("a").is_none(), "empty value is a tombstone");
    }
}
