//! Durations, budget periods, price lookup, read_head, routes::classify, query strings,
//! dates, the SSE parser and Gemini's JSON-array splitter.
//! Invariants: tollgate_core::fuzzing::parsers.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tollgate_core::fuzzing::parsers(data));
