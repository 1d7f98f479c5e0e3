//! Turns a [`Reply`] into a hyper response, applying a script's body timing and truncation.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes, Frame};
use hyper::header::{HeaderValue, CONTENT_LENGTH};
use hyper::Response;
use tokio::sync::mpsc;

use crate::reply::Reply;
use crate::script::Script;

/// Body type of every response the mock sends.
pub type RespBody = http_body_util::combinators::BoxBody<Bytes, io::Error>;

/// Body fed by a producer task; an `Err` item makes hyper abort the connection mid-body.
struct ChanBody {
    rx: mpsc::Receiver<io::Result<Bytes>>,
}

impl Body for ChanBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        self.rx
            .poll_recv(cx)
            .map(|item| item.map(|r| r.map(Frame::data)))
    }
}

/// A body that is sent at once.
pub fn full(data: impl Into<Bytes>) -> RespBody {
    Full::new(data.into())
        .map_err(|never| match never {})
        .boxed()
}

/// Builds the response; headers are sent as soon as hyper gets it, the body per the script.
pub fn into_response(reply: Reply, script: &Script) -> Response<RespBody> {
    let timed = script.ttfb_ms > 0
        || script.drop_after_chunks.is_some()
        || (reply.streaming && script.chunk_delay_ms > 0);
    let len = reply.body_len();
    let mut headers = reply.headers;
    let body = if timed {
        if !reply.streaming {
            // Keep the framing of a plain answer; a drop then shows as a short body.
            headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
        }
        let delay = if reply.streaming {
            script.chunk_delay_ms
        } else {
            0
        };
        timed_body(
            reply.chunks,
            script.ttfb_ms,
            delay,
            script.drop_after_chunks,
        )
    } else if reply.streaming {
        // Even without delays, a stream goes out chunked with one write per event.
        timed_body(reply.chunks, 0, 0, None)
    } else {
        full(reply.chunks.concat())
    };
    let mut response = Response::new(body);
    *response.status_mut() = reply.status;
    *response.headers_mut() = headers;
    response
}

fn timed_body(
    chunks: Vec<Bytes>,
    ttfb_ms: u64,
    delay_ms: u64,
    drop_after: Option<usize>,
) -> RespBody {
    // Capacity 1 keeps the producer in step with the socket, so delays are real gaps on the wire.
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        if ttfb_ms > 0 {
            tokio::time::sleep(Duration::from_millis(ttfb_ms)).await;
        }
        let limit = drop_after.unwrap_or(usize::MAX);
        for (i, chunk) in chunks.into_iter().enumerate() {
            if i >= limit {
                break;
            }
            if i > 0 && delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            }
            if tx.send(Ok(chunk)).await.is_err() {
                return;
            }
        }
        if drop_after.is_some() {
            let abort = io::Error::new(io::ErrorKind::ConnectionAborted, "scripted drop");
            let _ = tx.send(Err(abort)).await;
        }
    });
    ChanBody { rx }.boxed()
}
