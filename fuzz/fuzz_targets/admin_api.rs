//! Request sequences (method, path, query, credentials, body) through KeyApi::handle on
//! one MemStore.
//! Invariants: tollgate_core::fuzzing::admin_api.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tollgate_core::fuzzing::admin_api(data));
