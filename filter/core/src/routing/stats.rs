//! Per-deployment routing state in the shared store, seen by every worker: the
//! in-flight gauge (least-busy) and the latency moving average (latency-based).
//! Usage-based routing reads the deployment tpm windows of [`crate::limits`].
//!
//! Only the state the configured strategy reads is kept. A request records what it
//! took in [`Tracked`] when it is forwarded ([`begin`]) and gives it back exactly
//! once when it ends ([`end`]), whatever the config is by then.

use super::strategy::{Load, Routing, Strategy};
use crate::config::Deployment;
use crate::keys::KeyStore;
use crate::limits::counter::{rmw, slot_held, slot_release, slot_take, window_used, Busy};
use crate::limits::deployment_counter;

/// Store key of a deployment's in-flight gauge.
pub fn in_flight_key(deployment_id: &str) -> String {
    format!("tollgate/route/busy/{deployment_id}")
}

/// Store key of a deployment's latency average: `ewma_ms:updated_unix_secs`.
pub fn latency_key(deployment_id: &str) -> String {
    format!("tollgate/route/latency/{deployment_id}")
}

/// What a forwarded request registered, to give back when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tracked {
    /// Counted in the deployment's in-flight gauge.
    pub in_flight: bool,
    /// Its latency feeds the deployment's moving average when it succeeds.
    pub latency: bool,
}

/// Registers a request forwarded to `deployment_id`.
pub fn begin(store: &dyn KeyStore, routing: &Routing, deployment_id: &str) -> Tracked {
    let mut tracked = Tracked::default();
    match routing.strategy {
        Strategy::LeastBusy => match slot_take(store, &in_flight_key(deployment_id), u64::MAX) {
            Ok(_) => tracked.in_flight = true,
            Err(e) => log::warn!("in-flight count of {deployment_id} not taken: {e:?}"),
        },
        Strategy::LatencyBased => tracked.latency = true,
        Strategy::SimpleShuffle | Strategy::UsageBased => {}
    }
    tracked
}

/// Ends a request: releases its in-flight count, and feeds `latency_ms` (given for
/// successful responses only) into the moving average. Call once per request.
pub fn end(
    store: &dyn KeyStore,
    routing: &Routing,
    deployment_id: &str,
    tracked: Tracked,
    latency_ms: Option<u64>,
    now: u64,
) {
    if tracked.in_flight {
        if let Err(e) = slot_release(store, &in_flight_key(deployment_id)) {
            log::warn!("in-flight count of {deployment_id} not released: {e:?}");
        }
    }
    if let (true, Some(ms)) = (tracked.latency, latency_ms) {
        if let Err(e) = record_latency(store, deployment_id, ms as f64, routing, now) {
            log::warn!("latency of {deployment_id} not recorded: {e:?}");
        }
    }
}

/// Requests in flight to the deployment.
pub fn in_flight(store: &dyn KeyStore, deployment_id: &str) -> u64 {
    slot_held(store, &in_flight_key(deployment_id))
}

/// A deployment's latency average.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// Exponentially weighted moving average, ms.
    pub ewma_ms: f64,
    /// When the last sample came in, unix seconds.
    pub updated: u64,
}

fn parse_latency(bytes: Option<&[u8]>) -> Option<Latency> {
    let text = std::str::from_utf8(bytes?).ok()?;
    let (ewma, updated) = text.split_once(':')?;
    let ewma_ms: f64 = ewma.parse().ok()?;
    (ewma_ms.is_finite() && ewma_ms >= 0.0).then_some(Latency {
        ewma_ms,
        updated: updated.parse().ok()?,
    })
}

/// The deployment's latency average as stored.
pub fn latency(store: &dyn KeyStore, deployment_id: &str) -> Option<Latency> {
    parse_latency(
        store
            .get(&latency_key(deployment_id))
            .map(|(b, _)| b)
            .as_deref(),
    )
}

/// Adds a sample to the moving average: `ewma += alpha × (sample − ewma)`. The first
/// sample, or the first after `ttl_secs` without one, starts the average over.
pub fn record_latency(
    store: &dyn KeyStore,
    deployment_id: &str,
    sample_ms: f64,
    routing: &Routing,
    now: u64,
) -> Result<(), Busy> {
    let (alpha, ttl) = (routing.latency_alpha, routing.latency_ttl_secs);
    rmw(store, &latency_key(deployment_id), &mut |bytes| {
        let ewma = match parse_latency(bytes) {
            Some(old) if now.saturating_sub(old.updated) <= ttl => {
                old.ewma_ms + alpha * (sample_ms - old.ewma_ms)
            }
            _ => sample_ms,
        };
        (Some(format!("{ewma:.3}:{now}").into_bytes()), ())
    })
}

/// The shared store as a [`Load`] view at `now` (unix seconds).
pub struct StoreLoad<'a> {
    store: &'a dyn KeyStore,
    routing: &'a Routing,
    now: u64,
}

impl<'a> StoreLoad<'a> {
    /// A view of `store` for the strategy in `routing`.
    pub fn new(store: &'a dyn KeyStore, routing: &'a Routing, now: u64) -> Self {
        StoreLoad {
            store,
            routing,
            now,
        }
    }
}

impl Load for StoreLoad<'_> {
    fn in_flight(&self, dep: &Deployment) -> u64 {
        in_flight(self.store, &dep.id)
    }

    fn latency_ms(&self, dep: &Deployment) -> Option<f64> {
        let l = latency(self.store, &dep.id)?;
        // A sample older than ttl is stale: the deployment is measured again.
        let fresh = self.now.saturating_sub(l.updated) <= self.routing.latency_ttl_secs;
        fresh.then_some(l.ewma_ms)
    }

    fn tpm_used(&self, dep: &Deployment) -> u64 {
        window_used(
            self.store,
            &deployment_counter(&dep.id, "tpm"),
            self.now / 60,
        )
    }
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
