//! Reading the few top-level fields routing needs without re-serialising the body,
//! so every other byte reaches the provider exactly as the client sent it.

use crate::error::ApiError;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::ops::Range;

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    model: Option<&'a RawValue>,
    #[serde(borrow)]
    stream: Option<&'a RawValue>,
}

/// The routing-relevant view of an OpenAI request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// Requested model (group or alias), unescaped.
    pub model: String,
    /// Byte range of the model's JSON string literal (quotes included) in the body.
    pub model_span: Range<usize>,
    /// `"stream": true`.
    pub stream: bool,
}

/// Parses the body once, validating that it is a JSON object with a string `model`.
pub fn read_head(body: &[u8]) -> Result<RequestHead, ApiError> {
    read(body, true)
}

/// Like [`read_head`] for APIs that name the model in the path (Gemini): a body
/// `model` is not required and is left as an empty name when absent.
pub fn read_head_model_optional(body: &[u8]) -> Result<RequestHead, ApiError> {
    read(body, false)
}

fn read(body: &[u8], require_model: bool) -> Result<RequestHead, ApiError> {
    let trimmed = body.iter().position(|b| !b.is_ascii_whitespace());
    if trimmed.and_then(|i| body.get(i)) != Some(&b'{') {
        return Err(if trimmed.is_none() {
            ApiError::bad_request("Request body is empty; expected a JSON object.")
        } else {
            ApiError::bad_request("Request body must be a JSON object.")
        });
    }
    // serde_json does not check UTF-8 inside strings it skips, so a body with
    // invalid bytes in any field but model/stream would pass as JSON and be
    // forwarded as is.
    let text = std::str::from_utf8(body).map_err(|e| {
        ApiError::bad_request(format!(
            "Request body is not valid UTF-8 (invalid byte at offset {}); \
             JSON text must be UTF-8.",
            e.valid_up_to()
        ))
    })?;
    let head: Head = serde_json::from_str(text).map_err(|e| {
        ApiError::bad_request(format!(
            "We could not parse the JSON body of your request ({e}). \
             The API expects a JSON payload."
        ))
    })?;
    let stream_raw = head.stream;
    let Some(raw) = head.model else {
        if !require_model {
            return Ok(RequestHead {
                model: String::new(),
                model_span: 0..0,
                stream: stream_flag(stream_raw)?,
            });
        }
        return Err(ApiError::bad_request("you must provide a model parameter").with_param("model"));
    };
    let model: String = serde_json::from_str(raw.get()).map_err(|_| {
        ApiError::bad_request(format!("model must be a string, got {}", raw.get()))
            .with_param("model")
    })?;
    if model.is_empty() {
        return Err(ApiError::bad_request("model must not be empty").with_param("model"));
    }
    // RawValue borrows from `text`, which is `body`: its offset is the pointer difference.
    let start = raw.get().as_ptr() as usize - body.as_ptr() as usize;
    Ok(RequestHead {
        model,
        model_span: start..start + raw.get().len(),
        stream: stream_flag(stream_raw)?,
    })
}

fn stream_flag(raw: Option<&RawValue>) -> Result<bool, ApiError> {
    match raw.map(RawValue::get) {
        None | Some("null") | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(
            ApiError::bad_request(format!("stream must be a boolean, got {other}"))
                .with_param("stream"),
        ),
    }
}

/// Returns the body with the model literal replaced, or None when it is unchanged.
pub fn replace_model(body: &[u8], head: &RequestHead, model: &str) -> Option<Vec<u8>> {
    if head.model == model {
        return None;
    }
    let literal = serde_json::Value::String(model.to_string()).to_string();
    let mut out = Vec::with_capacity(body.len() + literal.len());
    out.extend_from_slice(body.get(..head.model_span.start)?);
    out.extend_from_slice(literal.as_bytes());
    out.extend_from_slice(body.get(head.model_span.end..)?);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_top_level_model_only() {
        let body =
            br#"{"messages":[{"model":"inner","content":"x"}], "model" : "gpt-4o","stream":true}"#;
        let h = read_head(body).unwrap();
        assert_eq!(h.model, "gpt-4o");
        assert!(h.stream);
        assert_eq!(&body[h.model_span.clone()], br#""gpt-4o""#);
        let out = replace_model(body, &h, "gpt-4o-2024-08-06").unwrap();
        assert_eq!(
            out,
            br#"{"messages":[{"model":"inner","content":"x"}], "model" : "gpt-4o-2024-08-06","stream":true}"#
        );
        assert!(replace_model(body, &h, "gpt-4o").is_none());
    }

    #[test]
    fn escapes_round_trip() {
        let body = br#"{"model":"a\u0062c"}"#;
        let h = read_head(body).unwrap();
        assert_eq!(h.model, "abc");
        let out = replace_model(body, &h, "q\"x").unwrap();
        assert_eq!(out, br#"{"model":"q\"x"}"#);
    }

    #[test]
    fn rejects_bad_bodies() {
        for (body, needle) in [
            (&b""[..], "empty"),
            (b"  ", "empty"),
            (b"[1]", "JSON object"),
            (b"{\"model\":", "could not parse"),
            (b"{\"model\":\"a\"} trailing", "could not parse"),
            (b"{\"messages\":[]}", "must provide a model"),
            (b"{\"model\":5}", "must be a string"),
            (b"{\"model\":\"\"}", "must not be empty"),
            (b"{\"model\":\"a\",\"model\":\"b\"}", "duplicate field"),
            (b"{\"model\":\"a\",\"x\":\"\xff\"}", "not valid UTF-8"),
            (b"{\"model\":\"a\",\"x\":{\"\xc3\":1}}", "not valid UTF-8"),
            (
                b"{\"model\":\"a\",\"stream\":\"yes\"}",
                "stream must be a boolean",
            ),
        ] {
            let e = read_head(body).unwrap_err();
            assert_eq!(e.status, 400);
            assert!(
                e.message.contains(needle),
                "{:?}: {}",
                String::from_utf8_lossy(body),
                e.message
            );
        }
    }
}
