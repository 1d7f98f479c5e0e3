//! Routing on the gateway: from the cluster the filter names to Istio's cluster.
//!
//! After choosing a deployment the filter sets `x-tollgate-cluster` to tollgate's
//! cluster name, rewrites `:authority` to the provider's host and clears the route
//! cache, so Envoy routes the request again: by the new authority it selects a virtual
//! host, then a route. This EnvoyFilter adds that virtual host to every route
//! configuration of the gateway: its domains are the providers' authorities and each
//! route matches one tollgate cluster name exactly and targets `outbound|PORT||HOST`.
//!
//! Why not `cluster_header`, as in the bootstrap: Istio's cluster names differ from
//! the filter's, and an exact-match table keeps the filter identical on every target.
//! Why not a VirtualService: it would bind only to a Gateway whose server hosts
//! include every provider host, which this renderer does not own.

use super::{selector_labels, Dest, Options};
use crate::manifest;
use crate::render::{self, CLUSTER_HEADER};
use serde_json::{json, Value};
use tollgate_core::Config;

/// The EnvoyFilter `<name>-upstreams`.
pub fn envoy_filter(o: &Options, cfg: &Config, dests: &[Dest]) -> Value {
    let timeout = render::duration(render::route_timeout_ms(cfg));
    let mut domains: Vec<&str> = Vec::new();
    for d in dests {
        if !domains.contains(&d.upstream.authority.as_str()) {
            domains.push(&d.upstream.authority);
        }
    }
    let mut routes: Vec<Value> = dests
        .iter()
        .map(|d| {
            json!({
                "name": d.upstream.cluster,
                "match": {
                    "prefix": "/",
                    "headers": [{"name": CLUSTER_HEADER, "string_match": {"exact": d.upstream.cluster}}],
                },
                // Envoy's 15 s default route timeout would cut long completions.
                "route": {"cluster": d.cluster(), "timeout": timeout, "retry_policy": render::retry_policy()},
            })
        })
        .collect();
    // A request for a provider host that the filter did not route ends here, not at
    // whatever the gateway's own routes would do with it.
    routes.push(json!({
        "name": "tollgate-no-route",
        "match": {"prefix": "/"},
        "direct_response": {
            "status": 404,
            "body": {"inline_string": r#"{"error":{"message":"no route","type":"invalid_request_error","param":null,"code":"not_found"}}"#},
        },
    }));
    json!({
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "EnvoyFilter",
        "metadata": manifest::metadata(&format!("{}-upstreams", o.name), &o.namespace, &o.name),
        "spec": {
            "workloadSelector": {"labels": selector_labels(o)},
            "configPatches": std::iter::once(json!({
                "applyTo": "VIRTUAL_HOST",
                // Every route configuration of the selected gateways (all server ports).
                "match": {"context": "GATEWAY"},
                "patch": {
                    "operation": "ADD",
                    "value": {
                        "name": format!("{}-upstreams", o.name),
                        "domains": domains,
                        "include_attempt_count_in_response": true,
                        "routes": routes,
                    },
                },
            }))
            .chain(callout_clusters(cfg))
            .collect::<Vec<Value>>(),
        },
    })
}

/// Failover attempts are HTTP callouts from the filter, which name tollgate's own
/// cluster (a callout is not routed, so the virtual host above does not apply):
/// those clusters are added to the gateway as the bootstrap defines them.
fn callout_clusters(cfg: &Config) -> Vec<Value> {
    cfg.upstreams()
        .into_iter()
        .map(|u| {
            json!({
                "applyTo": "CLUSTER",
                "match": {"context": "GATEWAY"},
                "patch": {"operation": "ADD", "value": render::cluster(u)},
            })
        })
        .collect()
}
