//! proxy-wasm entry point. Kept thin: it reads what Envoy offers, asks
//! tollgate-core what to do and turns the answer into host calls.

mod failover;
mod health;
mod host;
mod http;
mod metrics;
mod response;
mod store;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{ContextType, LogLevel};
use std::rc::Rc;
use tollgate_core::routing::Rng;
use tollgate_core::{Config, Gateway};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

/// How often the cooldown gauge is refreshed when no health checks tick.
const COOLDOWN_GAUGE_TICK: std::time::Duration = std::time::Duration::from_secs(1);

/// One per worker VM: holds the parsed config shared by its HTTP contexts, and
/// runs the background health checks when this worker wins their lease.
#[derive(Default)]
struct Root {
    gateway: Option<Rc<Gateway>>,
    seed: u64,
    checker: Option<health::Checker>,
}

impl Context for Root {
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        if let Some(c) = &mut self.checker {
            c.on_response(token_id, num_headers, body_size);
        }
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let Some(bytes) = host::plugin_configuration() else {
            log::error!("no plugin configuration; refusing to start");
            return false;
        };
        let text = match std::str::from_utf8(&bytes) {
            Ok(t) => t,
            Err(_) => {
                log::error!("plugin configuration is not UTF-8; refusing to start");
                return false;
            }
        };
        // The VM environment is what Envoy passes via vm_config.environment_variables.
        match Config::load(text, &|name| std::env::var(name).ok()) {
            Ok(config) => {
                if config.master_key.is_none() {
                    log::warn!("no general_settings.master_key; LLM routes are open");
                }
                log::info!(
                    "loaded {} deployments in {} model groups",
                    config.deployments.len(),
                    config.groups.len()
                );
                let gateway = Rc::new(Gateway::new(config));
                self.checker = None;
                if gateway.config.health.background {
                    let checker = health::Checker::new(gateway.clone());
                    if checker.start() {
                        self.checker = Some(checker);
                    } else {
                        log::error!("could not start the tick; background health checks are off");
                    }
                } else if proxy_wasm::hostcalls::set_tick_period(COOLDOWN_GAUGE_TICK).is_err() {
                    log::warn!("could not start the tick; the cooldown gauge will not update");
                }
                self.gateway = Some(gateway);
                self.seed = host::now_nanos();
                true
            }
            Err(e) => {
                log::error!("invalid configuration: {e}");
                false
            }
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        let gateway = self.gateway.clone()?;
        let rng = Rng::new(
            self.seed
                ^ u64::from(context_id).wrapping_mul(0x9e37_79b9_7f4a_7c15)
                ^ host::now_nanos(),
        );
        Some(Box::new(http::Http::new(gateway, rng)))
    }

    fn on_tick(&mut self) {
        if let Some(c) = &mut self.checker {
            c.on_tick();
        }
        if let Some(g) = &self.gateway {
            metrics::refresh_cooldowns(g);
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
