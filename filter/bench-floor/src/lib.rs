//! A proxy-wasm HTTP filter that does no work of its own: the floor
//! `scripts/bench.sh` puts beside tollgate. Envoy still creates a context per
//! request and calls each callback in V8, so plain Envoy plus this filter is what
//! any wasm filter costs. Its plugin configuration picks a mode:
//!
//! - `pass` (or anything else): continue every callback.
//! - `bodies`: also hold the request and the response body until each is complete
//!   and read it into the VM, as any gateway must that routes on the request's JSON
//!   and prices the answer's usage: the floor for such a filter.
//! - `gateway`: `bodies`, plus the fewest host calls a gateway with keys, limits,
//!   routing and spend makes per request, each once and with no logic between
//!   them (see [`Pass::gateway_request`] and [`Pass::gateway_response`]): the floor
//!   for a proxy-wasm filter that does tollgate's work, before any of its code runs.
//! - `calls:<call>=<n>,...`: make each named host call `n` times per request (at the
//!   request headers), so the benchmark can price one call: see [`Call`].
//!
//! Built for wasm32-wasip1 only.

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, MapType, MetricType};
use std::rc::Rc;

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

/// The host calls a probe can repeat.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    /// proxy_get_shared_data of a 200-byte value.
    SharedGet,
    /// proxy_set_shared_data of a 200-byte value.
    SharedSet,
    /// proxy_get_header_map_value of one request header.
    HeaderGet,
    /// proxy_get_header_map_pairs of the request headers.
    HeadersGet,
    /// proxy_replace_header_map_value on the request headers.
    HeaderSet,
    /// proxy_get_current_time_nanoseconds.
    Time,
    /// proxy_increment_metric (the counter `bench_probe_calls`).
    Metric,
    /// proxy_get_property of `request.path`.
    PropertyGet,
    /// proxy_set_property of a filter-state value.
    PropertySet,
}

impl Call {
    fn named(name: &str) -> Option<Call> {
        Some(match name {
            "shared_get" => Call::SharedGet,
            "shared_set" => Call::SharedSet,
            "header_get" => Call::HeaderGet,
            "headers_get" => Call::HeadersGet,
            "header_set" => Call::HeaderSet,
            "time" => Call::Time,
            "metric" => Call::Metric,
            "property_get" => Call::PropertyGet,
            "property_set" => Call::PropertySet,
            _ => return None,
        })
    }
}

const SHARED_KEY: &str = "bench-probe/value";
const VALUE: [u8; 200] = [b'x'; 200];

/// What a request costs beyond Envoy's own work: see the module documentation.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Mode {
    #[default]
    Pass,
    Bodies,
    Gateway,
}

#[derive(Default)]
struct Root {
    mode: Mode,
    calls: Rc<Vec<(Call, u32)>>,
    metric: u32,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        let config = String::from_utf8_lossy(&config);
        self.mode = match config.as_ref() {
            "bodies" => Mode::Bodies,
            "gateway" => Mode::Gateway,
            _ => Mode::Pass,
        };
        self.metric =
            hostcalls::define_metric(MetricType::Counter, "bench_probe_calls").unwrap_or_default();
        if let Some(list) = config.strip_prefix("calls:") {
            let mut calls = Vec::new();
            for item in list.split(',').filter(|i| !i.is_empty()) {
                let parsed = item.split_once('=').and_then(|(name, n)| {
                    Some((Call::named(name.trim())?, n.trim().parse().ok()?))
                });
                match parsed {
                    Some(c) => calls.push(c),
                    None => {
                        log::error!("bench probe: unknown call or count in {item:?}");
                        return false;
                    }
                }
            }
            self.calls = Rc::new(calls);
        }
        // The value the shared-data calls read and write back.
        let probes = self.mode == Mode::Gateway || config.starts_with("calls:");
        if probes && hostcalls::set_shared_data(SHARED_KEY, Some(&VALUE), None).is_err() {
            return false;
        }
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Pass {
            mode: self.mode,
            calls: self.calls.clone(),
            metric: self.metric,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// Continues every callback after the work its mode asks for.
struct Pass {
    mode: Mode,
    calls: Rc<Vec<(Call, u32)>>,
    metric: u32,
}

impl Pass {
    fn call(&self, call: Call, i: u32) {
        match call {
            Call::SharedGet => drop(std::hint::black_box(hostcalls::get_shared_data(SHARED_KEY))),
            Call::SharedSet => {
                let _ = hostcalls::set_shared_data(SHARED_KEY, Some(&VALUE), None);
            }
            Call::HeaderGet => drop(std::hint::black_box(hostcalls::get_map_value_bytes(
                MapType::HttpRequestHeaders,
                ":path",
            ))),
            Call::HeadersGet => drop(std::hint::black_box(hostcalls::get_map_bytes(
                MapType::HttpRequestHeaders,
            ))),
            Call::HeaderSet => {
                let _ = hostcalls::set_map_value_bytes(
                    MapType::HttpRequestHeaders,
                    "x-bench-probe",
                    Some(i.to_string().as_bytes()),
                );
            }
            Call::Time => drop(std::hint::black_box(hostcalls::get_current_time())),
            Call::Metric => {
                let _ = hostcalls::increment_metric(self.metric, 1);
            }
            Call::PropertyGet => drop(std::hint::black_box(hostcalls::get_property(vec![
                "request", "path",
            ]))),
            Call::PropertySet => {
                let _ = hostcalls::set_property(vec!["bench_probe"], Some(b"x"));
            }
        }
    }
}

impl Context for Pass {}

impl HttpContext for Pass {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        for &(call, n) in self.calls.iter() {
            for i in 0..n {
                self.call(call, i);
            }
        }
        if self.mode == Mode::Gateway {
            // The route, the key and the body's framing come from the headers; they
            // are held until the body has named the model.
            self.call(Call::HeadersGet, 0);
            if !end_of_stream {
                return Action::Pause;
            }
        }
        Action::Continue
    }

    fn on_http_request_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        let action = self.hold(BufferType::HttpRequestBody, size, end_of_stream);
        if self.mode == Mode::Gateway && end_of_stream {
            self.gateway_request();
        }
        action
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if self.mode == Mode::Gateway {
            // The status decides health bookkeeping and failover.
            self.call(Call::HeadersGet, 0);
        }
        Action::Continue
    }

    fn on_http_response_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        let action = self.hold(BufferType::HttpResponseBody, size, end_of_stream);
        if self.mode == Mode::Gateway && end_of_stream {
            self.gateway_response();
        }
        action
    }
}

impl Pass {
    /// Admission and routing once the body is whole: the clock for the limit
    /// windows, the key record (budget, parallel slot, rpm/tpm) read and written
    /// back, then the upstream chosen and its credential set on the held headers.
    fn gateway_request(&self) {
        self.call(Call::Time, 0);
        self.call(Call::SharedGet, 0);
        self.call(Call::SharedSet, 0);
        let _ = hostcalls::set_map_value_bytes(
            MapType::HttpRequestHeaders,
            "x-bench-cluster",
            Some(b"upstream"),
        );
        let _ = hostcalls::set_map_value_bytes(
            MapType::HttpRequestHeaders,
            "authorization",
            Some(b"Bearer provider-key"),
        );
    }

    /// Settlement once the answer is whole: the clock, the key record read and
    /// written back with the real usage, one metric, and the spend record handed
    /// to the access log.
    fn gateway_response(&self) {
        self.call(Call::Time, 0);
        self.call(Call::SharedGet, 0);
        self.call(Call::SharedSet, 0);
        self.call(Call::Metric, 0);
        let _ = hostcalls::set_property(vec!["tollgate_spend"], Some(&VALUE));
    }

    /// In `bodies` and `gateway` modes: holds a body until it is complete, then
    /// reads it whole.
    fn hold(&self, body: BufferType, size: usize, end_of_stream: bool) -> Action {
        if self.mode == Mode::Pass {
            return Action::Continue;
        }
        if !end_of_stream {
            return Action::Pause;
        }
        drop(std::hint::black_box(hostcalls::get_buffer(body, 0, size)));
        Action::Continue
    }
}
