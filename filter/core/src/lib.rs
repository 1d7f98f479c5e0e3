//! tollgate-core: every decision the gateway makes, free of proxy-wasm so it runs
//! and is tested on the host. The wasm shim only moves bytes and headers.

pub mod auth;
pub mod body;
pub mod config;
pub mod error;
pub mod exchange;
pub mod failover;
/// Robustness harness shared by the fuzz targets and the robustness tests.
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod gateway;
pub mod health;
pub mod keys;
pub mod limits;
pub mod metrics;
pub mod models;
pub mod provider;
pub mod providers;
pub mod routes;
pub mod routing;
pub mod spend;
pub mod translate;
pub mod ui;
pub mod upstream;

#[cfg(test)]
mod robustness_tests;

pub use config::{Config, ConfigError, Deployment};
pub use error::ApiError;
pub use gateway::{BodyOutcome, Forward, Gateway, HeadersOutcome, LocalReply, Pending};
pub use provider::Provider;
pub use upstream::Upstream;
