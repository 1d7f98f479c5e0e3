//! Arbitrary YAML text through Config::load and what a loaded config feeds (routing,
//! prices, model list).
//! Invariants: tollgate_core::fuzzing::config.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tollgate_core::fuzzing::config(data));
