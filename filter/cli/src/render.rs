//! Renders the complete Envoy v3 bootstrap for a config: one listener running the
//! tollgate wasm filter, and one cluster per distinct api_base.
//!
//! The filter reads the config itself (embedded, with `os.environ/` references left
//! unresolved) and picks the cluster per request through the `x-tollgate-cluster`
//! header, so the bootstrap carries routing plumbing only, never a secret.

use crate::secrets;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use tollgate_core::{config, Config, Upstream};

/// Request header the filter sets to name the upstream cluster.
pub const CLUSTER_HEADER: &str = "x-tollgate-cluster";
/// Extra buffer beyond max_request_bytes so the filter, not Envoy, answers oversize
/// bodies (with an OpenAI-shaped 413) and headers fit too.
pub const BUFFER_HEADROOM_BYTES: u64 = 65_536;
/// Added to the longest configured timeout so Envoy never cuts a call the config allows.
pub const ROUTE_TIMEOUT_HEADROOM_MS: u64 = 5_000;
/// CA bundle used to verify upstream TLS (Debian/Ubuntu path, as in the Envoy images).
pub const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// Response flags of Envoy's own upstream failures, whose local replies get an
/// OpenAI-shaped JSON body. LR (a local reset) is deliberately not among them.
pub const UPSTREAM_FAILURE_FLAGS: [&str; 8] = ["UF", "UH", "URX", "UT", "UC", "UO", "NC", "UR"];

/// Where Envoy listens and where the filter module lives.
#[derive(Debug, Clone)]
pub struct Options {
    /// Listener address.
    pub listen: String,
    /// Listener port.
    pub port: u16,
    /// Admin address.
    pub admin_listen: String,
    /// Admin port (0: Envoy picks).
    pub admin_port: u16,
    /// Absolute path of the wasm module.
    pub wasm: String,
    /// Access log destination (a file path, or /dev/stdout).
    pub access_log: String,
}

/// A validated config and the bootstrap rendered from it.
#[derive(Debug)]
pub struct Rendered {
    /// The loaded config (secrets resolved to placeholders when unset).
    pub config: Config,
    /// The Envoy bootstrap.
    pub bootstrap: Value,
    /// The filter configuration as embedded: compact JSON, references unresolved.
    pub embedded: String,
}

/// Validates `text` against `env` and renders the bootstrap.
pub fn render(
    text: &str,
    opts: &Options,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Rendered, String> {
    let doc = config::parse_document(text).map_err(|e| e.to_string())?;
    secrets::refuse_literal_secrets(&doc)?;
    let refs = Config::env_refs(text).map_err(|e| e.to_string())?;
    let values = secrets::render_env(&refs, env)?;
    let cfg = Config::load(text, &|v| values.get(v).cloned()).map_err(|e| e.to_string())?;
    // Compact JSON of the document as written: comments dropped, references unresolved.
    let embedded = serde_json::to_string(&doc)
        .map_err(|e| format!("config: cannot be expressed as JSON: {e}"))?;
    let env_keys: BTreeSet<&str> = refs
        .iter()
        .map(|r| r.var.as_str())
        .filter(|v| !v.is_empty())
        .collect();
    let bootstrap = bootstrap(&cfg, opts, &embedded, &env_keys);
    Ok(Rendered {
        config: cfg,
        bootstrap,
        embedded,
    })
}

/// Serialises the bootstrap as YAML, with a header naming its source.
pub fn to_yaml(bootstrap: &Value, source: &str) -> Result<String, String> {
    let body = serde_yaml::to_string(bootstrap).map_err(|e| format!("cannot write YAML: {e}"))?;
    Ok(format!(
        "# Envoy bootstrap rendered by `tollgate render` from {source}; edit the config and re-render.\n{body}"
    ))
}

fn bootstrap(cfg: &Config, opts: &Options, embedded: &str, env_keys: &BTreeSet<&str>) -> Value {
    let timeout = duration(route_timeout_ms(cfg));
    json!({
        "admin": {
            "address": socket_address(&opts.admin_listen, opts.admin_port),
        },
        "static_resources": {
            "listeners": [{
                "name": "tollgate",
                "address": socket_address(&opts.listen, opts.port),
                "per_connection_buffer_limit_bytes": buffer_limit(cfg),
                "filter_chains": [{
                    "filters": [{
                        "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": http_connection_manager(cfg, opts, embedded, env_keys, &timeout),
                    }],
                }],
            }],
            "clusters": cfg.upstreams().into_iter().map(cluster).collect::<Vec<_>>(),
        },
        "stats_config": stats_config(),
        "memory_allocator_manager": memory_allocator_manager(),
    })
}

/// Background return of free heap pages to the OS. V8 compiles the filter with
/// TurboFan when it loads and frees the compiler's working memory, but tcmalloc keeps
/// those pages (about 10 MB for tollgate's module) for reuse that never comes; without
/// this an idle gateway holds them for its whole life.
pub fn memory_allocator_manager() -> Value {
    json!({
        "bytes_to_release": RELEASE_BYTES_PER_SECOND,
        "memory_release_interval": "1s",
    })
}

/// At most this much free heap goes back to the OS each second: the start-up surplus
/// is gone in a second or two, and a busy gateway's working set is not churned.
const RELEASE_BYTES_PER_SECOND: u64 = 16 << 20;

/// Tag extraction for the filter's metrics: each `label=value;` part of a
/// tollgate stat name becomes a Prometheus label (see tollgate_core::metrics).
/// Envoy's default tag extractors stay on.
pub fn stats_config() -> Value {
    json!({
        "stats_tags": stats_tags(),
        "use_all_default_tags": true,
    })
}

/// The `stats_tags` entries alone (Istio's proxy config takes the same list).
pub fn stats_tags() -> Value {
    tollgate_core::metrics::stats_tags()
        .into_iter()
        .map(|(name, regex)| json!({"tag_name": name, "regex": regex}))
        .collect()
}

/// One JSON line per request; `spend` is the filter's spend record (filter state
/// `wasm.tollgate_spend`), so a log pipeline can rebuild spend across restarts.
fn access_log(path: &str) -> Value {
    json!({
        "name": "envoy.access_loggers.file",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
            "path": path,
            "log_format": {"json_format": {
                "time": "%START_TIME%",
                "request_id": "%REQ(X-REQUEST-ID)%",
                "method": "%REQ(:METHOD)%",
                "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
                "status": "%RESPONSE_CODE%",
                "duration_ms": "%DURATION%",
                // Time to the upstream's first response byte.
                "ttfb_ms": "%RESPONSE_DURATION%",
                "upstream_cluster": "%UPSTREAM_CLUSTER%",
                "upstream_host": "%UPSTREAM_HOST%",
                // Envoy's own tries of the routed attempt (its retries of a lone deployment).
                "upstream_attempts": "%UPSTREAM_REQUEST_ATTEMPT_COUNT%",
                "response_flags": "%RESPONSE_FLAGS%",
                "response_code_details": "%RESPONSE_CODE_DETAILS%",
                "bytes_received": "%BYTES_RECEIVED%",
                "bytes_sent": "%BYTES_SENT%",
                "user_agent": "%REQ(USER-AGENT)%",
                "spend": "%FILTER_STATE(wasm.tollgate_spend:PLAIN)%",
            }},
        },
    })
}

fn http_connection_manager(
    cfg: &Config,
    opts: &Options,
    embedded: &str,
    env_keys: &BTreeSet<&str>,
    timeout: &str,
) -> Value {
    json!({
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "tollgate",
        "codec_type": "AUTO",
        // Envoy's 5 min default would cut a slow non-streaming completion mid-wait.
        "stream_idle_timeout": timeout,
        // Bounds receiving the whole request (headers and body); disarmed once the
        // request is on its way upstream, so long answers are not affected. Without
        // it a client that stops mid-body holds its stream for stream_idle_timeout.
        "request_timeout": duration(cfg.request_receive_timeout_ms),
        "access_log": [access_log(&opts.access_log)],
        "route_config": {
            "name": "tollgate",
            "virtual_hosts": [{
                "name": "tollgate",
                "domains": ["*"],
                // The filter reports Envoy's own retries in x-litellm-attempted-retries.
                "include_attempt_count_in_response": true,
                "routes": [
                    {
                        "match": {
                            "prefix": "/",
                            "headers": [{"name": CLUSTER_HEADER, "present_match": true}],
                        },
                        // Envoy's 15 s default route timeout would kill long LLM calls.
                        "route": {
                            "cluster_header": CLUSTER_HEADER,
                            "timeout": timeout,
                            "retry_policy": retry_policy(),
                        },
                    },
                    {
                        "match": {"prefix": "/"},
                        "direct_response": {
                            "status": 404,
                            "body": {"inline_string": openai_error("no route", "invalid_request_error", "not_found").to_string()},
                        },
                        "response_headers_to_add": [{
                            "header": {"key": "content-type", "value": "application/json"},
                            "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                        }],
                    },
                ],
            }],
        },
        "local_reply_config": local_reply_config(),
        "http_filters": [
            wasm_filter(opts, embedded, env_keys),
            {
                "name": "envoy.filters.http.router",
                "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
            },
        ],
    })
}

/// Backoff for the retries the filter asks of Envoy (per request, with
/// x-envoy-max-retries and x-envoy-retry-on, only when a group has no other usable
/// deployment): exponential with full jitter from 0.5 s, or the provider's
/// retry-after when it sends one.
pub fn retry_policy() -> Value {
    json!({
        "retry_back_off": {"base_interval": "0.5s", "max_interval": "8s"},
        "rate_limited_retry_back_off": {
            "reset_headers": [{"name": "retry-after", "format": "SECONDS"}],
            "max_interval": "30s",
        },
    })
}

/// Envoy's own upstream failures (connect refused, reset, timeout, overflow, unknown
/// cluster) get OpenAI-shaped bodies; there is deliberately no top-level
/// body_format, which would also rewrite the filter's own JSON replies.
fn local_reply_config() -> Value {
    let no_cluster = format!(
        "cluster %REQ({CLUSTER_HEADER})% is not in this Envoy bootstrap; re-render it from the current config"
    );
    json!({
        "mappers": [
            // Envoy's reply body is empty here; say what is most likely wrong.
            mapper(&["NC"], &no_cluster),
            mapper(&UPSTREAM_FAILURE_FLAGS, "%LOCAL_REPLY_BODY%"),
            // The request did not arrive in time (request_timeout, or the stream
            // went idle while the body was being sent).
            client_mapper(
                "response.code == 408",
                "The complete request was not received in time (%RESPONSE_CODE_DETAILS%); \
                 the limit is general_settings.request_receive_timeout",
                "request_timeout",
            ),
            // The HTTP codec refused the request (headers too large, invalid
            // characters such as NUL in a header): no filter ran.
            client_mapper(
                CODEC_ERROR,
                "%LOCAL_REPLY_BODY% (%RESPONSE_CODE_DETAILS%)",
                "%RESPONSE_CODE_DETAILS%",
            ),
        ],
    })
}

/// Envoy's own replies to requests its HTTP codec refused.
pub const CODEC_ERROR: &str =
    r#"response.code_details.startsWith("http1.") || response.code_details.startsWith("http2.")"#;

/// A local reply Envoy makes for a client's fault, as an OpenAI invalid_request_error.
fn client_mapper(condition: &str, message: &str, code: &str) -> Value {
    json!({
        "filter": {"extension_filter": {
            "name": "envoy.access_loggers.extension_filters.cel",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter",
                "expression": format!("({condition}) && {NOT_FILTER_REPLY}"),
            },
        }},
        "body_format_override": {
            "json_format": openai_error(message, "invalid_request_error", code),
        },
    })
}

/// Excludes the filter's own local replies: once an upstream attempt failed, the
/// response flag stays set, so without this a failover answer sent by the filter
/// (200 or its own JSON error) would be rewritten too. Envoy always gives its
/// replies response code details; proxy-wasm replies have none (or, if the filter
/// ever sets them, a `tollgate` prefix).
pub const NOT_FILTER_REPLY: &str =
    r#"response.code_details != "" && !response.code_details.startsWith("tollgate")"#;

fn mapper(flags: &[&str], message: &str) -> Value {
    json!({
        "filter": {"and_filter": {"filters": [
            {"response_flag_filter": {"flags": flags}},
            {"extension_filter": {
                "name": "envoy.access_loggers.extension_filters.cel",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter",
                    "expression": NOT_FILTER_REPLY,
                },
            }},
        ]}},
        "body_format_override": {
            "json_format": openai_error(message, "upstream_error", "%RESPONSE_CODE%"),
        },
    })
}

fn openai_error(message: &str, kind: &str, code: &str) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

fn wasm_filter(opts: &Options, embedded: &str, env_keys: &BTreeSet<&str>) -> Value {
    let mut vm_config = json!({
        "vm_id": "tollgate",
        "runtime": "envoy.wasm.runtime.v8",
        "code": {"local": {"filename": opts.wasm}},
    });
    if !env_keys.is_empty() {
        // Secrets stay in Envoy's process environment; only their names are written here.
        vm_config["environment_variables"] = json!({"host_env_keys": env_keys});
    }
    json!({
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": "tollgate",
                "root_id": "tollgate",
                // Without it, pausing in on_http_request_headers stalls the request.
                "allow_on_headers_stop_iteration": true,
                // A VM that fails is replaced on the next request instead of failing
                // every request from then on; the failed request itself is refused
                // (never passed unauthenticated), and shared data (keys, counters,
                // spend) outlives the VM.
                "failure_policy": "FAIL_RELOAD",
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": embedded,
                },
                "vm_config": vm_config,
            },
        },
    })
}

/// The Envoy cluster for one upstream (also added to Istio gateways for failover callouts).
pub fn cluster(u: &Upstream) -> Value {
    let mut c = json!({
        "name": u.cluster,
        "connect_timeout": "10s",
        "type": if u.is_ip() { "STATIC" } else { "STRICT_DNS" },
        "lb_policy": "ROUND_ROBIN",
        "load_assignment": {
            "cluster_name": u.cluster,
            "endpoints": [{
                "lb_endpoints": [{"endpoint": {"address": socket_address(&u.host, u.port)}}],
            }],
        },
    });
    if !u.is_ip() {
        c["dns_lookup_family"] = json!("V4_PREFERRED");
    }
    if u.tls {
        c["transport_socket"] = tls_transport_socket(u);
    }
    c
}

fn tls_transport_socket(u: &Upstream) -> Value {
    // Chain validation alone accepts any trusted certificate; the SAN match pins the host.
    let (san_type, sni) = if u.is_ip() {
        ("IP_ADDRESS", None)
    } else {
        ("DNS", Some(u.host.as_str()))
    };
    let mut ctx = json!({
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        "common_tls_context": {
            "validation_context": {
                "trusted_ca": {"filename": CA_BUNDLE},
                "match_typed_subject_alt_names": [{"san_type": san_type, "matcher": {"exact": u.host}}],
            },
        },
    });
    if let Some(sni) = sni {
        ctx["sni"] = json!(sni);
    }
    json!({"name": "envoy.transport_sockets.tls", "typed_config": ctx})
}

fn socket_address(address: &str, port: u16) -> Value {
    json!({"socket_address": {"address": address, "port_value": port}})
}

/// Translated non-streamed answers (a large embeddings batch, say) are buffered
/// whole in the response direction, which the same listener limit bounds.
pub const MIN_BUFFER_BYTES: u64 = 16 * 1024 * 1024;

/// Listener buffer limit: the config's body limit plus headroom (the filter, not
/// Envoy, refuses oversize requests), at least [`MIN_BUFFER_BYTES`], capped to the proto's u32.
pub fn buffer_limit(cfg: &Config) -> u64 {
    (cfg.max_request_bytes as u64 + BUFFER_HEADROOM_BYTES)
        .max(MIN_BUFFER_BYTES)
        .min(u64::from(u32::MAX))
}

/// The longest timeout any deployment may use, plus headroom.
pub fn route_timeout_ms(cfg: &Config) -> u64 {
    let longest = cfg
        .deployments
        .iter()
        .flat_map(|d| [d.timeout_ms, d.stream_timeout_ms])
        .fold(cfg.timeout_ms, u64::max);
    longest + ROUTE_TIMEOUT_HEADROOM_MS
}

/// Protobuf JSON duration ("605s", "1.500s").
pub fn duration(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{}.{:03}s", ms / 1000, ms % 1000)
    }
}

#[cfg(test)]
mod tests;
