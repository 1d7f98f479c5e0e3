//! Virtual keys in Envoy shared data: one map per Envoy process, shared by every
//! worker VM with the same vm_id; versions (CAS) make concurrent writes safe.

use proxy_wasm::hostcalls;
use proxy_wasm::types::Status;
use tollgate_core::keys::{KeyStore, StoreError};

/// The shared-data backed key store.
pub struct SharedData;

impl KeyStore for SharedData {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        match hostcalls::get_shared_data(key) {
            Ok((Some(value), Some(cas))) if !value.is_empty() => Some((value, cas)),
            _ => None,
        }
    }

    fn set(&self, key: &str, value: &[u8], version: Option<u32>) -> Result<(), StoreError> {
        match hostcalls::set_shared_data(key, Some(value), version) {
            Ok(()) => Ok(()),
            Err(Status::CasMismatch) => Err(StoreError::Conflict),
            Err(other) => Err(StoreError::Unavailable(format!("{other:?}"))),
        }
    }
}

/// Fills `buf` from the host's secure random source (WASI random_get).
pub fn fill_random(buf: &mut [u8]) {
    if let Err(e) = getrandom::fill(buf) {
        // Never expected on Envoy; mixing the clock in keeps keys unique, and the
        // error is logged because they would no longer be unpredictable.
        log::error!("secure random source failed: {e}");
        let mut x = crate::host::now_nanos() | 1;
        for b in buf.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b ^= x as u8;
        }
    }
}
