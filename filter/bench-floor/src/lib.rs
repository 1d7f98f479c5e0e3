//! A proxy-wasm HTTP filter that lets every request through untouched. Envoy still
//! creates a context per request and calls each callback in V8, so plain Envoy plus
//! this filter is what any wasm filter costs before it does any work: the floor
//! `scripts/bench.sh` puts beside tollgate. Built for wasm32-wasip1 only.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::ContextType;

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root) });
}}

struct Root;

impl Context for Root {}

impl RootContext for Root {
    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Pass))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// Every callback keeps the SDK's default: continue.
struct Pass;

impl Context for Pass {}

impl HttpContext for Pass {}
