//! Request sequences (path, headers, body) through Gateway::on_request_headers /
//! on_request_body, settled with input-chosen usage.
//! Invariants: tollgate_core::fuzzing::gateway.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tollgate_core::fuzzing::gateway(data));
