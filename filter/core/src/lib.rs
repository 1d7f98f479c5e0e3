//! tollgate-core: every decision the gateway makes, free of proxy-wasm so it runs
//! and is tested on the host. The wasm shim only moves bytes and headers.

pub mod config;
pub mod provider;
pub mod upstream;

pub use config::{Config, ConfigError, Deployment};
pub use provider::Provider;
pub use upstream::Upstream;
