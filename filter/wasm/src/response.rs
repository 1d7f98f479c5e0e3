//! Response-side state for one forwarded request: translation or a usage tap,
//! the usage it yields, and the cost headers for non-streamed answers.

use crate::host;
use proxy_wasm::types::{Action, BufferType, MapType};
use tollgate_core::exchange::response::scrub_secrets;
use tollgate_core::exchange::{from_openai_error, ResponsePlan, Translation};
use tollgate_core::spend::tap::{usage_from_body, TapFormat, UsageTap};
use tollgate_core::translate::{StreamTranslator, Usage};

/// How the response body is handled.
pub enum Body {
    /// Untouched, nothing to measure (no ticket).
    Pass,
    /// Passed through while its SSE events are read for usage.
    Tap(UsageTap),
    /// Passed through whole (held) and read for usage at the end.
    TapWhole(TapFormat),
    /// An upstream error passed through: buffered whole so the provider
    /// credential can be scrubbed from it.
    Scrub,
    /// Translated chunk by chunk.
    Stream(Box<dyn StreamTranslator>),
    /// Buffered whole, then translated (JSON bodies and provider errors).
    Whole { t: Box<Translation>, status: u16 },
    /// Envoy's own reply (connect failure, timeout): already OpenAI-shaped JSON,
    /// re-shaped for the client's API.
    Local { t: Box<Translation>, status: u16 },
}

/// What the response turned out to be.
#[derive(Default)]
pub struct Outcome {
    /// HTTP status sent to the client.
    pub status: u16,
    /// Usage reported by the provider, once known.
    pub usage: Option<Usage>,
    /// The provider's response id, when seen.
    pub response_id: Option<String>,
    /// The body ended (as opposed to a reset or disconnect).
    pub complete: bool,
}

/// Decides the body mode from the status, fixing headers the translation invalidates.
/// Returns the mode and whether the body is read whole (so headers can be held).
/// `scrub`: the deployment has a credential to keep out of upstream error bodies;
/// `headers` and `code_details` are the answer's, as read at its headers.
pub fn on_headers(
    plan: ResponsePlan,
    tap: Option<TapFormat>,
    scrub: bool,
    outcome: &mut Outcome,
    headers: &host::Headers,
    code_details: Option<&str>,
) -> (Body, bool) {
    let status = headers
        .get(":status")
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(502);
    outcome.status = status;
    let from_upstream = code_details.is_none_or(|d| d == "via_upstream");
    let event_stream = headers
        .get("content-type")
        .is_some_and(|c| c.starts_with("text/event-stream"));
    let t = match plan {
        ResponsePlan::Passthrough => {
            return match tap {
                Some(f) if from_upstream && status < 300 && event_stream => {
                    (Body::Tap(UsageTap::new(f)), false)
                }
                Some(f) if from_upstream && status < 300 => (Body::TapWhole(f), true),
                _ if scrub && from_upstream && status >= 400 => {
                    // The body may shrink or grow when a secret is replaced.
                    host::set_header(MapType::HttpResponseHeaders, "content-length", None);
                    (Body::Scrub, true)
                }
                _ => (Body::Pass, false),
            };
        }
        ResponsePlan::Translate(t) => t,
    };
    host::set_header(MapType::HttpResponseHeaders, "content-length", None);
    host::set_header(
        MapType::HttpResponseHeaders,
        "content-type",
        Some(t.content_type(if from_upstream { status } else { 500 })),
    );
    if !from_upstream {
        return (
            Body::Local {
                t: Box::new(t),
                status,
            },
            false,
        );
    }
    if t.stream && status < 300 {
        (Body::Stream(t.streamer()), false)
    } else {
        (
            Body::Whole {
                t: Box::new(t),
                status,
            },
            true,
        )
    }
}

/// Handles body bytes according to the mode; records usage when the body ends.
/// `secrets` are scrubbed from upstream error bodies.
pub fn on_body(
    mode: &mut Body,
    size: usize,
    end_of_stream: bool,
    secrets: &[String],
    outcome: &mut Outcome,
) -> Action {
    match mode {
        Body::Pass => Action::Continue,
        Body::Tap(tap) => {
            let chunk = host::buffer(BufferType::HttpResponseBody, size);
            tap.push(&chunk);
            if end_of_stream {
                tap.finish();
                outcome.usage = Some(tap.usage()).filter(|u| u.total() > 0);
                outcome.response_id = tap.response_id().map(str::to_string);
            }
            Action::Continue
        }
        Body::Stream(s) => {
            let chunk = host::buffer(BufferType::HttpResponseBody, size);
            let mut out = s.push(&chunk);
            if end_of_stream {
                out.extend(s.finish());
                outcome.usage = Some(s.usage()).filter(|u| u.total() > 0);
            }
            host::replace_buffer(BufferType::HttpResponseBody, size, &out);
            Action::Continue
        }
        Body::TapWhole(_) | Body::Scrub | Body::Whole { .. } | Body::Local { .. }
            if !end_of_stream =>
        {
            Action::Pause
        }
        Body::Scrub => {
            let body = host::buffer(BufferType::HttpResponseBody, size);
            if let Some(out) = scrub_secrets(&body, secrets) {
                host::replace_buffer(BufferType::HttpResponseBody, size, &out);
            }
            Action::Continue
        }
        Body::TapWhole(format) => {
            let body = host::buffer(BufferType::HttpResponseBody, size);
            if let Some((usage, id)) = usage_from_body(*format, &body) {
                outcome.usage = Some(usage);
                outcome.response_id = id;
            }
            Action::Continue
        }
        Body::Whole { t, status } => {
            let body = host::buffer(BufferType::HttpResponseBody, size);
            let (mut out, usage) = t.translate_body(*status, &body);
            if *status >= 400 {
                out = scrub_secrets(&out, secrets).unwrap_or(out);
            }
            outcome.usage = usage.filter(|u| u.total() > 0);
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
