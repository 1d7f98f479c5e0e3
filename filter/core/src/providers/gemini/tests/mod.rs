//! Golden tests built on the recorded Gemini traffic in shared/fixtures.

mod support;

mod embeddings_tests;
mod error_tests;
mod inbound_tests;
mod request_tests;
mod response_tests;
mod stream_tests;
