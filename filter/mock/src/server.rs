//! HTTP/1 server: accepts connections, records provider requests and applies scripts.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::{Bytes, Incoming};
use hyper::header::HeaderValue;
use hyper::http::request::Parts;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::body::{into_response, RespBody};
use crate::chaos::{Action, ChaosStore, Mode};
use crate::control;
use crate::faces::{Face, ProviderRequest, RequestMeta};
use crate::reply::{Reply, JSON, SSE};
use crate::reqlog::{Entry, RequestLog};
use crate::script::{Script, ScriptStore, SCRIPT_HEADER};
use crate::util::{now_ms, rand_hex};

/// Response header naming the instance that answered.
pub const NAME_HEADER: &str = "x-mock-name";

/// State shared by every connection of one mock instance.
#[derive(Debug)]
pub struct State {
    /// The `--name` of this instance.
    pub name: String,
    /// Queued and sticky scripts.
    pub scripts: ScriptStore,
    /// Provider requests received so far.
    pub log: RequestLog,
    /// Scheduled outages.
    pub chaos: ChaosStore,
    quiet: bool,
}

impl State {
    /// Fresh state with no scripts and an empty log.
    pub fn new(name: String, quiet: bool) -> State {
        State {
            name,
            scripts: ScriptStore::default(),
            log: RequestLog::default(),
            chaos: ChaosStore::default(),
            quiet,
        }
    }
}

/// How often the accept loop looks at the chaos schedule (to close or reopen the listener).
const CHAOS_POLL: Duration = Duration::from_millis(20);

/// Serves connections from `listener` until the task is dropped. While a chaos phase
/// `down` with `how: refuse` applies, the listener is closed (connects are refused) and
/// bound again on the same address afterwards.
pub async fn run(listener: TcpListener, state: Arc<State>) {
    let addr = listener.local_addr().ok();
    let mut listener = Some(listener);
    loop {
        let now = now_ms();
        let refusing = state.chaos.refusing(now);
        // Wake at the next phase boundary, or after CHAOS_POLL to see schedule changes.
        let wait = state.chaos.next_change(now).map_or(CHAOS_POLL, |t| {
            CHAOS_POLL.min(Duration::from_millis(t.saturating_sub(now)))
        });
        let Some(open) = listener.as_ref() else {
            if !refusing {
                listener = rebind(addr).await;
            }
            if listener.is_none() {
                tokio::time::sleep(wait).await;
            }
            continue;
        };
        if refusing {
            // Dropping the socket refuses new connects and resets any still in the backlog.
            listener = None;
            continue;
        }
        let stream = match tokio::time::timeout(wait, open.accept()).await {
            Err(_) => continue, // no connection yet: look at the schedule again
            Ok(Ok((stream, _))) => stream,
            Ok(Err(err)) => {
                // Usually fd exhaustion; back off instead of spinning.
                eprintln!("accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if state.chaos.refusing(now_ms()) {
            continue; // a refuse phase began while this connect waited: close it unread
        }
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(Arc::clone(&state), req));
            // Errors here are client hang-ups or scripted drops; neither needs reporting.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Binds the listening address again after a refuse phase.
async fn rebind(addr: Option<std::net::SocketAddr>) -> Option<TcpListener> {
    let addr = addr?;
    match TcpListener::bind(addr).await {
        Ok(listener) => Some(listener),
        Err(err) => {
            eprintln!("cannot listen on {addr} again after chaos refuse: {err}");
            None
        }
    }
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> io::Result<Response<RespBody>> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map_err(io::Error::other)?.to_bytes();
    let path = parts.uri.path();
    let mut response = if control::is_control(path) {
        let reply = control::handle(&state, &parts.method, path, &body);
        into_response(reply, &Script::default())
    } else {
        provider(&state, &parts, &body).await?
    };
    if let Ok(value) = HeaderValue::from_str(&state.name) {
        response.headers_mut().insert(NAME_HEADER, value);
    }
    Ok(response)
}

async fn provider(state: &State, parts: &Parts, body: &Bytes) -> io::Result<Response<RespBody>> {
    let path = parts.uri.path();
    let full_path = parts.uri.path_and_query().map_or(path, |pq| pq.as_str());
    let now = now_ms();
    let chaos = state.chaos.decide(now);
    let mut entry = Entry::new(parts.method.as_str(), full_path, &parts.headers, body);
    entry.ts_ms = now;
    entry.chaos = chaos.map(|(mode, _)| mode.label());
    state.log.push(entry);
    match chaos {
        Some((mode, Action::Delay(ms))) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            scripted(state, parts, body, &format!("chaos={} ", mode.label())).await
        }
        Some((mode, action)) if action != Action::Normal => {
            chaos_response(state, parts, body, mode, action)
        }
        _ => scripted(state, parts, body, "").await,
    }
}

/// The answer to a request no chaos phase takes over: header, queued or default script.
async fn scripted(
    state: &State,
    parts: &Parts,
    body: &Bytes,
    note_prefix: &str,
) -> io::Result<Response<RespBody>> {
    let header_script = match parts
        .headers
        .get(SCRIPT_HEADER)
        .map(|v| header_script(v.as_bytes()))
    {
        Some(Err(message)) => {
            state.note(parts, 400, &format!("{note_prefix}header(invalid)"));
            let reply = Reply::json(
                StatusCode::BAD_REQUEST,
                &json!({"error": {"message": message, "type": "mock_script_error"}}),
            );
            return Ok(into_response(reply, &Script::default()));
        }
        Some(Ok(script)) => Some(script),
        None => None,
    };
    let (script, source) = state.scripts.select(header_script);
    if script.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(script.delay_ms)).await;
    }
    if script.drop_connection {
        state.note(parts, 0, &format!("{note_prefix}{}", source.label()));
        // Failing the service makes hyper close the connection without writing a response.
        return Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "scripted drop_connection",
        ));
    }
    let reply = scripted_reply(state, parts, body, &script);
    let label = match script.drop_after_chunks {
        Some(n) => format!("{note_prefix}{} drop_after={n}", source.label()),
        None => format!("{note_prefix}{}", source.label()),
    };
    state.note(parts, reply.status.as_u16(), &label);
    Ok(into_response(reply, &script))
}

/// The answer a chaos phase imposes (every mode but `ok` and `slow`).
fn chaos_response(
    state: &State,
    parts: &Parts,
    body: &Bytes,
    mode: Mode,
    action: Action,
) -> io::Result<Response<RespBody>> {
    let label = format!("chaos={}", mode.label());
    let face = Face::for_path(parts.uri.path());
    let (reply, script) = match action {
        Action::Normal | Action::Delay(_) => (
            scripted_reply(state, parts, body, &Script::default()),
            Script::default(),
        ),
        Action::Drop => {
            state.note(parts, 0, &label);
            // As with drop_connection: hyper closes the connection without a response.
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "chaos down",
            ));
        }
        Action::RateLimit { retry_after_s } => {
            let mut reply = face.error(StatusCode::TOO_MANY_REQUESTS);
            reply.set_header("retry-after", &retry_after_s.to_string());
            (with_request_id(reply), Script::default())
        }
        Action::Error(status) => (with_request_id(face.error(status)), Script::default()),
        Action::Cut(after) => {
            let reply = scripted_reply(state, parts, body, &Script::default());
            cut(reply, after)
        }
    };
    state.note(parts, reply.status.as_u16(), &label);
    Ok(into_response(reply, &script))
}

/// A stream keeps `after` events; a plain body is split in two and only the first half
/// is sent (its content-length still announces the whole body).
fn cut(mut reply: Reply, after: usize) -> (Reply, Script) {
    let after = if reply.streaming {
        after
    } else {
        let whole = Bytes::from(reply.chunks.concat());
        let half = whole.len() / 2;
        reply.chunks = vec![whole.slice(..half), whole.slice(half..)];
        1
    };
    let script = Script {
        drop_after_chunks: Some(after),
        ..Script::default()
    };
    (reply, script)
}

fn with_request_id(mut reply: Reply) -> Reply {
    if !reply.headers.contains_key("x-request-id") {
        reply.set_header("x-request-id", &format!("req_{}", rand_hex(32)));
    }
    reply
}

impl State {
    /// One stderr line per provider request (status 0 = connection dropped).
    fn note(&self, parts: &Parts, status: u16, script: &str) {
        if !self.quiet {
            eprintln!(
                "[{}] {} {} -> {} script={}",
                self.name, parts.method, parts.uri, status, script
            );
        }
    }
}

fn header_script(raw: &[u8]) -> Result<Script, String> {
    let value: Value =
        serde_json::from_slice(raw).map_err(|e| format!("{SCRIPT_HEADER} is not JSON: {e}"))?;
    Script::parse_one(value)
}

/// The normal answer, or what the script replaces it with, plus the script's headers.
fn scripted_reply(state: &State, parts: &Parts, body: &Bytes, script: &Script) -> Reply {
    let face = Face::for_path(parts.uri.path());
    let status = script.status.and_then(|s| StatusCode::from_u16(s).ok());
    let mut reply = match (&script.body, status) {
        (Some(custom), status) => custom_body(custom, status.unwrap_or(StatusCode::OK)),
        (None, Some(status)) if !script.keeps_answer() => face.error(status),
        (None, status) => {
            let req = ProviderRequest {
                method: &parts.method,
                path: parts.uri.path(),
                body,
                headers: &parts.headers,
                name: &state.name,
            };
            let meta = RequestMeta {
                query: parts.uri.query().unwrap_or_default(),
                headers: &parts.headers,
            };
            let mut reply = face.answer(&req, &meta);
            // A success override must not turn a validation error into a success.
            if let Some(status) = status.filter(|_| reply.status.is_success()) {
                reply.status = status;
            }
            reply
        }
    };
    reply = with_request_id(reply);
    for (name, value) in &script.headers {
        reply.set_header(name, value);
    }
    reply
}

/// A scripted body: JSON values are serialised; strings go out verbatim, as an event
/// stream (one chunk per event, so stream timings apply) when they look like SSE.
fn custom_body(body: &Value, status: StatusCode) -> Reply {
    match body {
        Value::String(text) if text.starts_with("data:") || text.starts_with("event:") => {
            let mut events: Vec<String> = text.split_inclusive("\n\n").map(str::to_owned).collect();
            events.retain(|e| !e.is_empty());
            let mut reply = Reply::stream(SSE, events);
            reply.status = status;
            reply
        }
        Value::String(text) => Reply::raw(status, "text/plain; charset=utf-8", text.clone()),
        other => Reply::raw(status, JSON, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_strings_become_streams_split_per_event() {
        let reply = custom_body(
            &json!("data: {\"a\":1}\n\nevent: error\ndata: {}\n\n"),
            StatusCode::OK,
        );
        assert!(reply.streaming);
        assert_eq!(reply.chunks.len(), 2);
        let plain = custom_body(&json!("oops"), StatusCode::BAD_GATEWAY);
        assert!(!plain.streaming);
        assert_eq!(plain.status, StatusCode::BAD_GATEWAY);
        assert_eq!(plain.body_text(), "oops");
        assert_eq!(
            custom_body(&json!({"x": [1]}), StatusCode::OK).body_text(),
            r#"{"x":[1]}"#
        );
    }

    #[test]
    fn header_scripts_must_be_valid() {
        assert!(header_script(br#"{"status":503}"#).is_ok());
        assert!(header_script(br#"[{"status":503}]"#).is_err());
        assert!(header_script(b"{").is_err());
    }
}
