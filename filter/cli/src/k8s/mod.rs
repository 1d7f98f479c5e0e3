//! `render --target k8s`: the gateway as plain Kubernetes objects.
//!
//! One multi-document stream, in this order: ConfigMap (config.yaml and the Envoy
//! bootstrap), Deployment, Service, PodDisruptionBudget, HorizontalPodAutoscaler. The
//! namespace is assumed to exist, and the Secret with the credentials is created by
//! the operator (a template is available, never values).

mod deployment;
mod stats;

pub use stats::STATS_PATH;

use crate::manifest::{self, EnvPlan};
use crate::render;
use serde_json::{json, Value};
use tollgate_core::config;

/// Envoy admin port, on loopback only.
pub const ADMIN_PORT: u16 = 9901;
/// Port of the listener that serves `/stats/prometheus` to the cluster.
pub const STATS_PORT: u16 = 9902;
/// Where the init container puts the filter module.
pub const WASM_DIR: &str = "/etc/tollgate/wasm";
/// The module path the bootstrap names.
pub const WASM_PATH: &str = "/etc/tollgate/wasm/tollgate.wasm";
/// ConfigMap keys, each mounted as /etc/tollgate/KEY.
pub const CONFIG_MAP_KEYS: [&str; 2] = ["config.yaml", "envoy.yaml"];
/// Average CPU utilisation the HPA keeps the pods at.
pub const CPU_TARGET_PERCENT: u32 = 70;

/// What the manifests are made of.
#[derive(Debug, Clone)]
pub struct Options {
    /// Namespace of every object.
    pub namespace: String,
    /// Base name of every object.
    pub name: String,
    /// Listener, container and Service port.
    pub port: u16,
    /// Envoy image.
    pub envoy_image: String,
    /// Image holding /tollgate.wasm.
    pub wasm_image: String,
    /// HPA minimum.
    pub replicas: u32,
    /// HPA maximum.
    pub max_replicas: u32,
    /// Graceful drain on shutdown, seconds.
    pub drain_seconds: u32,
    /// Config file name, for the header.
    pub source: String,
}

/// The rendered manifests and the Secret template.
#[derive(Debug)]
pub struct Output {
    /// The multi-document YAML.
    pub yaml: String,
    /// A Secret with the keys to fill in (empty values).
    pub secret_template: String,
    /// The loaded config, for the summary line.
    pub config: tollgate_core::Config,
}

/// Name of the ConfigMap holding config.yaml and envoy.yaml.
pub fn config_map_name(name: &str) -> String {
    format!("{name}-config")
}

/// Validates `text` against `env` and renders the manifests.
pub fn render(
    text: &str,
    o: &Options,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Output, String> {
    let opts = render::Options {
        listen: "0.0.0.0".into(),
        port: o.port,
        admin_listen: "127.0.0.1".into(),
        admin_port: ADMIN_PORT,
        wasm: WASM_PATH.into(),
        access_log: "/dev/stdout".into(),
    };
    let mut rendered = render::render(text, &opts, env)?;
    stats::expose(&mut rendered.bootstrap, STATS_PORT, ADMIN_PORT)?;
    let plan = manifest::env_plan(text, env)?;
    let bootstrap = serde_yaml::to_string(&rendered.bootstrap)
        .map_err(|e| format!("cannot write YAML: {e}"))?;
    // The config as the filter reads it: comments dropped, references unresolved.
    let doc = config::parse_document(text).map_err(|e| e.to_string())?;
    let config_yaml = serde_yaml::to_string(&doc).map_err(|e| format!("cannot write YAML: {e}"))?;
    let checksum = manifest::sha256_hex(format!("{config_yaml}\n{bootstrap}").as_bytes());
    let docs = [
        config_map(o, &config_yaml, &bootstrap),
        deployment::deployment(o, &plan, &checksum),
        service(o),
        disruption_budget(o),
        autoscaler(o),
    ];
    let yaml = manifest::documents(&header(o, &plan), &docs)?;
    let template = manifest::documents(
        &[
            format!(
                "Fill in and apply before the Deployment: kubectl apply -f FILE (never commit values). Rendered from {}.",
                o.source
            ),
        ],
        &[manifest::secret_template(&o.name, &o.namespace, &plan.secret)],
    )?;
    Ok(Output {
        yaml,
        secret_template: template,
        config: rendered.config,
    })
}

fn header(o: &Options, plan: &EnvPlan) -> Vec<String> {
    let mut h = vec![
        format!(
            "tollgate {} on Kubernetes: `tollgate render {} --target k8s`. Re-render after",
            manifest::VERSION,
            o.source
        ),
        "editing the config instead of editing this file.".into(),
        format!(
            "Namespace {:?} must exist. Envoy admin stays on 127.0.0.1:{ADMIN_PORT}; Prometheus",
            o.namespace
        ),
        format!("scrapes {STATS_PATH} on port {STATS_PORT} (pod annotations)."),
    ];
    if !plan.secret.is_empty() {
        h.push(format!(
            "The pods read {} from Secret {:?}; create it first:",
            plan.secret.join(", "),
            manifest::secret_name(&o.name)
        ));
        h.push(format!(
            "  {}",
            manifest::create_secret_hint(&o.name, &o.namespace, &plan.secret)
        ));
    }
    h
}

fn config_map(o: &Options, config_yaml: &str, bootstrap: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": manifest::metadata(&config_map_name(&o.name), &o.namespace, &o.name),
        "data": {
            CONFIG_MAP_KEYS[0]: config_yaml,
            CONFIG_MAP_KEYS[1]: bootstrap,
        },
    })
}

fn service(o: &Options) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": manifest::metadata(&o.name, &o.namespace, &o.name),
        "spec": {
            "type": "ClusterIP",
            "selector": manifest::selector_labels(&o.name),
            "ports": [{
                "name": "http",
                "port": o.port,
                "targetPort": "http",
                "protocol": "TCP",
                "appProtocol": "http",
            }],
        },
    })
}

fn disruption_budget(o: &Options) -> Value {
    json!({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": manifest::metadata(&o.name, &o.namespace, &o.name),
        "spec": {
            "minAvailable": 1,
            "selector": {"matchLabels": manifest::selector_labels(&o.name)},
        },
    })
}

fn autoscaler(o: &Options) -> Value {
    json!({
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": manifest::metadata(&o.name, &o.namespace, &o.name),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": o.name},
            "minReplicas": o.replicas,
            "maxReplicas": o.max_replicas,
            "metrics": [{
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": CPU_TARGET_PERCENT},
                },
            }],
        },
    })
}

#[cfg(test)]
mod tests;
