//! Per-request context: maps proxy-wasm callbacks onto the core pipeline.

use crate::failover::{Calling, Failing};
use crate::host;
use crate::response::{self, Body, Outcome};
use crate::store::{fill_random, SharedData};
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, MapType};
use std::rc::Rc;
use tollgate_core::exchange::ResponsePlan;
use tollgate_core::gateway::ticket::Ticket;
use tollgate_core::gateway::Env;
use tollgate_core::gateway::Failover;
use tollgate_core::routes::ClientApi;
use tollgate_core::routing::Rng;
use tollgate_core::{BodyOutcome, Forward, Gateway, HeadersOutcome, LocalReply, Pending};

/// Where the request stands; response callbacks behave differently per state.
pub(crate) enum State {
    /// Headers seen, nothing decided.
    Start,
    /// Waiting for the complete body.
    Reading(Pending),
    /// Sent upstream: response headers to add and how to treat the response.
    Forwarded {
        headers: Vec<(&'static str, String)>,
        plan: Option<ResponsePlan>,
        body: Body,
        /// Response headers are held until the whole body (and its cost) is known.
        held: bool,
    },
    /// Answered locally; response callbacks must leave the reply alone.
    Replied,
}

/// The HTTP context for one request.
pub struct Http {
    pub(crate) gateway: Rc<Gateway>,
    pub(crate) rng: Rng,
    pub(crate) state: State,
    /// Admission to settle exactly once: at the end of the body, or in on_log.
    pub(crate) ticket: Option<Ticket>,
    pub(crate) outcome: Outcome,
    /// The deployment's provider credential, scrubbed from upstream error bodies.
    pub(crate) secrets: Vec<String>,
    /// Where to go if the deployment fails, and what failover did so far.
    pub(crate) failover: Option<Box<Failover>>,
    /// Deployment of the routed attempt, for its circuit breaker.
    pub(crate) deployment: String,
    /// The routed attempt is its deployment's half-open probe.
    pub(crate) probe: bool,
    /// A failed routed answer held while failover decides.
    pub(crate) failing: Option<Failing>,
    /// A failover callout in flight.
    pub(crate) calling: Option<Calling>,
    /// Retries Envoy's router made of a lone deployment (requests without failover).
    pub(crate) envoy_retries: u32,
    /// The client's API, for errors in its format.
    pub(crate) api: ClientApi,
    /// Fallback groups passed over before routing (theirs all cooling down).
    pub(crate) fallbacks_before: u32,
    /// Envoy's x-request-id, reported as x-litellm-call-id.
    pub(crate) call_id: String,
    /// Nanoseconds spent in this filter's callbacks so far.
    overhead_ns: u64,
    /// When the running callback started (0: none running).
    callback_start: u64,
    /// The clock as the running callback (or on_log) started, in Unix ns: the one
    /// time read everything in a callback shares (each read is a host call); 0
    /// between callbacks.
    clock_ns: u64,
    /// Unix ms the request was forwarded (the duration metric's start).
    pub(crate) started_ms: u64,
    /// The client's request headers, read once when they arrived.
    pub(crate) request: host::Headers,
    /// The routed answer's headers and Envoy's code details, read once when they arrived.
    pub(crate) response: host::Headers,
    pub(crate) code_details: Option<String>,
}

impl Http {
    /// A fresh context for a request.
    pub fn new(gateway: Rc<Gateway>, rng: Rng) -> Self {
        Http {
            gateway,
            rng,
            state: State::Start,
            ticket: None,
            outcome: Outcome::default(),
            secrets: Vec::new(),
            failover: None,
            deployment: String::new(),
            probe: false,
            failing: None,
            calling: None,
            envoy_retries: 0,
            api: ClientApi::Chat,
            fallbacks_before: 0,
            call_id: String::new(),
            overhead_ns: 0,
            callback_start: 0,
            clock_ns: 0,
            started_ms: 0,
            request: host::Headers::default(),
            response: host::Headers::default(),
            code_details: None,
        }
    }

    pub(crate) fn reply(&mut self, mut reply: LocalReply) -> Action {
        self.state = State::Replied;
        reply.headers.extend(self.call_headers());
        host::send_reply(reply.status, &reply.headers, &reply.body);
        Action::Pause
    }

    /// The client's API.
    pub(crate) fn client_api(&self) -> ClientApi {
        self.api
    }

    fn finish_body(&mut self, pending: Pending, size: usize) -> Action {
        self.api = pending.api();
        let body = host::buffer(BufferType::HttpRequestBody, size);
        let mut random = fill_random;
        let mut env = Env {
            store: &SharedData,
            now: self.now_secs(),
            random: &mut random,
            pick: self.rng.next_u64(),
            now_ms: self.now_ms(),
        };
        match self.gateway.on_request_body(&pending, &body, &mut env) {
            BodyOutcome::Reply(r) => {
                if let Some(limit) = r.limit {
                    crate::metrics::rejected(&self.gateway, pending.key(), limit);
                }
                self.reply(r)
            }
            BodyOutcome::Forward(f) => self.forward(*f, size),
        }
    }

    /// Settles limits and budget, records spend; returns the key's period spend.
    pub(crate) fn settle(&mut self) -> Option<(u64, u64)> {
        let ticket = self.ticket.take()?;
        let now_ms = self.now_ms();
        let ttft_ms = ticket
            .first_byte_ms
            .map(|t| t.saturating_sub(ticket.start_ms));
        let status = match self.outcome.status {
            0 => 499,
            s if !self.outcome.complete => s.max(499),
            s => s,
        };
        let (record, key_spend, json) = self.gateway.settle_encoded(
            &ticket,
            self.outcome.usage,
            self.outcome.response_id.take(),
            status,
            &SharedData,
            now_ms,
        );
        crate::metrics::settled(self, &record, ttft_ms);
        if !json.is_empty() {
            let _ = proxy_wasm::hostcalls::set_property(vec!["tollgate_spend"], Some(&json));
        }
        Some((record.spend_micros, key_spend))
    }

    fn forward(&mut self, mut f: Forward, size: usize) -> Action {
        // Read before the rewrite below drops what the first deployment does not need.
        if let Some(fo) = &mut f.failover {
            let request = &self.request;
            fo.keep_client_headers(&|n| request.get(n));
        }
        self.ticket = f.ticket.clone();
        let now_ms = self.now_ms();
        if let Some(t) = &mut self.ticket {
            t.start_ms = now_ms;
            self.started_ms = t.start_ms;
        }
        if let Some(body) = &f.body {
            if !host::replace_buffer(BufferType::HttpRequestBody, size, body) {
                return self.reply(LocalReply::from(tollgate_core::ApiError::internal(
                    500,
                    "gateway could not rewrite the request body",
                )));
            }
        }
        // Removing a header the client did not send is a wasted host call.
        for name in f.remove_headers.iter().filter(|n| self.request.has(n)) {
            host::set_header(MapType::HttpRequestHeaders, name, None);
        }
        for (name, value) in &f.set_headers {
            if !host::set_header(MapType::HttpRequestHeaders, name, Some(value)) {
                return self.reply(LocalReply::from(tollgate_core::ApiError::internal(
                    500,
                    "gateway could not rewrite the request headers",
                )));
            }
        }
        host::clear_route_cache();
        let mut headers = f.response_headers;
        if let Some(t) = &self.ticket {
            headers.extend(t.admission.headers.iter().cloned());
            if t.admission.soft_budget_exceeded {
                headers.push(("x-litellm-soft-budget-exceeded", "true".to_string()));
            }
        }
        self.state = State::Forwarded {
            headers,
            plan: Some(f.plan),
            body: Body::Pass,
            held: false,
        };
        self.secrets = f.secrets;
        self.failover = f.failover;
        self.deployment = f.deployment_id;
        self.probe = f.probe;
        self.fallbacks_before = f.fallbacks_before;
        Action::Continue
    }
}

impl Context for Http {
    fn on_http_call_response(
        &mut self,
        _token_id: u32,
        num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        self.timed(|s| s.on_callout(num_headers, body_size));
    }
}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        self.timed(|s| s.request_headers(end_of_stream))
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.timed(|s| s.request_body(body_size, end_of_stream))
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        self.timed(|s| s.response_headers(end_of_stream))
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.timed(|s| s.response_body(body_size, end_of_stream))
    }

    fn on_log(&mut self) {
        // Disconnects, resets and timeouts end here without a body end: the slot and
        // the reservation are still released.
        self.clock_ns = host::now_nanos();
        self.note_broken_stream();
        self.settle();
        crate::metrics::finished(self);
    }
}

impl Http {
    /// Runs one callback, adding its time to the gateway's own overhead.
    fn timed<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        self.callback_start = host::now_nanos();
        self.clock_ns = self.callback_start;
        let out = f(self);
        self.overhead_ns += host::now_nanos().saturating_sub(self.callback_start);
        self.callback_start = 0;
        self.clock_ns = 0;
        out
    }

    /// Unix ms of the running callback's clock (read now outside a callback).
    pub(crate) fn now_ms(&self) -> u64 {
        self.now_ns() / 1_000_000
    }

    /// Unix seconds of the running callback's clock.
    pub(crate) fn now_secs(&self) -> u64 {
        self.now_ns() / 1_000_000_000
    }

    fn now_ns(&self) -> u64 {
        match self.clock_ns {
            0 => host::now_nanos(),
            t => t,
        }
    }

    /// Time spent in the gateway so far (the running callback included), in ms.
    pub(crate) fn overhead_ms(&self) -> String {
        let running = match self.callback_start {
            0 => 0,
            t => host::now_nanos().saturating_sub(t),
        };
        format!("{:.3}", (self.overhead_ns + running) as f64 / 1e6)
    }

    /// Headers every answer carries: the call id and the gateway's overhead.
    pub(crate) fn call_headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![("x-litellm-overhead-duration-ms", self.overhead_ms())];
        if !self.call_id.is_empty() {
            h.push(("x-litellm-call-id", self.call_id.clone()));
        }
        h
    }

    fn request_headers(&mut self, end_of_stream: bool) -> Action {
        self.request = host::Headers::read(MapType::HttpRequestHeaders);
        self.call_id = self.request.get("x-request-id").unwrap_or_default();
        let method = self.request.get(":method").unwrap_or_default();
        let path = self.request.get(":path").unwrap_or_default();
        // The access log reads :path when the stream ends; a forwarded request gets
        // its upstream path later, anything answered here keeps this one.
        if let Some(shown) = tollgate_core::routes::loggable_path(&path) {
            host::set_header(MapType::HttpRequestHeaders, ":path", Some(&shown));
        }
        let mut random = fill_random;
        let mut env = Env {
            store: &SharedData,
            now: self.now_secs(),
            random: &mut random,
            pick: self.rng.next_u64(),
            now_ms: self.now_ms(),
        };
        let request = &self.request;
        match self
            .gateway
            .on_request_headers(&method, &path, &|n| request.get(n), &mut env)
        {
            HeadersOutcome::Reply(r) => self.reply(r),
            HeadersOutcome::ReadBody(pending) if end_of_stream => self.finish_body(pending, 0),
            HeadersOutcome::ReadBody(pending) => {
                self.state = State::Reading(pending);
                Action::Pause
            }
        }
    }

    fn request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !matches!(self.state, State::Reading(_)) {
            return Action::Continue;
        }
        let limit = self.gateway.max_request_bytes();
        if body_size > limit {
            // Envoy defers our local reply until this callback returns and then buffers
            // the chunk; emptying it keeps Envoy's own (plain-text) 413 from winning.
            host::replace_buffer(BufferType::HttpRequestBody, body_size, &[]);
            let api = match &self.state {
                State::Reading(p) => p.api(),
                _ => tollgate_core::routes::ClientApi::Chat,
            };
            return self.reply(LocalReply::error(
                api,
                tollgate_core::ApiError::too_large(limit),
            ));
        }
        if !end_of_stream {
            return Action::Pause;
        }
        match std::mem::replace(&mut self.state, State::Start) {
            State::Reading(pending) => self.finish_body(pending, body_size),
            other => {
                self.state = other;
                Action::Continue
            }
        }
    }

    fn response_headers(&mut self, end_of_stream: bool) -> Action {
        if !matches!(self.state, State::Forwarded { .. }) {
            return Action::Continue;
        }
        self.response = host::Headers::read(MapType::HttpResponseHeaders);
        // Only Envoy's own replies (all errors) carry details other than via_upstream,
        // and a property read is one of the dearer host calls: a 2xx skips it.
        let success = self
            .response
            .get(":status")
            .is_some_and(|s| s.starts_with('2'));
        self.code_details = if success {
            None
        } else {
            host::property(&["response", "code_details"])
        };
        if let Some(action) = self.check_routed(end_of_stream) {
            return action;
        }
        self.respond_headers(end_of_stream)
    }

    fn response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.failing.is_some() {
            if !end_of_stream {
                return Action::Pause;
            }
            return self.decide_routed(body_size);
        }
        self.respond_body(body_size, end_of_stream)
    }

    /// Adds the gateway's headers and picks the body mode for a routed answer.
    pub(crate) fn respond_headers(&mut self, end_of_stream: bool) -> Action {
        let tap = self.ticket.as_ref().and_then(|t| t.format);
        let mut report = self.report_headers();
        report.extend(self.call_headers());
        let State::Forwarded {
            headers,
            plan,
            body,
            held,
        } = &mut self.state
        else {
            return Action::Continue;
        };
        for (name, value) in headers.iter() {
            let _ = proxy_wasm::hostcalls::add_map_value(MapType::HttpResponseHeaders, name, value);
        }
        for (name, value) in &report {
            host::set_header(MapType::HttpResponseHeaders, name, Some(value));
        }
        let Some(plan) = plan.take() else {
            return Action::Continue;
        };
        let (mode, whole) = response::on_headers(
            plan,
            tap,
            !self.secrets.is_empty(),
            &mut self.outcome,
            &self.response,
            self.code_details.as_deref(),
        );
        *body = mode;
        if end_of_stream {
            self.outcome.complete = true;
            self.settle();
            return Action::Continue;
        }
        // A whole JSON answer is read before anything is sent, so its cost can go in
        // the headers (a stream's cost is only known after its headers are gone).
        if whole && self.ticket.is_some() {
            *held = true;
            return Action::Pause;
        }
        Action::Continue
    }

    /// Handles body bytes of a routed answer.
    pub(crate) fn respond_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let now_ms = self.now_ms();
        if let (Some(t), true) = (self.ticket.as_mut(), body_size > 0) {
            t.first_byte(|| now_ms);
        }
        let State::Forwarded { body, held, .. } = &mut self.state else {
            return Action::Continue;
        };
        let held = *held;
        let action = response::on_body(
            body,
            body_size,
            end_of_stream,
            &self.secrets,
            &mut self.outcome,
        );
        if end_of_stream {
            self.outcome.complete = true;
            if let Some((cost, key_spend)) = self.settle() {
                if held {
                    // Translation of the whole body is the gateway's time too.
                    host::set_header(
                        MapType::HttpResponseHeaders,
                        "x-litellm-overhead-duration-ms",
                        Some(&self.overhead_ms()),
                    );
                    for (name, micros) in [
                        ("x-litellm-response-cost", cost),
                        ("x-litellm-key-spend", key_spend),
                    ] {
                        let value = format!("{:.6}", micros as f64 / 1e6);
                        let _ = proxy_wasm::hostcalls::add_map_value(
                            MapType::HttpResponseHeaders,
                            name,
                            &value,
                        );
                    }
                }
            }
        }
        action
    }
}
