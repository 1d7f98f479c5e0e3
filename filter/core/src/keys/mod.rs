//! Virtual keys: records, storage, the LiteLLM-compatible key API and access rules.

pub mod access;
pub mod api;
mod fields;
pub mod layout;
mod list;
mod ops;
pub(crate) mod query;
pub mod record;
pub(crate) mod secret;
pub mod store;
pub mod time;
mod view;

pub use api::{authenticate, lookup, KeyApi};
pub use record::{hash_key, KeyRecord, Role};
pub use store::{KeyStore, MemStore, StoreError};

#[cfg(test)]
mod api_rules_tests;
#[cfg(test)]
mod api_tests;
#[cfg(test)]
mod concurrency_tests;
#[cfg(test)]
mod list_tests;
#[cfg(test)]
mod test_support;
