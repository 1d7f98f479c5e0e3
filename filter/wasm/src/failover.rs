//! Failover in the shim: a failed routed answer is held (headers paused, body
//! buffered) while the core picks the next attempt, which goes out as an HTTP
//! callout; its whole answer is translated and sent as the reply. Nothing of a
//! failed attempt reaches the client, so streaming and non-streaming requests fail
//! over the same way, before the first byte.

use crate::host;
use crate::http::{Http, State};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::Context;
use proxy_wasm::types::{Action, BufferType, MapType};
use std::time::Duration;
use tollgate_core::exchange::whole;
use tollgate_core::exchange::ResponsePlan;
use tollgate_core::failover::{self, Failure, Kind};
use tollgate_core::gateway::{Callout, Env, Next};
use tollgate_core::LocalReply;

/// A failed routed answer being held.
pub struct Failing {
    status: u16,
    details: Option<String>,
    retry_after: Option<String>,
}

/// A callout in flight.
pub struct Calling {
    plan: ResponsePlan,
    secrets: Vec<String>,
    started_ms: u64,
    timeout_ms: u64,
}

impl Http {
    /// At the routed answer's headers: counts Envoy's own retries, records the
    /// outcome for the breaker, and holds a failure that failover may replace.
    /// Returns the action when the answer is held.
    pub(crate) fn check_routed(&mut self, end_of_stream: bool) -> Option<Action> {
        let status = self
            .response
            .get(":status")
            .and_then(|s| s.parse::<u16>().ok())
            .unwrap_or(502);
        let details = self.code_details.clone();
        let retry_after = self.response.get("retry-after");
        self.count_envoy_retries(status);
        let held = self
            .failover
            .as_ref()
            .is_some_and(|fo| failover::may_fail_over(status, fo.has_context_chain()));
        if !held {
            match failover::classify(status, details.as_deref(), retry_after.as_deref(), b"") {
                Some(f) => {
                    let store = &crate::store::SharedData;
                    let opened =
                        self.gateway
                            .record_failure(&self.deployment, &f, self.now_ms(), store);
                    crate::metrics::failed(&self.gateway, &self.deployment, f.kind, opened);
                }
                None => self.gateway.record_success(
                    &self.deployment,
                    self.probe,
                    self.now_ms(),
                    &crate::store::SharedData,
                ),
            }
            return None;
        }
        self.failing = Some(Failing {
            status,
            details,
            retry_after,
        });
        if end_of_stream {
            return Some(self.decide_routed(0));
        }
        Some(Action::Pause)
    }

    /// Envoy's router retried a lone deployment `n - 1` times: each retried
    /// attempt failed, and counts as a retry.
    fn count_envoy_retries(&mut self, status: u16) {
        let Some(count) = self.response.get("x-envoy-attempt-count") else {
            return;
        };
        let attempts = count.parse::<u32>().unwrap_or(1);
        // Not for the client: it describes Envoy, and x-litellm-attempted-retries says it.
        host::set_header(MapType::HttpResponseHeaders, "x-envoy-attempt-count", None);
        let extra = attempts.saturating_sub(1);
        if extra == 0 {
            return;
        }
        if let Some(fo) = &mut self.failover {
            fo.retries = fo.retries.saturating_add(extra);
        } else {
            self.envoy_retries = extra;
        }
        let failure = Failure {
            kind: if status == 429 {
                Kind::RateLimited
            } else {
                Kind::Server
            },
            status,
            retry_after_ms: None,
            message: "retried by Envoy".into(),
        };
        for _ in 0..extra {
            let opened = self.gateway.record_failure(
                &self.deployment,
                &failure,
                self.now_ms(),
                &crate::store::SharedData,
            );
            crate::metrics::failed(&self.gateway, &self.deployment, failure.kind, opened);
        }
    }

    /// The held answer is complete: fail over, or send it on as the final answer.
    pub(crate) fn decide_routed(&mut self, body_size: usize) -> Action {
        let Some(held) = self.failing.take() else {
            return Action::Continue;
        };
        let body = host::buffer(BufferType::HttpResponseBody, body_size);
        let failure = failover::classify(
            held.status,
            held.details.as_deref(),
            held.retry_after.as_deref(),
            &body,
        );
        if let Some(f) = &failure {
            crate::metrics::failed(&self.gateway, &self.deployment, f.kind, false);
        }
        let (now, now_ms) = (self.now_secs(), self.now_ms());
        let next = match (failure, self.failover.as_mut()) {
            (Some(f), Some(fo)) => {
                let mut random = crate::store::fill_random;
                let env = Env {
                    store: &crate::store::SharedData,
                    now,
                    random: &mut random,
                    pick: self.rng.next_u64(),
                    now_ms,
                };
                self.gateway.next_attempt(fo, &f, &env)
            }
            _ => Next::GiveUp,
        };
        match next {
            Next::Call(c) => self.call(*c),
            Next::GiveUp => {
                // The routed answer is the final one: the normal response path
                // translates it (headers are still held, so they can change).
                self.respond_headers(false);
                self.respond_body(body_size, true)
            }
        }
    }

    /// Sends a failover attempt; a callout Envoy refuses outright counts as a
    /// connect failure and the next attempt is tried at once.
    fn call(&mut self, c: Callout) -> Action {
        let mut c = c;
        loop {
            let headers: Vec<(&str, &str)> = c
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let sent = self.dispatch_http_call(
                &c.cluster,
                headers,
                Some(&c.body),
                vec![],
                Duration::from_millis(c.timeout_ms),
            );
            if sent.is_ok() {
                let now_ms = self.now_ms();
                if let Some(t) = &mut self.ticket {
                    let store = &crate::store::SharedData;
                    self.gateway.reroute(t, c.deployment_index, store, now_ms);
                }
                self.calling = Some(Calling {
                    plan: c.plan,
                    secrets: c.secrets,
                    started_ms: now_ms,
                    timeout_ms: c.timeout_ms,
                });
                return Action::Pause;
            }
            log::warn!("failover callout to {} refused: {sent:?}", c.cluster);
            match self.next_after(&failover::no_response(false)) {
                Next::Call(next) => c = *next,
                Next::GiveUp => return self.give_up_locally(),
            }
        }
    }

    fn next_after(&mut self, f: &Failure) -> Next {
        let (now, now_ms) = (self.now_secs(), self.now_ms());
        let Some(fo) = self.failover.as_mut() else {
            return Next::GiveUp;
        };
        crate::metrics::failed(&self.gateway, &fo.deployment, f.kind, false);
        let mut random = crate::store::fill_random;
        let env = Env {
            store: &crate::store::SharedData,
            now,
            random: &mut random,
            pick: self.rng.next_u64(),
            now_ms,
        };
        self.gateway.next_attempt(fo, f, &env)
    }

    /// Every attempt is used up and the last one left nothing to show.
    fn give_up_locally(&mut self) -> Action {
        let tried = self
            .failover
            .as_ref()
            .map(|fo| fo.tried().join(", "))
            .unwrap_or_default();
        let mut e = tollgate_core::ApiError::internal(
            503,
            format!("Every deployment tried failed ({tried})."),
        );
        e.headers.extend(self.report_headers());
        let api = self.client_api();
        self.outcome.status = 503;
        self.outcome.complete = true;
        self.settle();
        self.reply(LocalReply::error(api, e))
    }

    /// A callout answered (or failed: no headers).
    pub(crate) fn on_callout(&mut self, num_headers: usize, body_size: usize) {
        let Some(calling) = self.calling.take() else {
            return;
        };
        if num_headers == 0 {
            let timed_out =
                self.now_ms().saturating_sub(calling.started_ms) + 50 >= calling.timeout_ms;
            let f = failover::no_response(timed_out);
            return self.after_failed_callout(calling, &f, None);
        }
        let header = |n: &str| host::header(MapType::HttpCallResponseHeaders, n);
        let status = header(":status")
            .and_then(|s| s.parse::<u16>().ok())
            .unwrap_or(502);
        let body = hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size)
            .ok()
            .flatten()
            .unwrap_or_default();
        match failover::classify(status, None, header("retry-after").as_deref(), &body) {
            None => self.answer(calling, status, header("content-type"), &body),
            Some(f) => {
                let content_type = header("content-type");
                self.after_failed_callout(calling, &f, Some((status, content_type, body)))
            }
        }
    }

    fn after_failed_callout(
        &mut self,
        calling: Calling,
        f: &Failure,
        response: Option<(u16, Option<String>, Vec<u8>)>,
    ) {
        match self.next_after(f) {
            Next::Call(c) => {
                self.call(*c);
            }
            Next::GiveUp => match response {
                Some((status, content_type, body)) => {
                    self.answer(calling, status, content_type, &body)
                }
                None => {
                    self.give_up_locally();
                }
            },
        }
    }

    /// Sends a callout's answer (success or final error) as the reply.
    fn answer(&mut self, calling: Calling, status: u16, content_type: Option<String>, body: &[u8]) {
        let tap = self.ticket.as_ref().and_then(|t| t.format);
        let a = whole::answer(
            &calling.plan,
            tap,
            status,
            content_type.as_deref(),
            body,
            &calling.secrets,
        );
        if status < 400 {
            if let Some(fo) = &self.failover {
                self.gateway.record_success(
                    &fo.deployment,
                    fo.probe,
                    self.now_ms(),
                    &crate::store::SharedData,
                );
            }
        }
        let mut headers: Vec<(&str, String)> = vec![("content-type", a.content_type.clone())];
        if let Some(fo) = &self.failover {
            headers.push(("x-litellm-model-id", fo.deployment.clone()));
            headers.push(("x-litellm-model-group", fo.group.clone()));
        }
        headers.extend(self.report_headers());
        headers.extend(self.call_headers());
        if let Some(t) = &mut self.ticket {
            if let Some(fo) = &self.failover {
                t.group = fo.group.clone();
            }
            headers.extend(t.admission.headers.iter().cloned());
        }
        self.outcome.status = status;
        self.outcome.usage = a.usage;
        self.outcome.response_id = a.response_id;
        self.outcome.complete = true;
        let stream = calling_streams(&calling.plan, content_type.as_deref());
        if let Some((cost, key_spend)) = self.settle() {
            if !stream {
                headers.push(("x-litellm-response-cost", micros(cost)));
                headers.push(("x-litellm-key-spend", micros(key_spend)));
            }
        }
        self.state = State::Replied;
        let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if let Err(s) = hostcalls::send_http_response(u32::from(status), refs, Some(&a.body)) {
            log::error!("send_http_response failed: {s:?}");
        }
    }

    /// x-litellm-attempted-retries / -fallbacks for the answer.
    pub(crate) fn report_headers(&self) -> Vec<(&'static str, String)> {
        match &self.failover {
            Some(fo) => fo.report_headers(),
            None => vec![
                (
                    "x-litellm-attempted-retries",
                    self.envoy_retries.to_string(),
                ),
                (
                    "x-litellm-attempted-fallbacks",
                    self.fallbacks_before.to_string(),
                ),
            ],
        }
    }

    /// A stream that broke after its headers went out counts against its deployment
    /// (the client already got a well-formed error event or a reset).
    pub(crate) fn note_broken_stream(&mut self) {
        if self.ticket.is_none() || self.outcome.complete {
            return;
        }
        if !(200..400).contains(&self.outcome.status) {
            return;
        }
        // A client that hangs up is not the deployment's fault; a provider reset is.
        let upstream_broke = host::property(&["response", "code_details"])
            .is_some_and(|d| d.starts_with("upstream_reset_after_response_started"));
        if !upstream_broke {
            return;
        }
        let f = Failure {
            kind: Kind::Server,
            status: self.outcome.status,
            retry_after_ms: None,
            message: "the stream broke before its end".into(),
        };
        let dep = self
            .failover
            .as_ref()
            .map_or(self.deployment.clone(), |fo| fo.deployment.clone());
        let opened =
            self.gateway
                .record_failure(&dep, &f, self.now_ms(), &crate::store::SharedData);
        crate::metrics::failed(&self.gateway, &dep, f.kind, opened);
    }
}

fn calling_streams(plan: &ResponsePlan, content_type: Option<&str>) -> bool {
    match plan {
        ResponsePlan::Translate(t) => t.stream,
        ResponsePlan::Passthrough => {
            content_type.is_some_and(|c| c.starts_with("text/event-stream"))
        }
    }
}

fn micros(m: u64) -> String {
    format!("{:.6}", m as f64 / 1e6)
}
