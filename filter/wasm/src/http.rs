//! Per-request context: maps proxy-wasm callbacks onto the core pipeline.

use crate::host;
use crate::response::{self, Body};
use crate::store::{fill_random, SharedData};
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, MapType};
use std::rc::Rc;
use tollgate_core::exchange::ResponsePlan;
use tollgate_core::gateway::Env;
use tollgate_core::routing::Rng;
use tollgate_core::{BodyOutcome, Forward, Gateway, HeadersOutcome, LocalReply, Pending};

/// Where the request stands; response callbacks behave differently per state.
enum State {
    /// Headers seen, nothing decided.
    Start,
    /// Waiting for the complete body.
    Reading(Pending),
    /// Sent upstream: response headers to add and how to treat the response.
    Forwarded {
        headers: Vec<(&'static str, String)>,
        plan: Option<ResponsePlan>,
        body: Body,
    },
    /// Answered locally; response callbacks must leave the reply alone.
    Replied,
}

/// The HTTP context for one request.
pub struct Http {
    gateway: Rc<Gateway>,
    rng: Rng,
    state: State,
}

impl Http {
    /// A fresh context for a request.
    pub fn new(gateway: Rc<Gateway>, rng: Rng) -> Self {
        Http {
            gateway,
            rng,
            state: State::Start,
        }
    }

    fn reply(&mut self, reply: LocalReply) -> Action {
        self.state = State::Replied;
        host::send_reply(reply.status, &reply.headers, &reply.body);
        Action::Pause
    }

    fn finish_body(&mut self, pending: Pending, size: usize) -> Action {
        let body = host::buffer(BufferType::HttpRequestBody, size);
        let mut random = fill_random;
        let mut env = Env {
            store: &SharedData,
            now: host::now_secs(),
            random: &mut random,
            pick: self.rng.next_u64(),
        };
        match self.gateway.on_request_body(&pending, &body, &mut env) {
            BodyOutcome::Reply(r) => self.reply(r),
            BodyOutcome::Forward(f) => self.forward(*f, size),
        }
    }

    fn forward(&mut self, f: Forward, size: usize) -> Action {
        if let Some(body) = &f.body {
            if !host::replace_buffer(BufferType::HttpRequestBody, size, body) {
                return self.reply(LocalReply::from(tollgate_core::ApiError::internal(
                    500,
                    "gateway could not rewrite the request body",
                )));
            }
        }
        for name in &f.remove_headers {
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
        self.state = State::Forwarded {
            headers: f.response_headers,
            plan: Some(f.plan),
            body: Body::Pass,
        };
        Action::Continue
    }
}

impl Context for Http {}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        let method = host::request_header(":method").unwrap_or_default();
        let path = host::request_header(":path").unwrap_or_default();
        let mut random = fill_random;
        let mut env = Env {
            store: &SharedData,
            now: host::now_secs(),
            random: &mut random,
            pick: self.rng.next_u64(),
        };
        match self
            .gateway
            .on_request_headers(&method, &path, &host::request_header, &mut env)
        {
            HeadersOutcome::Reply(r) => self.reply(r),
            HeadersOutcome::ReadBody(pending) if end_of_stream => self.finish_body(pending, 0),
            HeadersOutcome::ReadBody(pending) => {
                self.state = State::Reading(pending);
                Action::Pause
            }
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
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

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let State::Forwarded {
            headers,
            plan,
            body,
        } = &mut self.state
        {
            for (name, value) in headers.iter() {
                let _ =
                    proxy_wasm::hostcalls::add_map_value(MapType::HttpResponseHeaders, name, value);
            }
            if let Some(ResponsePlan::Translate(t)) = plan.take() {
                *body = response::on_headers(t);
            }
        }
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        match &mut self.state {
            State::Forwarded { body, .. } => response::on_body(body, body_size, end_of_stream),
            _ => Action::Continue,
        }
    }
}
