//! The Deployment: Envoy with the rendered bootstrap, the filter module copied in by
//! an init container, secrets from a Secret, probes on the filter's health routes and
//! a graceful drain on shutdown.

use super::{Options, ADMIN_PORT, CONFIG_MAP_KEYS, STATS_PORT, WASM_DIR};
use crate::manifest::{self, EnvPlan};
use serde_json::{json, Value};

/// The filter module inside the wasm image (see deploy/Dockerfile, stage `wasm`).
pub const IMAGE_WASM: &str = "/tollgate.wasm";
/// Non-root user and group the containers run as (the Envoy image's `envoy` user).
pub const RUN_AS: u32 = 101;
/// Envoy worker threads. Envoy's default is one per core of the node, not of the pod,
/// and every worker runs its own wasm VM with its own copy of the config.
pub const CONCURRENCY: u32 = 2;
/// Seconds the preStop hook waits beyond the drain so endpoint removal has propagated.
pub const DEREGISTER_SECONDS: u32 = 5;
/// Seconds of grace after the preStop hook for Envoy to exit on SIGTERM.
pub const EXIT_SECONDS: u32 = 10;

/// The Deployment; `config_sha256` goes into a pod annotation so that a config change
/// rolls the pods (subPath mounts of a ConfigMap are not updated in place).
pub fn deployment(o: &Options, env: &EnvPlan, config_sha256: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": manifest::metadata(&o.name, &o.namespace, &o.name),
        "spec": {
            // No spec.replicas: the HPA owns the count, and re-applying this file must
            // not scale a busy gateway back down to the minimum.
            "selector": {"matchLabels": manifest::selector_labels(&o.name)},
            // Surge first: capacity never drops below the current count during a rollout.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {
                    "labels": manifest::labels(&o.name),
                    "annotations": {
                        "checksum/config": config_sha256,
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": STATS_PORT.to_string(),
                        "prometheus.io/path": super::stats::STATS_PATH,
                    },
                },
                "spec": pod_spec(o, env),
            },
        },
    })
}

fn pod_spec(o: &Options, env: &EnvPlan) -> Value {
    json!({
        "automountServiceAccountToken": false,
        "terminationGracePeriodSeconds": o.drain_seconds + DEREGISTER_SECONDS + EXIT_SECONDS,
        "securityContext": {
            "runAsNonRoot": true,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "fsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "initContainers": [{
            "name": "wasm",
            "image": o.wasm_image,
            "command": ["cp", IMAGE_WASM, format!("{WASM_DIR}/tollgate.wasm")],
            "securityContext": container_security(),
            "resources": {
                "requests": {"cpu": "10m", "memory": "16Mi"},
                "limits": {"cpu": "100m", "memory": "64Mi"},
            },
            "volumeMounts": [{"name": "wasm", "mountPath": WASM_DIR}],
        }],
        "containers": [envoy_container(o, env)],
        "volumes": [
            {"name": "config", "configMap": {"name": super::config_map_name(&o.name)}},
            {"name": "wasm", "emptyDir": {"sizeLimit": "64Mi"}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
        ],
    })
}

fn envoy_container(o: &Options, env: &EnvPlan) -> Value {
    let drain = o.drain_seconds.to_string();
    json!({
        "name": "envoy",
        "image": o.envoy_image,
        // `command`, not `args`: the image's entrypoint script would otherwise try to
        // switch users, which a non-root container cannot do.
        "command": [
            "envoy", "-c", "/etc/tollgate/envoy.yaml",
            "--disable-hot-restart",
            "--concurrency", CONCURRENCY.to_string(),
            "--drain-time-s", drain,
            // A pod that is going away should shed every keep-alive connection at once.
            "--drain-strategy", "immediate",
            "--file-flush-interval-msec", "1000",
        ],
        "ports": [
            {"name": "http", "containerPort": o.port, "protocol": "TCP"},
            {"name": "stats", "containerPort": STATS_PORT, "protocol": "TCP"},
        ],
        "env": env_vars(&o.name, env),
        "readinessProbe": {
            "httpGet": {"path": "/health/readiness", "port": "http"},
            "periodSeconds": 5,
            "timeoutSeconds": 2,
            "failureThreshold": 2,
        },
        "livenessProbe": {
            "httpGet": {"path": "/health/liveliness", "port": "http"},
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        "lifecycle": {"preStop": {"exec": {"command": ["/bin/bash", "-c", pre_stop(o.drain_seconds)]}}},
        "resources": {
            "requests": {"cpu": "250m", "memory": "256Mi"},
            "limits": {"cpu": CONCURRENCY.to_string(), "memory": "1Gi"},
        },
        "securityContext": container_security(),
        "volumeMounts": volume_mounts(),
    })
}

/// Starts Envoy's graceful drain through the loopback admin port, then waits for the
/// drain and for the pod's endpoint removal to reach every client before SIGTERM.
/// bash's /dev/tcp stands in for curl, which the Envoy image does not ship (HTTP/1.1:
/// Envoy refuses HTTP/1.0 by default); the sleep runs even if the drain request fails.
pub fn pre_stop(drain_seconds: u32) -> String {
    format!(
        "exec 3<>/dev/tcp/127.0.0.1/{ADMIN_PORT} && \
         printf 'POST /drain_listeners?graceful HTTP/1.1\\r\\nHost: localhost\\r\\n\
         Connection: close\\r\\nContent-Length: 0\\r\\n\\r\\n' >&3 && \
         read -r -t 5 _ <&3; sleep {}",
        drain_seconds + DEREGISTER_SECONDS
    )
}

fn env_vars(name: &str, env: &EnvPlan) -> Vec<Value> {
    let secret = manifest::secret_name(name);
    let mut vars: Vec<(String, Value)> = env
        .secret
        .iter()
        .map(|k| {
            let from = json!({"secretKeyRef": {"name": secret, "key": k}});
            (k.clone(), json!({"name": k, "valueFrom": from}))
        })
        .collect();
    vars.extend(
        env.inline
            .iter()
            .map(|(k, v)| (k.clone(), json!({"name": k, "value": v}))),
    );
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars.into_iter().map(|(_, v)| v).collect()
}

fn volume_mounts() -> Vec<Value> {
    let mut mounts: Vec<Value> = CONFIG_MAP_KEYS
        .iter()
        .map(|key| {
            json!({"name": "config", "mountPath": format!("/etc/tollgate/{key}"), "subPath": key, "readOnly": true})
        })
        .collect();
    mounts.push(json!({"name": "wasm", "mountPath": WASM_DIR, "readOnly": true}));
    // Envoy writes nothing, but a writable /tmp costs nothing next to a read-only root.
    mounts.push(json!({"name": "tmp", "mountPath": "/tmp"}));
    mounts
}

fn container_security() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "runAsNonRoot": true,
        "capabilities": {"drop": ["ALL"]},
    })
}
