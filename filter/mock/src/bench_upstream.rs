//! `tollgate-bench-upstream`: the fastest honest LLM provider for benchmarks.
//!
//! Unlike `tollgate-mock` it keeps no request log, scripts or chaos state: every
//! request costs the same few microseconds, so a benchmark measures the proxy in
//! front of it. It speaks OpenAI chat and Anthropic Messages, whole or streamed.
//! A stream has `max_tokens` content chunks (default 1), each carrying the Unix
//! time in nanoseconds it was written as its text (`t=<ns> `), so a client on the
//! same machine can measure how long each chunk took to cross the proxy.

use std::convert::Infallible;
use std::io::Write;
use std::pin::Pin;
use std::process::ExitCode;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::BodyExt;
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const USAGE: &str =
    "usage: tollgate-bench-upstream [--host 127.0.0.1] [--port 0] [--delay-ms 0] [--chunk-gap-ms 0]

  --delay-ms N      wait N ms before answering (fixed-delay mode; default 0)
  --chunk-gap-ms N  wait N ms between stream chunks (default 0: written back to back)

POST .../chat/completions answers as OpenAI, POST .../messages as Anthropic;
\"stream\": true streams max_tokens content chunks (at most 10000).";

/// Upper bound on chunks per stream, so a typo cannot make an endless answer.
const MAX_CHUNKS: u64 = 10_000;

#[derive(Clone, Copy)]
struct Settings {
    delay: Duration,
    gap: Duration,
}

/// A body fed chunk by chunk from a producer task: one write per chunk.
struct ChanBody(mpsc::Receiver<Bytes>);

impl Body for ChanBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

type Reply = Response<http_body_util::combinators::BoxBody<Bytes, Infallible>>;

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

#[derive(Clone, Copy, PartialEq)]
enum Api {
    OpenAi,
    Anthropic,
}

fn whole(api: Api) -> String {
    let text = format!("t={} Hello! How can I help you today?", now_ns());
    match api {
        Api::OpenAi => serde_json::json!({
            "id": "chatcmpl-bench", "object": "chat.completion", "created": 1_733_000_000u64,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text,
                "refusal": null, "annotations": []}, "logprobs": null, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 13, "completion_tokens": 9, "total_tokens": 22,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0}},
            "service_tier": "default", "system_fingerprint": "fp_bench"
        }),
        Api::Anthropic => serde_json::json!({
            "id": "msg_bench", "type": "message", "role": "assistant",
            "model": "claude-3-5-haiku-20241022",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 13, "output_tokens": 9,
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        }),
    }
    .to_string()
}

fn sse(event: Option<&str>, data: &str) -> Bytes {
    Bytes::from(match event {
        Some(e) => format!("event: {e}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    })
}

/// Writes the stream's events to `tx`, each content chunk stamped when written.
async fn stream(api: Api, chunks: u64, gap: Duration, tx: mpsc::Sender<Bytes>) {
    let openai_chunk = |delta: Value, finish: Value| {
        serde_json::json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk",
            "created": 1_733_000_000u64, "model": "gpt-4o-mini-2024-07-18",
            "system_fingerprint": "fp_bench",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
        .to_string()
    };
    let head = match api {
        Api::OpenAi => vec![sse(
            None,
            &openai_chunk(
                serde_json::json!({"role": "assistant", "content": ""}),
                Value::Null,
            ),
        )],
        Api::Anthropic => vec![
            sse(
                Some("message_start"),
                r#"{"type":"message_start","message":{"id":"msg_bench","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":13,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}"#,
            ),
            sse(
                Some("content_block_start"),
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            ),
        ],
    };
    for b in head {
        if tx.send(b).await.is_err() {
            return;
        }
    }
    for _ in 0..chunks {
        if !gap.is_zero() {
            tokio::time::sleep(gap).await;
        }
        let text = format!("t={} ", now_ns());
        let b = match api {
            Api::OpenAi => sse(
                None,
                &openai_chunk(serde_json::json!({"content": text}), Value::Null),
            ),
            Api::Anthropic => sse(
                Some("content_block_delta"),
                &serde_json::json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": text}})
                .to_string(),
            ),
        };
        if tx.send(b).await.is_err() {
            return;
        }
    }
    let tail = match api {
        Api::OpenAi => vec![
            sse(None, &openai_chunk(serde_json::json!({}), "stop".into())),
            sse(
                None,
                &serde_json::json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk",
                    "created": 1_733_000_000u64, "model": "gpt-4o-mini-2024-07-18", "choices": [],
                    "usage": {"prompt_tokens": 13, "completion_tokens": chunks, "total_tokens": 13 + chunks}})
                .to_string(),
            ),
            sse(None, "[DONE]"),
        ],
        Api::Anthropic => vec![
            sse(Some("content_block_stop"), r#"{"type":"content_block_stop","index":0}"#),
            sse(
                Some("message_delta"),
                &serde_json::json!({"type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                    "usage": {"output_tokens": chunks}})
                .to_string(),
            ),
            sse(Some("message_stop"), r#"{"type":"message_stop"}"#),
        ],
    };
    for b in tail {
        if tx.send(b).await.is_err() {
            return;
        }
    }
}

async fn handle(settings: Settings, req: Request<Incoming>) -> Result<Reply, Infallible> {
    let path = req.uri().path().to_owned();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let api = if path.ends_with("/chat/completions") {
        Api::OpenAi
    } else if path.ends_with("/messages") {
        Api::Anthropic
    } else {
        let mut r = Response::new(
            http_body_util::Full::new(Bytes::from_static(
                br#"{"error":{"message":"not found","type":"invalid_request_error"}}"#,
            ))
            .boxed(),
        );
        *r.status_mut() = StatusCode::NOT_FOUND;
        return Ok(r);
    };
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let streaming = request.get("stream").and_then(Value::as_bool) == Some(true);
    if !settings.delay.is_zero() {
        tokio::time::sleep(settings.delay).await;
    }
    let mut response = if streaming {
        let chunks = request
            .get("max_tokens")
            .or_else(|| request.get("max_completion_tokens"))
            .and_then(Value::as_u64)
            .unwrap_or(1)
            .clamp(1, MAX_CHUNKS);
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(stream(api, chunks, settings.gap, tx));
        let mut r = Response::new(ChanBody(rx).boxed());
        r.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream; charset=utf-8"),
        );
        r
    } else {
        let mut r = Response::new(http_body_util::Full::new(Bytes::from(whole(api))).boxed());
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    };
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}

fn parse_args() -> Result<Option<(String, u16, Settings)>, String> {
    let mut host = "127.0.0.1".to_owned();
    let mut port = 0u16;
    let mut settings = Settings {
        delay: Duration::ZERO,
        gap: Duration::ZERO,
    };
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let value = argv.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {value}"))
        };
        match flag.as_str() {
            "--host" => host = value.clone(),
            "--port" => port = u16::try_from(number()?).map_err(|_| "--port: too large")?,
            "--delay-ms" => settings.delay = Duration::from_millis(number()?),
            "--chunk-gap-ms" => settings.gap = Duration::from_millis(number()?),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(Some((host, port, settings)))
}

async fn serve(host: String, port: u16, settings: Settings) -> std::io::Result<()> {
    let listener = TcpListener::bind((host.as_str(), port)).await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on http://{}", listener.local_addr()?)?;
    stdout.flush()?;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(settings, req));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn main() -> ExitCode {
    let (host, port, settings) = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("tollgate-bench-upstream: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // One thread: the upstream shares the machine with the proxy under test.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tollgate-bench-upstream: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(host, port, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tollgate-bench-upstream: {e}");
            ExitCode::FAILURE
        }
    }
}
