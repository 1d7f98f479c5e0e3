//! Virtual keys: records, storage, the LiteLLM-compatible key API and access rules.

pub mod access;
pub mod record;
pub mod store;

pub use record::{hash_key, KeyRecord, Role};
pub use store::{KeyStore, MemStore, StoreError};
