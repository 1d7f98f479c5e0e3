//! OpenAI Responses API (`POST /v1/responses`) bridged through OpenAI chat.
//!
//! openai/ deployments receive Responses requests natively; for the others the
//! request is turned into a chat completion request ([`responses_to_chat`]), the
//! provider module does chat <-> provider, and the chat answer is turned back
//! into a Responses object ([`chat_to_responses`]) or event stream
//! ([`ChatToResponsesStream`]). [`check_request`] validates a body for every
//! deployment. Features that need OpenAI's server-side state or built-in tools
//! are refused with a 400 naming the parameter (see docs/translation-responses.md).

mod check;
mod input;
mod items;
mod request;
mod response;
mod stream;
mod stream_items;
mod stream_output;

pub use check::check_request;
pub use request::responses_to_chat;
pub use response::chat_to_responses;
pub use stream::ChatToResponsesStream;

#[cfg(test)]
mod tests;
