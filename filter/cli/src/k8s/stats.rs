//! Exposes Envoy's Prometheus stats to the cluster without exposing the admin API.
//!
//! The admin interface stays on loopback (it can drain, quit and reconfigure Envoy);
//! a second listener on the stats port serves only `GET /stats/prometheus`, proxied to
//! admin through a static cluster, the way Istio serves its own proxies' metrics.

use serde_json::{json, Value};

/// Name of the cluster that reaches the admin interface on loopback.
pub const ADMIN_CLUSTER: &str = "tollgate_admin";
/// The only path the stats listener serves.
pub const STATS_PATH: &str = "/stats/prometheus";

/// Adds the stats listener and the admin cluster to `bootstrap`, and a route on the
/// main listener that refuses to send anything to the admin cluster.
pub fn expose(bootstrap: &mut Value, stats_port: u16, admin_port: u16) -> Result<(), String> {
    let resources = &mut bootstrap["static_resources"];
    let Some(listeners) = resources["listeners"].as_array_mut() else {
        return Err("bootstrap has no listeners".into());
    };
    guard_main_listener(listeners)?;
    listeners.push(stats_listener(stats_port));
    let Some(clusters) = resources["clusters"].as_array_mut() else {
        return Err("bootstrap has no clusters".into());
    };
    clusters.push(json!({
        "name": ADMIN_CLUSTER,
        "connect_timeout": "1s",
        "type": "STATIC",
        "load_assignment": {
            "cluster_name": ADMIN_CLUSTER,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {
                "socket_address": {"address": "127.0.0.1", "port_value": admin_port},
            }}}]}],
        },
    }));
    Ok(())
}

/// The filter overwrites `x-tollgate-cluster` on every request it forwards and answers
/// every other request itself, so clients cannot name the admin cluster today; this
/// route keeps it that way even if the filter ever lets a client header through.
fn guard_main_listener(listeners: &mut [Value]) -> Result<(), String> {
    let routes = listeners
        .first_mut()
        .and_then(|l| {
            l["filter_chains"][0]["filters"][0]["typed_config"]["route_config"]["virtual_hosts"][0]
                ["routes"]
                .as_array_mut()
        })
        .ok_or("bootstrap listener has no routes")?;
    routes.insert(
        0,
        json!({
            "match": {
                "prefix": "/",
                "headers": [{
                    "name": crate::render::CLUSTER_HEADER,
                    "string_match": {"exact": ADMIN_CLUSTER},
                }],
            },
            "direct_response": {"status": 404},
        }),
    );
    Ok(())
}

fn stats_listener(port: u16) -> Value {
    json!({
        "name": "stats",
        "address": {"socket_address": {"address": "0.0.0.0", "port_value": port}},
        "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": "stats",
                "codec_type": "AUTO",
                "route_config": {
                    "name": "stats",
                    "virtual_hosts": [{
                        "name": "stats",
                        "domains": ["*"],
                        "routes": [
                            {
                                "match": {
                                    "path": STATS_PATH,
                                    "headers": [{"name": ":method", "string_match": {"exact": "GET"}}],
                                },
                                "route": {"cluster": ADMIN_CLUSTER},
                            },
                            {"match": {"prefix": "/"}, "direct_response": {"status": 404}},
                        ],
                    }],
                },
                "http_filters": [{
                    "name": "envoy.filters.http.router",
                    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
                }],
            },
        }]}],
    })
}
