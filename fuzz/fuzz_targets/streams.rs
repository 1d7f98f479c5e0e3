//! Arbitrary bytes, split at input-chosen offsets, through every StreamTranslator (push +
//! finish), whole and split.
//! Invariants: tollgate_core::fuzzing::streams.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tollgate_core::fuzzing::streams(data));
