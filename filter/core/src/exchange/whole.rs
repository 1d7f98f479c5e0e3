//! A whole upstream answer turned into the client's response in one step: what a
//! failover attempt made with an HTTP callout gets back (Envoy delivers callout
//! responses whole, never streamed).

use super::response::{scrub_secrets, ResponsePlan};
use crate::spend::tap::{usage_from_body, TapFormat, UsageTap};
use crate::translate::{StreamTranslator, Usage};

/// The client's response, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// Body in the client's format.
    pub body: Vec<u8>,
    /// Its content type.
    pub content_type: String,
    /// Usage the provider reported.
    pub usage: Option<Usage>,
    /// The provider's response id, when seen.
    pub response_id: Option<String>,
}

/// Builds the client's response from a complete upstream answer. `secrets` are
/// scrubbed from error bodies; `tap` reads usage from untranslated answers.
pub fn answer(
    plan: &ResponsePlan,
    tap: Option<TapFormat>,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
    secrets: &[String],
) -> Answer {
    let event_stream = content_type.is_some_and(|c| c.starts_with("text/event-stream"));
    match plan {
        ResponsePlan::Passthrough => {
            if status >= 400 {
                return Answer {
                    body: scrub_secrets(body, secrets).unwrap_or_else(|| body.to_vec()),
                    content_type: content_type.unwrap_or("application/json").to_string(),
                    usage: None,
                    response_id: None,
                };
            }
            let (usage, response_id) = match tap {
                Some(f) if event_stream => {
                    let mut t = UsageTap::new(f);
                    t.push(body);
                    t.finish();
                    (Some(t.usage()), t.response_id().map(str::to_string))
                }
                Some(f) => usage_from_body(f, body).map_or((None, None), |(u, id)| (Some(u), id)),
                None => (None, None),
            };
            Answer {
                body: body.to_vec(),
                content_type: content_type.unwrap_or("application/json").to_string(),
                usage: usage.filter(|u| u.total() > 0),
                response_id,
            }
        }
        ResponsePlan::Translate(t) => {
            let content_type = t.content_type(status).to_string();
            if t.stream && status < 400 {
                let mut s = t.streamer();
                let mut out = s.push(body);
                out.extend(s.finish());
                return Answer {
                    body: out,
                    content_type,
                    usage: Some(s.usage()).filter(|u| u.total() > 0),
                    response_id: None,
                };
            }
            let (mut out, usage) = t.translate_body(status, body);
            if status >= 400 {
                out = scrub_secrets(&out, secrets).unwrap_or(out);
            }
            Answer {
                body: out,
                content_type,
                usage: usage.filter(|u| u.total() > 0),
                response_id: None,
            }
        }
    }
}
