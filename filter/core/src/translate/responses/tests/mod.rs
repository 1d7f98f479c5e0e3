//! Golden tests for the Responses bridge, built on the recorded OpenAI traffic.

mod check;
mod request;
mod response;
mod stream;
mod stream_cases;
mod support;
