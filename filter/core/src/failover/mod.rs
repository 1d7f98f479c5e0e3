//! Failover: what an upstream failure means, which deployment is tried next, and
//! the per-deployment circuit breaker shared by all workers.

pub mod breaker;
mod chain;
mod classify;
mod policy;

pub use chain::{context_chain, fallback_chain, Overrides};
pub use classify::{classify, may_fail_over, no_response, parse_retry_after, Failure, Kind};
pub use policy::RetryPolicy;
