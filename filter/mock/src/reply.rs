//! Provider-neutral description of a response, before scripts shape its timing.

use hyper::body::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{HeaderMap, StatusCode};
use serde::Serialize;

/// Content type of every JSON answer.
pub const JSON: &str = "application/json";
/// Content type of server-sent event streams.
pub const SSE: &str = "text/event-stream; charset=utf-8";

/// A response as a list of body chunks; a stream sends each chunk as one flushed write.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: StatusCode,
    /// Headers, content type included.
    pub headers: HeaderMap,
    /// Body pieces; for streams one piece per event.
    pub chunks: Vec<Bytes>,
    /// True for event streams (sent chunked, no content-length).
    pub streaming: bool,
}

impl Reply {
    /// A complete body with the given content type.
    pub fn raw(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Reply {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(content_type) {
            headers.insert(CONTENT_TYPE, value);
        }
        Reply {
            status,
            headers,
            chunks: vec![body.into()],
            streaming: false,
        }
    }

    /// A JSON body serialised from `value`.
    pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Reply {
        // Serialising plain data structures cannot fail; fall back to an empty object anyway.
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Reply::raw(status, JSON, body)
    }

    /// An event stream made of already-framed events.
    pub fn stream(content_type: &str, events: Vec<String>) -> Reply {
        let mut reply = Reply::raw(StatusCode::OK, content_type, Bytes::new());
        reply.chunks = events.into_iter().map(Bytes::from).collect();
        reply.streaming = true;
        reply
    }

    /// Sets a header, replacing any previous value; invalid names or values are skipped.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.set_header(name, value);
        self
    }

    /// In-place form of [`Reply::with_header`].
    pub fn set_header(&mut self, name: &str, value: &str) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            self.headers.insert(name, value);
        }
    }

    /// Total body length in bytes.
    pub fn body_len(&self) -> usize {
        self.chunks.iter().map(Bytes::len).sum()
    }

    /// The whole body joined, for tests and the log.
    #[cfg(test)]
    pub fn body_text(&self) -> String {
        self.chunks
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect()
    }
}

/// Frames one JSON value as an SSE `data:` event.
pub fn sse_data<T: Serialize>(value: &T) -> String {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
    format!("data: {json}\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_reply_has_content_type_and_body() {
        let reply = Reply::json(StatusCode::OK, &json!({"a": 1}));
        assert_eq!(
            reply.headers.get(CONTENT_TYPE).map(|v| v.as_bytes()),
            Some(&b"application/json"[..])
        );
        assert_eq!(reply.body_text(), r#"{"a":1}"#);
        assert!(!reply.streaming);
    }

    #[test]
    fn stream_keeps_event_boundaries() {
        let reply = Reply::stream(
            SSE,
            vec![sse_data(&json!({"x": 1})), "data: [DONE]\n\n".into()],
        );
        assert_eq!(reply.chunks.len(), 2);
        assert_eq!(reply.body_text(), "data: {\"x\":1}\n\ndata: [DONE]\n\n");
        assert!(reply.streaming);
    }

    #[test]
    fn invalid_headers_are_skipped() {
        let reply = Reply::raw(StatusCode::OK, "text/plain", "x").with_header("bad name", "v");
        assert_eq!(reply.headers.len(), 1);
    }
}
