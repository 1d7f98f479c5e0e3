//! Arbitrary JSON through every request translator (OpenAI chat, Anthropic Messages,
//! Gemini, Responses, embeddings), with several RequestCtx variants.
//! Invariants: tollgate_core::fuzzing::request_translators.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tollgate_core::fuzzing::request_translators(data));
