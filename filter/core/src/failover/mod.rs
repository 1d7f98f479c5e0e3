//! Failover: what an upstream failure means, which deployment is tried next, and
//! the per-deployment circuit breaker shared by all workers.

pub mod breaker;
