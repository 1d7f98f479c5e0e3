//! Request sequences through the gateway phases and the key admin API, on one
//! in-memory store per input.
//!
//! Input layout, HTTP-like so seeds stay readable: requests separated by a
//! `~~~` line; each is `METHOD /path?query`, header lines `name: value`, a
//! blank line and the body bytes. Pseudo-headers drive the rest of a request's
//! life: `x-fuzz-usage: prompt,completion,cached,cache_creation,reasoning`
//! and `x-fuzz-status: N` settle a forwarded request, `x-fuzz-advance: N`
//! moves the clock N seconds forward before it.

use super::check::{self, json, CLIENT_KEYS, HOUSE_SECRETS};
use crate::auth::{self, Principal};
use crate::exchange::request::CLIENT_CREDENTIALS;
use crate::gateway::{BodyOutcome, Env, Forward, Gateway, HeadersOutcome, LocalReply};
use crate::keys::{self, KeyApi, MemStore};
use crate::routes::{self, ClientApi};
use crate::translate::Usage;
use serde_json::Value;
use std::sync::OnceLock;

/// Most requests run per input.
const MAX_REQUESTS: usize = 12;
/// 2025-01-10 12:00 UTC.
pub(crate) const START: u64 = 1_736_510_400;

/// One parsed request.
struct Request<'a> {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: &'a [u8],
}

impl Request<'_> {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    fn number(&self, name: &str) -> Option<u64> {
        self.header(name)?.trim().parse().ok()
    }

    /// Would Envoy pass this request on? (No control characters in the path or header values.)
    fn clean(&self) -> bool {
        let ok = |s: &str| !s.bytes().any(|b| b < 0x20 || b == 0x7f);
        ok(&self.path) && self.headers.iter().all(|(n, v)| ok(n) && ok(v))
    }
}

fn requests(data: &[u8]) -> Vec<Request<'_>> {
    split(data, b"\n~~~\n")
        .into_iter()
        .take(MAX_REQUESTS)
        .map(|part| {
            let (head, body) = match find(part, b"\n\n") {
                Some(i) => (&part[..i], &part[i + 2..]),
                None => (part, &part[part.len()..]),
            };
            let head = String::from_utf8_lossy(head);
            let mut lines = head.split('\n');
            let first = lines.next().unwrap_or_default();
            let (method, path) = first.split_once(' ').unwrap_or((first, "/"));
            let headers = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect();
            Request {
                method: method.to_string(),
                path: path.to_string(),
                headers,
                body,
            }
        })
        .collect()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn split<'a>(mut data: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while let Some(i) = find(data, sep) {
        out.push(&data[..i]);
        data = &data[i + sep.len()..];
    }
    out.push(data);
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    find(hay, needle.as_bytes()).is_some()
}

/// Secrets the caller has written into a method, path or body so far in this
/// input (error messages may echo those): only they may come back in a reply.
#[derive(Default)]
struct Disclosed(Vec<&'static str>);

impl Disclosed {
    fn note(&mut self, req: &Request<'_>) {
        for s in HOUSE_SECRETS {
            if req.method.contains(s) || req.path.contains(s) || contains(req.body, s) {
                self.0.push(s);
            }
        }
    }

    fn check(&self, what: &str, body: &[u8]) {
        for s in HOUSE_SECRETS {
            assert!(
                !contains(body, s) || self.0.contains(&s),
                "{what}: reply reveals {s}: {}",
                check::shown(body)
            );
        }
    }
}

/// Secure-random stand-in: distinct bytes per call, same for every run.
fn randomness() -> impl FnMut(&mut [u8]) {
    let mut n: u8 = 0;
    move |buf: &mut [u8]| {
        n = n.wrapping_add(1);
        for (i, b) in buf.iter_mut().enumerate() {
            *b = n.wrapping_mul(131).wrapping_add(i as u8);
        }
    }
}

fn gateway_instance() -> &'static Gateway {
    static GW: OnceLock<Gateway> = OnceLock::new();
    GW.get_or_init(|| Gateway::new(check::house().clone()))
}

/// Request sequences through `on_request_headers` and `on_request_body`,
/// settling forwarded requests with the usage the input names.
pub fn gateway(data: &[u8]) {
    let gw = gateway_instance();
    let store = MemStore::default();
    let mut random = randomness();
    let mut now = START;
    let mut disclosed = Disclosed::default();
    for (i, req) in requests(data).iter().enumerate() {
        now = now.saturating_add(req.number("x-fuzz-advance").unwrap_or(0));
        disclosed.note(req);
        let header = |name: &str| req.header(name);
        let mut env = Env {
            store: &store,
            now,
            random: &mut random,
            pick: (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            now_ms: now.saturating_mul(1000),
        };
        let (path, _) = routes::split_path(&req.path);
        let api = routes::classify(&req.method, path).map_or(ClientApi::Chat, |e| e.api());
        let pending = match gw.on_request_headers(&req.method, &req.path, &header, &mut env) {
            HeadersOutcome::Reply(r) => {
                reply("headers reply", api, &r, &disclosed);
                continue;
            }
            HeadersOutcome::ReadBody(p) => p,
        };
        assert_eq!(pending.api(), api);
        match gw.on_request_body(&pending, req.body, &mut env) {
            BodyOutcome::Reply(r) => reply("body reply", api, &r, &disclosed),
            BodyOutcome::Forward(f) => {
                forward(req, &f);
                if let Some(ticket) = &f.ticket {
                    let usage = usage_of(req);
                    if let Some(u) = &usage {
                        check::usage("settle", u);
                    }
                    let status = req
                        .number("x-fuzz-status")
                        .and_then(|s| u16::try_from(s).ok())
                        .unwrap_or(200);
                    let (record, _) = gw.settle(
                        ticket,
                        usage,
                        None,
                        status,
                        &store,
                        now.saturating_mul(1000),
                    );
                    assert!(record.spend.is_finite() && record.spend >= 0.0);
                    assert_eq!(
                        record.total_tokens,
                        record
                            .prompt_tokens
                            .saturating_add(record.completion_tokens)
                    );
                }
            }
        }
    }
}

fn usage_of(req: &Request<'_>) -> Option<Usage> {
    let text = req.header("x-fuzz-usage")?;
    let mut n = text
        .split(',')
        .map(|s| s.trim().parse::<u64>().unwrap_or(0));
    let mut next = || n.next().unwrap_or(0);
    Some(Usage {
        prompt_tokens: next(),
        completion_tokens: next(),
        cached_tokens: next(),
        cache_creation_tokens: next(),
        reasoning_tokens: next(),
    })
}

/// A local reply: a real status, JSON, the client API's error shape, no secret.
fn reply(what: &str, api: ClientApi, r: &LocalReply, disclosed: &Disclosed) {
    assert!(
        (100..600).contains(&r.status),
        "{what}: status {}",
        r.status
    );
    let v = json(what, &r.body);
    if r.status >= 400 {
        match api {
            ClientApi::Anthropic => check::anthropic_error(what, &v),
            ClientApi::Gemini => check::gemini_error(what, &v),
            _ => check::openai_error(what, &v),
        }
    }
    disclosed.check(what, &r.body);
    for (name, value) in &r.headers {
        header_value(what, name, value);
    }
}

fn header_value(what: &str, name: &str, value: &str) {
    assert!(
        !name.is_empty() && name == name.to_ascii_lowercase(),
        "{what}: header name {name:?}"
    );
    assert!(
        !value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0),
        "{what}: header {name} has a control character: {value:?}"
    );
}

/// A forwarded request: well-formed headers, exact content-length, JSON body,
/// and no client credential on its way to the provider.
fn forward(req: &Request<'_>, f: &Forward) {
    let clean = req.clean();
    let (in_path, in_query) = routes::split_path(&req.path);
    let kept_query = routes::strip_key_param(in_query);
    for (name, value) in f.set_headers.iter().chain(&f.response_headers) {
        if clean {
            header_value("forward", name, value);
        }
        for k in CLIENT_KEYS {
            if *name == ":path" {
                assert!(
                    !value.contains(k) || in_path.contains(k) || kept_query.contains(k),
                    "forward: {k} reaches the upstream path {value}"
                );
            } else {
                assert!(!value.contains(k), "forward: {k} in header {name}");
            }
        }
    }
    let path = f
        .set_headers
        .iter()
        .find(|(n, _)| *n == ":path")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    assert!(path.starts_with('/'), "forward: :path {path:?}");
    if let Some((_, q)) = path.split_once('?') {
        assert!(
            !q.split('&').any(|p| p.starts_with("key=")),
            "forward: key= reaches the upstream: {path}"
        );
    }
    for h in CLIENT_CREDENTIALS {
        assert!(
            f.remove_headers.contains(&h) || f.set_headers.iter().any(|(n, _)| *n == h),
            "forward: client credential header {h} is neither removed nor replaced"
        );
    }
    if let Some(body) = &f.body {
        let length = f
            .set_headers
            .iter()
            .find(|(n, _)| *n == "content-length")
            .map(|(_, v)| v.as_str());
        assert_eq!(
            length,
            Some(body.len().to_string().as_str()),
            "forward: content-length"
        );
        // JSON text: UTF-8 and the JSON grammar. Unpaired surrogate escapes
        // are grammatical (serde_json refuses to decode them into a Value, other
        // parsers do), and same-format routes forward the client's bytes as is.
        let grammatical = std::str::from_utf8(body)
            .map_err(|e| e.to_string())
            .and_then(|t| {
                serde_json::from_str::<serde::de::IgnoredAny>(t).map_err(|e| e.to_string())
            });
        if let Err(e) = grammatical {
            panic!("forward: body is not JSON ({e}): {}", check::shown(body));
        }
        for k in CLIENT_KEYS {
            assert!(
                !contains(body, k) || contains(req.body, k),
                "forward: {k} reaches the upstream body"
            );
        }
    }
}

/// Request sequences through `KeyApi::handle`, as whoever the credentials name.
pub fn admin_api(data: &[u8]) {
    let config = check::house();
    let store = MemStore::default();
    let mut random = randomness();
    let mut now = START;
    let mut disclosed = Disclosed::default();
    for req in requests(data) {
        now = now.saturating_add(req.number("x-fuzz-advance").unwrap_or(0));
        disclosed.note(&req);
        let (path, query) = routes::split_path(&req.path);
        let header = |name: &str| req.header(name);
        let caller = match auth::presented_key(&header, query, false)
            .and_then(|k| auth::authenticate(config, &store, k.as_deref(), now))
        {
            Ok(p) => p,
            Err(e) => {
                check::api_error("authenticate", &e);
                Principal::Anonymous
            }
        };
        let api = KeyApi {
            store: &store,
            config,
            now,
        };
        match api.handle(&caller, &req.method, path, query, req.body, &mut random) {
            Ok((status, v)) => {
                assert!((200..300).contains(&status), "key api status {status}");
                let text = v.to_string();
                json("key api", text.as_bytes());
                disclosed.check("key api", text.as_bytes());
                let fresh = matches!(path.trim_end_matches('/'), "/key/generate")
                    || path.trim_end_matches('/').ends_with("/regenerate");
                if let (true, Some(key)) = (fresh, v.get("key").and_then(Value::as_str)) {
                    assert!(
                        keys::lookup(&store, config, &keys::hash_key(key)).is_some(),
                        "a new key does not authenticate: {v}"
                    );
                }
            }
            Err(e) => {
                check::api_error("key api", &e);
                disclosed.check("key api error", &e.openai_body());
            }
        }
    }
}
