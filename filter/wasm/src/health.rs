//! Background health checks from a worker's root context. tollgate-core decides
//! everything (whose turn it is, what to send, what the answer means, what it
//! does to the breaker); this only dispatches and collects.

use crate::host;
use crate::store::SharedData;
use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;
use tollgate_core::health::{check, lease, state};
use tollgate_core::Gateway;

/// Most of a check's response body read back (error messages are short).
const MAX_BODY_BYTES: usize = 64 * 1024;

/// A check waiting for its answer.
struct InFlight {
    index: usize,
    started_ms: u64,
    timeout_ms: u64,
}

/// The checker of one worker root context.
pub struct Checker {
    gateway: Rc<Gateway>,
    in_flight: HashMap<u32, InFlight>,
}

fn now_ms() -> u64 {
    host::now_nanos() / 1_000_000
}

impl Checker {
    /// A checker for `gateway`; the caller starts the tick.
    pub fn new(gateway: Rc<Gateway>) -> Self {
        Checker {
            gateway,
            in_flight: HashMap::new(),
        }
    }

    /// Starts this worker's tick; false when the host refused.
    pub fn start(&self) -> bool {
        let tick = Duration::from_millis(self.gateway.config.health.tick_ms());
        hostcalls::set_tick_period(tick).is_ok()
    }

    /// One tick: if this worker wins the lease, dispatch a round.
    pub fn on_tick(&mut self) {
        let now = now_ms();
        let cfg = &self.gateway.config;
        // Answers Envoy never delivered (the VM outlived its callouts) are forgotten.
        self.in_flight
            .retain(|_, f| now < f.started_ms + 2 * f.timeout_ms + 1_000);
        if !lease::try_acquire(&SharedData, cfg.health.interval_ms, now) {
            return;
        }
        for req in check::plan(cfg) {
            let headers: Vec<(&str, &str)> =
                req.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            match hostcalls::dispatch_http_call(
                &req.cluster,
                headers,
                Some(&req.body),
                Vec::new(),
                Duration::from_millis(req.timeout_ms),
            ) {
                Ok(token) => {
                    self.in_flight.insert(
                        token,
                        InFlight {
                            index: req.index,
                            started_ms: now,
                            timeout_ms: req.timeout_ms,
                        },
                    );
                }
                Err(status) => {
                    let error = format!("could not dispatch the check: {status:?}");
                    self.record(req.index, Err(error), now, 0);
                }
            }
        }
    }

    /// A check's answer (or its failure: no headers).
    pub fn on_response(&mut self, token: u32, num_headers: usize, body_size: usize) {
        let Some(f) = self.in_flight.remove(&token) else {
            return;
        };
        let now = now_ms();
        let status = if num_headers == 0 {
            None
        } else {
            host::header(MapType::HttpCallResponseHeaders, ":status")
                .and_then(|s| s.trim().parse::<u16>().ok())
        };
        let body = if body_size == 0 {
            Vec::new()
        } else {
            host::buffer(
                BufferType::HttpCallResponseBody,
                body_size.min(MAX_BODY_BYTES),
            )
        };
        let elapsed = now.saturating_sub(f.started_ms);
        let secrets = self
            .gateway
            .config
            .deployments
            .get(f.index)
            .map(check::CheckRequest::secrets)
            .unwrap_or_default();
        let answer = check::Answer {
            status,
            body: &body,
            elapsed_ms: elapsed,
            timeout_ms: f.timeout_ms,
        };
        let outcome = check::interpret(&answer, &secrets);
        self.record(f.index, outcome, now, elapsed);
    }

    fn record(&self, index: usize, outcome: Result<(), String>, now: u64, latency: u64) {
        let cfg = &self.gateway.config;
        let Some(dep) = cfg.deployments.get(index) else {
            return;
        };
        let r = state::record(&SharedData, cfg, &dep.id, &outcome, now, latency);
        match (&outcome, r.was_healthy) {
            (Err(e), true) => log::warn!(
                "health check of deployment {} ({}) failed: {e}",
                dep.id,
                dep.group
            ),
            (Ok(()), false) => log::info!(
                "health check of deployment {} ({}) passes again",
                dep.id,
                dep.group
            ),
            (Err(e), false) => log::debug!("health check of {} still failing: {e}", dep.id),
            (Ok(()), true) => log::debug!("health check of {} passed in {latency} ms", dep.id),
        }
        if r.effect == state::Effect::Opened {
            log::info!("deployment {} cooling down after a failed check", dep.id);
            crate::metrics::cooldown_entered(&self.gateway, &dep.id);
        }
    }
}
