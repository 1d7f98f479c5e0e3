//! Arbitrary bytes through every whole-body response translator, the translated (client,
//! provider) pairs and the error mappers.
//! Invariants: tollgate_core::fuzzing::response_translators.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tollgate_core::fuzzing::response_translators(data));
