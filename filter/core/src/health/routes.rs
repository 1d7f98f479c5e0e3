//! The health routes, answered from stored state (they never call a provider).
//!
//! - `/health/liveliness`, `/health/liveness`: the filter is running. 200 always.
//! - `/health/readiness`: every model group has a deployment whose breaker lets
//!   traffic through. 200 or 503.
//! - `/health`: per deployment, healthy or not and why (admin only).

use crate::auth::Principal;
use crate::config::{Config, Deployment};
use crate::error::ApiError;
use crate::failover::breaker::{self, Status};
use crate::keys::record::Role;
use crate::keys::time::iso8601;
use crate::keys::KeyStore;
use crate::routes::HealthRoute;
use serde_json::{json, Map, Value};

use super::state::{self, CheckResult};

/// The reply to a health route: status and JSON body.
pub fn reply(
    route: HealthRoute,
    principal: &Principal,
    cfg: &Config,
    store: &dyn KeyStore,
    now_ms: u64,
) -> Result<(u16, Value), ApiError> {
    match route {
        HealthRoute::Liveness => Ok((200, liveliness())),
        HealthRoute::Readiness => Ok(readiness(cfg, store, now_ms)),
        HealthRoute::Endpoints => {
            if !is_admin(principal) {
                return Err(ApiError::forbidden(
                    "Only the master key and proxy_admin keys may call /health.",
                ));
            }
            Ok((200, endpoints(cfg, store, now_ms)))
        }
    }
}

/// The master key, a proxy_admin key, or anyone when no master key is set.
fn is_admin(principal: &Principal) -> bool {
    match principal {
        Principal::Master | Principal::Anonymous => true,
        Principal::Key(k) => k.role == Role::ProxyAdmin,
    }
}

/// LiteLLM's liveness answer: the JSON string `"I'm alive!"`.
pub fn liveliness() -> Value {
    Value::String("I'm alive!".to_string())
}

/// 200 when every model group has at least one deployment whose breaker is not
/// open (closed, or half-open and free to probe), else 503. The body lists each
/// group's usable and total deployments.
pub fn readiness(cfg: &Config, store: &dyn KeyStore, now_ms: u64) -> (u16, Value) {
    let usable: std::collections::BTreeMap<&str, (usize, usize)> = cfg
        .groups
        .iter()
        .map(|(name, members)| {
            let deps: Vec<&Deployment> = members
                .iter()
                .filter_map(|&i| cfg.deployments.get(i))
                .collect();
            let n = deps
                .iter()
                .filter(|d| breaker::status(store, &d.id, now_ms).usable())
                .count();
            (name.as_str(), (n, deps.len()))
        })
        .collect();
    let mut groups = Map::new();
    let mut unready = Vec::new();
    for (name, &(n, total)) in &usable {
        // A group whose own deployments are all cooling down is still served when a
        // group of its fallback chain can answer: failover hands requests there.
        let via = (n == 0)
            .then(|| {
                crate::failover::fallback_chain(
                    cfg,
                    name,
                    &crate::failover::Overrides::default(),
                    &|g| cfg.resolve_group(g).map(str::to_string),
                )
                .into_iter()
                .find(|g| usable.get(g.as_str()).is_some_and(|&(u, _)| u > 0))
            })
            .flatten();
        if n == 0 && via.is_none() {
            unready.push(Value::String((*name).to_string()));
        }
        groups.insert(
            (*name).to_string(),
            json!({"usable": n, "deployments": total, "served_by_fallback": via}),
        );
    }
    let ready = unready.is_empty();
    let body = json!({
        "status": if ready { "healthy" } else { "unhealthy" },
        "background_health_checks": cfg.health.background,
        "model_groups": groups,
        "unready_model_groups": unready,
        "version": env!("CARGO_PKG_VERSION"),
    });
    (if ready { 200 } else { 503 }, body)
}

/// LiteLLM's `/health` shape from stored results and breaker states. A deployment
/// is unhealthy when its last check failed or its breaker is open or probing.
pub fn endpoints(cfg: &Config, store: &dyn KeyStore, now_ms: u64) -> Value {
    let mut healthy = Vec::new();
    let mut unhealthy = Vec::new();
    for dep in &cfg.deployments {
        let result = state::read(store, &dep.id);
        let breaker = breaker::read(store, &dep.id);
        let status = breaker.status(now_ms);
        let mut entry = Map::new();
        entry.insert("model".into(), dep.group.clone().into());
        entry.insert("model_id".into(), dep.id.clone().into());
        entry.insert("api_base".into(), api_base(dep).into());
        entry.insert("provider".into(), dep.provider.name().into());
        entry.insert(
            "litellm_model".into(),
            format!("{}/{}", dep.provider.name(), dep.model).into(),
        );
        entry.insert(
            "checked_at".into(),
            result
                .as_ref()
                .map_or(Value::Null, |r| iso8601(r.checked_at / 1_000).into()),
        );
        entry.insert(
            "latency_ms".into(),
            result.as_ref().map_or(Value::Null, |r| r.latency_ms.into()),
        );
        let failed = result.as_ref().is_some_and(|r| !r.healthy);
        let cooling = matches!(status, Status::Open(_) | Status::Probing);
        if !failed && !cooling {
            healthy.push(Value::Object(entry));
            continue;
        }
        entry.insert("error".into(), error_text(result.as_ref(), status).into());
        entry.insert("breaker".into(), breaker_name(status).into());
        entry.insert(
            "cooldown_until".into(),
            match status {
                Status::Open(until) => iso8601(until.div_ceil(1_000)).into(),
                _ => Value::Null,
            },
        );
        unhealthy.push(Value::Object(entry));
    }
    json!({
        "healthy_endpoints": healthy,
        "unhealthy_endpoints": unhealthy,
        "healthy_count": healthy.len(),
        "unhealthy_count": unhealthy.len(),
        "background_health_checks": cfg.health.background,
    })
}

/// The deployment's base URL as configured (scheme, authority, base path).
fn api_base(dep: &Deployment) -> String {
    let u = &dep.upstream;
    format!(
        "{}://{}{}",
        if u.tls { "https" } else { "http" },
        u.authority,
        u.base_path
    )
}

fn error_text(result: Option<&CheckResult>, status: Status) -> String {
    match result.and_then(|r| r.error.clone()) {
        Some(e) => e,
        None => match status {
            Status::Probing => "cooling down after failures; a probe request is in flight".into(),
            _ => "cooling down after failed requests".into(),
        },
    }
}

fn breaker_name(status: Status) -> &'static str {
    match status {
        Status::Closed => "closed",
        Status::Open(_) => "open",
        Status::HalfOpen => "half_open",
        Status::Probing => "probing",
    }
}

#[cfg(test)]
mod tests;
