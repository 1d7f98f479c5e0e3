//! Dispatch from a request path to the provider face that speaks its wire format.

use hyper::{HeaderMap, Method, StatusCode};

use crate::anthropic;
use crate::gemini;
use crate::openai;
use crate::reply::Reply;

/// What a provider face needs to know about a request.
#[derive(Debug, Clone, Copy)]
pub struct ProviderRequest<'a> {
    /// HTTP method.
    pub method: &'a Method,
    /// Path without the query string.
    pub path: &'a str,
    /// Raw request body.
    pub body: &'a [u8],
    /// Request headers (provider credentials and version headers are checked by some faces).
    pub headers: &'a HeaderMap,
    /// This mock instance's `--name`, echoed into answers.
    pub name: &'a str,
}

/// Request facts only some faces look at (credentials, query parameters).
#[derive(Debug, Clone, Copy)]
pub struct RequestMeta<'a> {
    /// Query string without the `?` ("" when absent).
    pub query: &'a str,
    /// Request headers.
    pub headers: &'a HeaderMap,
}

/// A provider wire format the mock can impersonate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// OpenAI chat completions, embeddings and models.
    OpenAi,
    /// Gemini generateContent, streamGenerateContent and embeddings (`/v1beta/models/...`).
    Gemini,
    /// Anthropic Messages (`…/v1/messages`).
    Anthropic,
}

impl Face {
    /// The face for a path; unknown paths get OpenAI's "Invalid URL" error.
    pub fn for_path(path: &str) -> Face {
        if gemini::matches(path) {
            Face::Gemini
        } else if anthropic::is_messages_path(path) {
            Face::Anthropic
        } else {
            Face::OpenAi
        }
    }

    /// The normal (unscripted) answer.
    pub fn answer(self, req: &ProviderRequest<'_>, meta: &RequestMeta<'_>) -> Reply {
        match self {
            Face::OpenAi => openai::answer(req),
            Face::Gemini => gemini::answer(req, meta),
            Face::Anthropic => anthropic::answer(req),
        }
    }

    /// The provider's own error envelope for a scripted status without a body.
    pub fn error(self, status: StatusCode) -> Reply {
        match self {
            Face::OpenAi => openai::scripted_error(status),
            Face::Gemini => gemini::scripted_error(status),
            Face::Anthropic => anthropic::scripted_error(status),
        }
    }
}
