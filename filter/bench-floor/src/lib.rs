//! A proxy-wasm HTTP filter that does no work of its own: the floor
//! `scripts/bench.sh` puts beside tollgate. Envoy still creates a context per
//! request and calls each callback in V8, so plain Envoy plus this filter is what
//! any wasm filter costs. With the plugin configuration `bodies` it also holds the
//! request and the response body until each is complete and reads it into the VM,
//! as any gateway must that routes on the request's JSON and prices the answer's
//! usage: the floor for such a filter. Built for wasm32-wasip1 only.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType};

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { bodies: false }) });
}}

struct Root {
    bodies: bool,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        self.bodies = self.get_plugin_configuration().as_deref() == Some(b"bodies".as_slice());
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Pass {
            bodies: self.bodies,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// Continues every callback; in `bodies` mode waits for and reads each body first.
struct Pass {
    bodies: bool,
}

impl Context for Pass {}

impl HttpContext for Pass {
    fn on_http_request_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        if !self.bodies {
            return Action::Continue;
        }
        if !end_of_stream {
            return Action::Pause;
        }
        std::hint::black_box(self.get_http_request_body(0, size));
        Action::Continue
    }

    fn on_http_response_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        if !self.bodies {
            return Action::Continue;
        }
        if !end_of_stream {
            return Action::Pause;
        }
        std::hint::black_box(self.get_http_response_body(0, size));
        Action::Continue
    }
}
