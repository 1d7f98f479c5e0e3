//! Response-side translation state for one request.

use crate::host;
use proxy_wasm::types::{Action, BufferType, MapType};
use tollgate_core::exchange::{from_openai_error, Translation};
use tollgate_core::translate::StreamTranslator;

/// How the response body is handled.
pub enum Body {
    /// Untouched.
    Pass,
    /// Translated chunk by chunk.
    Stream(Box<dyn StreamTranslator>),
    /// Buffered whole, then translated (JSON bodies and provider errors).
    Whole { t: Box<Translation>, status: u16 },
    /// Envoy's own reply (connect failure, timeout): already OpenAI-shaped JSON,
    /// re-shaped for the client's API.
    Local { t: Box<Translation>, status: u16 },
}

/// Decides the body mode from the response status and fixes the headers that the
/// translation invalidates. Runs inside the response-headers callback.
pub fn on_headers(t: Translation) -> Body {
    let status = host::header(MapType::HttpResponseHeaders, ":status")
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(502);
    let from_upstream =
        host::property(&["response", "code_details"]).is_none_or(|d| d == "via_upstream");
    host::set_header(MapType::HttpResponseHeaders, "content-length", None);
    host::set_header(
        MapType::HttpResponseHeaders,
        "content-type",
        Some(t.content_type(if from_upstream { status } else { 500 })),
    );
    if !from_upstream {
        return Body::Local {
            t: Box::new(t),
            status,
        };
    }
    if t.stream && status < 300 {
        Body::Stream(t.streamer())
    } else {
        Body::Whole {
            t: Box::new(t),
            status,
        }
    }
}

/// Translates body bytes according to the mode.
pub fn on_body(mode: &mut Body, size: usize, end_of_stream: bool) -> Action {
    match mode {
        Body::Pass => Action::Continue,
        Body::Stream(s) => {
            let chunk = host::buffer(BufferType::HttpResponseBody, size);
            let mut out = s.push(&chunk);
            if end_of_stream {
                out.extend(s.finish());
            }
            host::replace_buffer(BufferType::HttpResponseBody, size, &out);
            Action::Continue
        }
        Body::Whole { .. } | Body::Local { .. } if !end_of_stream => Action::Pause,
        Body::Whole { t, status } => {
            let body = host::buffer(BufferType::HttpResponseBody, size);
            let (out, _usage) = t.translate_body(*status, &body);
            host::replace_buffer(BufferType::HttpResponseBody, size, &out);
            Action::Continue
        }
        Body::Local { t, status } => {
            let body = host::buffer(BufferType::HttpResponseBody, size);
            let out = from_openai_error(t.client, *status, &body);
            host::replace_buffer(BufferType::HttpResponseBody, size, &out);
            Action::Continue
        }
    }
}
