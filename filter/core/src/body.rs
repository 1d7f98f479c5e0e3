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
    check_text(body)?;
    let head: Head = serde_json::from_slice(body).map_err(|e| {
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

/// Deepest JSON nesting accepted: serde_json's own recursion limit, which the
/// translated routes hit when they parse the whole body. Checked here too so a
/// body passed through untranslated gets the same answer instead of reaching the
/// provider.
pub const MAX_DEPTH: usize = 128;

/// JSON is UTF-8 (RFC 8259) and nested at most [`MAX_DEPTH`] levels. The head
/// parse skips values it does not need without checking either.
fn check_text(body: &[u8]) -> Result<(), ApiError> {
    if let Err(e) = std::str::from_utf8(body) {
        return Err(ApiError::bad_request(format!(
            "Request body is not valid UTF-8 (invalid byte at offset {}); \
             JSON must be UTF-8.",
            e.valid_up_to()
        )));
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(ApiError::bad_request(format!(
                        "Request body is nested more than {MAX_DEPTH} levels deep."
                    )));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
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
            (b"{\"model\":\"a\",\"x\":\"\xff\"}", "not valid UTF-8"),
            (b"{\"model\":\"a\xc3\"}", "offset 11"),
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

    #[test]
    fn nesting_is_bounded_outside_strings_only() {
        let nested = |open: &str, close: &str, n: usize| {
            format!(
                "{{\"model\":\"a\",\"x\":{}1{}}}",
                open.repeat(n),
                close.repeat(n)
            )
        };
        // The top-level object is one level.
        let ok = nested("[", "]", MAX_DEPTH - 1);
        assert_eq!(read_head(ok.as_bytes()).unwrap().model, "a");
        for (open, close) in [("[", "]"), ("{\"k\":", "}")] {
            for n in [MAX_DEPTH, 10_000] {
                let e = read_head(nested(open, close, n).as_bytes()).unwrap_err();
                assert_eq!(e.status, 400);
                assert!(e.message.contains("nested more than 128"), "{}", e.message);
            }
        }
        // Brackets inside strings, escaped quotes included, do not count.
        let s = format!("{{\"model\":\"a\",\"x\":\"\\\"{}\"}}", "[{".repeat(10_000));
        assert_eq!(read_head(s.as_bytes()).unwrap().model, "a");
    }
}
