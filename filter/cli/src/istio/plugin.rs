//! Installing the filter on the gateway.
//!
//! The filter needs `allow_on_headers_stop_iteration: true` in its PluginConfig, and
//! neither WasmPlugin nor TrafficExtension exposes that field. istiod builds each
//! WasmPlugin's ECDS resource (named `extensions.istio.io/wasmplugin/<ns>.<name>`)
//! itself and applies only ADD patches of EnvoyFilter EXTENSION_CONFIG, matched by
//! name (pilot/pkg/networking/core/envoyfilter/extension_configuration_patch.go), so
//! a MERGE patch cannot add the field to a WasmPlugin's config. Hence the default:
//! - [`IstioPlugin::EnvoyFilter`]: one EnvoyFilter that ADDs the complete Wasm
//!   extension config (flag included) and an HTTP filter using it through ECDS, at
//!   the AUTHN position a WasmPlugin with phase AUTHN would take. istio-agent still
//!   fetches the module (oci:// or http(s)://) and rewrites it to a local file, as it
//!   does for every remote Wasm ECDS resource.
//! - [`IstioPlugin::WasmPlugin`]: a WasmPlugin plus the EXTENSION_CONFIG MERGE patch,
//!   for an Istio that applies it or exposes the field; with istiod as published it
//!   is a no-op and requests with a body stall.

use super::{selector_labels, Options};
use crate::args::IstioPlugin;
use crate::manifest::{self, EnvPlan};
use crate::render::{self, Rendered};
use serde_json::{json, Value};

/// Envoy's Wasm HTTP filter config type.
pub const WASM_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
/// The root id the filter's root context answers to (as in the bootstrap).
pub const ROOT_ID: &str = "tollgate";
/// Printed when the WasmPlugin variant is rendered.
pub const WASMPLUGIN_WARNING: &str = "--plugin wasmplugin: Istio does not apply EXTENSION_CONFIG MERGE patches, so allow_on_headers_stop_iteration stays unset and requests with a body stall; use the default --plugin envoyfilter unless your Istio applies it";

/// The filter's resources for the chosen variant.
pub fn resources(o: &Options, r: &Rendered, env: &EnvPlan) -> Result<Vec<Value>, String> {
    Ok(match o.plugin {
        IstioPlugin::EnvoyFilter => vec![plugin_envoy_filter(o, r, env)],
        IstioPlugin::WasmPlugin => vec![wasm_plugin(o, r, env)?, merge_envoy_filter(o, r)],
    })
}

/// ECDS name of the extension the EnvoyFilter adds: namespace-qualified, as Istio's
/// EnvoyFilter documentation recommends, so it cannot collide with other namespaces'.
pub fn ecds_name(o: &Options) -> String {
    format!("{}/{}", o.namespace, o.name)
}

/// ECDS name istiod gives a WasmPlugin.
pub fn wasmplugin_ecds_name(o: &Options) -> String {
    format!("extensions.istio.io/wasmplugin/{}.{}", o.namespace, o.name)
}

/// The Wasm filter config: the same plugin settings as the bootstrap's.
pub fn wasm_config(o: &Options, r: &Rendered, env: &EnvPlan) -> Value {
    let code = match o.wasm_url.strip_prefix("file://") {
        Some(path) => json!({"local": {"filename": path}}),
        // istio-agent downloads it and hands Envoy a local file; the cluster is a
        // placeholder Envoy's schema requires (Istio writes the same for WasmPlugins).
        None => {
            json!({"remote": {"http_uri": {"uri": o.wasm_url, "cluster": "_", "timeout": "30s"}}})
        }
    };
    let mut vm = json!({
        "vm_id": ROOT_ID,
        "runtime": "envoy.wasm.runtime.v8",
        "code": code,
    });
    let mut vars = json!({});
    if !env.secret.is_empty() {
        // Read from the gateway container's environment; only the names are here.
        vars["host_env_keys"] = json!(env.secret);
    }
    if !env.inline.is_empty() {
        vars["key_values"] = Value::Object(
            env.inline
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        );
    }
    if vars != json!({}) {
        vm["environment_variables"] = vars;
    }
    json!({
        "@type": WASM_TYPE,
        "config": {
            "name": o.name,
            "root_id": ROOT_ID,
            // Without it, pausing in on_http_request_headers stalls the request.
            "allow_on_headers_stop_iteration": true,
            "failure_policy": "FAIL_CLOSED",
            "configuration": {
                "@type": "type.googleapis.com/google.protobuf.StringValue",
                "value": r.embedded,
            },
            "vm_config": vm,
        },
    })
}

fn plugin_envoy_filter(o: &Options, r: &Rendered, env: &EnvPlan) -> Value {
    let name = ecds_name(o);
    json!({
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "EnvoyFilter",
        "metadata": manifest::metadata(&o.name, &o.namespace, &o.name),
        "spec": {
            "workloadSelector": {"labels": selector_labels(o)},
            "configPatches": [
                {
                    "applyTo": "EXTENSION_CONFIG",
                    "patch": {
                        "operation": "ADD",
                        "value": {"name": name, "typed_config": wasm_config(o, r, env)},
                    },
                },
                {
                    "applyTo": "HTTP_FILTER",
                    "match": {
                        "context": "GATEWAY",
                        "listener": {"filterChain": {"filter": {"name": "envoy.filters.network.http_connection_manager"}}},
                    },
                    "patch": {
                        "operation": "ADD",
                        "filterClass": "AUTHN",
                        "value": {
                            "name": name,
                            "config_discovery": {
                                // As Istio does for WasmPlugins: no listener warming wait;
                                // requests fail closed until the module has arrived.
                                "config_source": {"ads": {}, "initial_fetch_timeout": "0s", "resource_api_version": "V3"},
                                "type_urls": [WASM_TYPE],
                            },
                        },
                    },
                },
                buffer_patch(r),
            ],
        },
    })
}

/// Raises the gateway listeners' buffer limit to the bootstrap's, so the filter, not
/// Envoy, answers an oversize body (Envoy's 1 MiB default would 413 it first).
fn buffer_patch(r: &Rendered) -> Value {
    json!({
        "applyTo": "LISTENER",
        "match": {"context": "GATEWAY"},
        "patch": {
            "operation": "MERGE",
            "value": {"per_connection_buffer_limit_bytes": render::buffer_limit(&r.config)},
        },
    })
}

fn wasm_plugin(o: &Options, r: &Rendered, env: &EnvPlan) -> Result<Value, String> {
    let mut vars: Vec<Value> = env
        .secret
        .iter()
        .map(|k| json!({"name": k, "valueFrom": "HOST"}))
        .collect();
    vars.extend(
        env.inline
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v, "valueFrom": "INLINE"})),
    );
    let config: Value = serde_json::from_str(&r.embedded)
        .map_err(|e| format!("config: cannot be expressed as JSON: {e}"))?;
    let mut spec = json!({
        "selector": {"matchLabels": selector_labels(o)},
        "url": o.wasm_url,
        "pluginName": ROOT_ID,
        "type": "HTTP",
        "phase": "AUTHN",
        "failStrategy": "FAIL_CLOSE",
        "pluginConfig": config,
    });
    if !vars.is_empty() {
        spec["vmConfig"] = json!({"env": vars});
    }
    Ok(json!({
        "apiVersion": "extensions.istio.io/v1alpha1",
        "kind": "WasmPlugin",
        "metadata": manifest::metadata(&o.name, &o.namespace, &o.name),
        "spec": spec,
    }))
}

fn merge_envoy_filter(o: &Options, r: &Rendered) -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "EnvoyFilter",
        "metadata": manifest::metadata(&format!("{}-stop-iteration", o.name), &o.namespace, &o.name),
        "spec": {
            "workloadSelector": {"labels": selector_labels(o)},
            "configPatches": [
                {
                    "applyTo": "EXTENSION_CONFIG",
                    "match": {"context": "GATEWAY"},
                    "patch": {
                        "operation": "MERGE",
                        "value": {
                            "name": wasmplugin_ecds_name(o),
                            "typed_config": {"@type": WASM_TYPE, "config": {"allow_on_headers_stop_iteration": true}},
                        },
                    },
                },
                buffer_patch(r),
            ],
        },
    })
}

/// Header lines of the Istio output.
pub fn header(o: &Options, env: &EnvPlan) -> Vec<String> {
    let labels: Vec<String> = o.selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut h = vec![
        format!(
            "tollgate {} on Istio: `tollgate render {} --target istio`. Re-render after editing",
            manifest::VERSION,
            o.source
        ),
        "the config instead of editing this file.".into(),
        format!(
            "Apply in namespace {:?}, where the gateway pods ({}) run. Their proxy must be",
            o.namespace,
            labels.join(",")
        ),
        "Envoy 1.35 or newer (allow_on_headers_stop_iteration); see docs/deploy.md.".into(),
    ];
    if o.plugin == IstioPlugin::WasmPlugin {
        h.push(format!("WARNING: {WASMPLUGIN_WARNING}."));
    }
    h.push(format!(
        "Metric labels: annotate the gateway pods with {}: {} (docs/metrics.md).",
        super::BOOTSTRAP_OVERRIDE_ANNOTATION,
        super::stats_bootstrap_name(o)
    ));
    if !env.secret.is_empty() {
        h.push(format!(
            "The gateway pods need {} in their environment, from Secret {:?}:",
            env.secret.join(", "),
            manifest::secret_name(&o.name)
        ));
        h.push(format!(
            "  {}",
            manifest::create_secret_hint(&o.name, &o.namespace, &env.secret)
        ));
        h.push(format!(
            "  kubectl -n {} set env deployment/GATEWAY --from=secret/{}",
            o.namespace,
            manifest::secret_name(&o.name)
        ));
    }
    h
}
