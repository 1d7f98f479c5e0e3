use super::*;
use serde::Deserialize;
use serde_json::Value;

const CONFIG: &str = "\
# comment that must not reach the cluster
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY}
  - model_name: local
    litellm_params: {model: openai/llama, api_base: os.environ/LOCAL_BASE}
general_settings:
  master_key: os.environ/TOLLGATE_MASTER_KEY
";

fn env(var: &str) -> Option<String> {
    match var {
        "OPENAI_API_KEY" => Some("sk-openai-SECRET".into()),
        "TOLLGATE_MASTER_KEY" => Some("sk-master-SECRET".into()),
        "LOCAL_BASE" => Some("http://vllm.internal:8000/v1".into()),
        _ => None,
    }
}

fn opts() -> Options {
    Options {
        namespace: "llm".into(),
        name: "gw".into(),
        port: 4000,
        envoy_image: "envoyproxy/envoy:v1.40-latest".into(),
        wasm_image: "tollgate/filter-wasm:test".into(),
        replicas: 2,
        max_replicas: 10,
        drain_seconds: 20,
        source: "config.yaml".into(),
    }
}

fn docs(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| Value::deserialize(d).unwrap())
        .collect()
}

fn rendered() -> (Vec<Value>, Output) {
    let out = render(CONFIG, &opts(), &env).unwrap();
    (docs(&out.yaml), out)
}

fn bootstrap(d: &[Value]) -> Value {
    serde_yaml::from_str(d[0]["data"]["envoy.yaml"].as_str().unwrap()).unwrap()
}

fn container(d: &[Value]) -> &Value {
    &d[1]["spec"]["template"]["spec"]["containers"][0]
}

#[test]
fn documents_in_a_fixed_order_in_one_namespace() {
    let (d, _) = rendered();
    let kinds: Vec<&str> = d.iter().map(|x| x["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "ConfigMap",
            "Deployment",
            "Service",
            "PodDisruptionBudget",
            "HorizontalPodAutoscaler"
        ]
    );
    for x in &d {
        assert_eq!(x["metadata"]["namespace"], "llm");
        assert_eq!(x["metadata"]["labels"]["app.kubernetes.io/instance"], "gw");
    }
    assert_eq!(d[0]["metadata"]["name"], "gw-config");
}

#[test]
fn config_map_holds_normalized_config_and_bootstrap() {
    let (d, _) = rendered();
    let config = d[0]["data"]["config.yaml"].as_str().unwrap();
    assert!(!config.contains("comment"));
    assert!(config.contains("os.environ/OPENAI_API_KEY"));
    assert!(config.contains("os.environ/LOCAL_BASE"));
    let b = bootstrap(&d);
    assert_eq!(
        b["admin"]["address"]["socket_address"],
        json!({"address": "127.0.0.1", "port_value": 9901})
    );
    let listeners = b["static_resources"]["listeners"].as_array().unwrap();
    assert_eq!(
        listeners[0]["address"]["socket_address"],
        json!({"address": "0.0.0.0", "port_value": 4000})
    );
    let hcm = &listeners[0]["filter_chains"][0]["filters"][0]["typed_config"];
    let wasm = &hcm["http_filters"][0]["typed_config"]["config"];
    assert_eq!(wasm["vm_config"]["code"]["local"]["filename"], WASM_PATH);
    assert_eq!(wasm["allow_on_headers_stop_iteration"], true);
    assert_eq!(hcm["access_log"][0]["typed_config"]["path"], "/dev/stdout");
}

#[test]
fn stats_listener_reaches_only_prometheus_stats_on_admin() {
    let (d, _) = rendered();
    let b = bootstrap(&d);
    let listeners = b["static_resources"]["listeners"].as_array().unwrap();
    assert_eq!(listeners.len(), 2);
    let stats = &listeners[1];
    assert_eq!(stats["address"]["socket_address"]["port_value"], STATS_PORT);
    let routes = &stats["filter_chains"][0]["filters"][0]["typed_config"]["route_config"]
        ["virtual_hosts"][0]["routes"];
    assert_eq!(routes[0]["match"]["path"], STATS_PATH);
    assert_eq!(routes[0]["route"]["cluster"], stats::ADMIN_CLUSTER);
    assert_eq!(routes[1]["direct_response"]["status"], 404);
    let admin = b["static_resources"]["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == stats::ADMIN_CLUSTER)
        .unwrap();
    assert_eq!(
        admin["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
            ["socket_address"],
        json!({"address": "127.0.0.1", "port_value": ADMIN_PORT})
    );
    // The main listener refuses to route to the admin cluster before anything else.
    let main = &listeners[0]["filter_chains"][0]["filters"][0]["typed_config"]["route_config"]
        ["virtual_hosts"][0]["routes"][0];
    assert_eq!(
        main["match"]["headers"][0]["string_match"]["exact"],
        stats::ADMIN_CLUSTER
    );
    assert_eq!(main["direct_response"]["status"], 404);
}

#[test]
fn deployment_runs_envoy_with_module_secrets_and_probes() {
    let (d, _) = rendered();
    let spec = &d[1]["spec"];
    assert!(spec.get("replicas").is_none(), "the HPA owns replicas");
    let c = container(&d);
    assert_eq!(c["image"], "envoyproxy/envoy:v1.40-latest");
    let cmd: Vec<&str> = c["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        cmd[..4],
        [
            "envoy",
            "-c",
            "/etc/tollgate/envoy.yaml",
            "--disable-hot-restart"
        ]
    );
    let joined = cmd.join(" ");
    assert!(joined.contains("--drain-time-s 20"), "{joined}");
    assert!(
        joined.contains("--file-flush-interval-msec 1000"),
        "{joined}"
    );
    assert_eq!(
        c["env"],
        json!([
            {"name": "LOCAL_BASE", "value": "http://vllm.internal:8000/v1"},
            {"name": "OPENAI_API_KEY", "valueFrom": {"secretKeyRef": {"name": "gw-secrets", "key": "OPENAI_API_KEY"}}},
            {"name": "TOLLGATE_MASTER_KEY", "valueFrom": {"secretKeyRef": {"name": "gw-secrets", "key": "TOLLGATE_MASTER_KEY"}}},
        ])
    );
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/health/readiness");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/health/liveliness");
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], "http");
    assert_eq!(
        c["ports"][0],
        json!({"name": "http", "containerPort": 4000, "protocol": "TCP"})
    );
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert!(c["resources"]["requests"].is_object() && c["resources"]["limits"].is_object());

    let pod = &spec["template"]["spec"];
    let init = &pod["initContainers"][0];
    assert_eq!(init["image"], "tollgate/filter-wasm:test");
    assert_eq!(
        init["command"],
        json!(["cp", "/tollgate.wasm", "/etc/tollgate/wasm/tollgate.wasm"])
    );
    assert_eq!(init["volumeMounts"][0]["mountPath"], WASM_DIR);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let annotations = &spec["template"]["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/port"], "9902");
    assert_eq!(annotations["prometheus.io/scrape"], "true");
}

#[test]
fn shutdown_drains_before_sigterm_within_the_grace_period() {
    let (d, _) = rendered();
    let c = container(&d);
    let hook = c["lifecycle"]["preStop"]["exec"]["command"][2]
        .as_str()
        .unwrap();
    assert!(hook.contains("/dev/tcp/127.0.0.1/9901"), "{hook}");
    assert!(hook.contains("POST /drain_listeners?graceful"), "{hook}");
    assert!(hook.ends_with("; sleep 25"), "{hook}");
    let grace = d[1]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .unwrap();
    assert!(grace > 25, "{grace}");

    let long = Options {
        drain_seconds: 120,
        ..opts()
    };
    let out = render(CONFIG, &long, &env).unwrap();
    let d = docs(&out.yaml);
    assert!(container(&d)["command"]
        .as_array()
        .unwrap()
        .contains(&json!("120")));
    assert_eq!(
        d[1]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"],
        135
    );
}

#[test]
fn service_budget_and_autoscaler() {
    let (d, _) = rendered();
    let selector =
        json!({"app.kubernetes.io/name": "tollgate", "app.kubernetes.io/instance": "gw"});
    assert_eq!(d[1]["spec"]["selector"]["matchLabels"], selector);
    assert_eq!(d[2]["spec"]["type"], "ClusterIP");
    assert_eq!(d[2]["spec"]["selector"], selector);
    assert_eq!(d[2]["spec"]["ports"][0]["name"], "http");
    assert_eq!(d[2]["spec"]["ports"][0]["port"], 4000);
    assert_eq!(d[3]["spec"]["minAvailable"], 1);
    assert_eq!(d[3]["spec"]["selector"]["matchLabels"], selector);
    let hpa = &d[4]["spec"];
    assert_eq!(hpa["scaleTargetRef"]["name"], "gw");
    assert_eq!(
        (hpa["minReplicas"].as_u64(), hpa["maxReplicas"].as_u64()),
        (Some(2), Some(10))
    );
    assert_eq!(
        hpa["metrics"][0]["resource"]["target"],
        json!({"type": "Utilization", "averageUtilization": 70})
    );
}

#[test]
fn no_secret_value_anywhere_and_template_lists_keys() {
    let (_, out) = rendered();
    for secret in ["sk-openai-SECRET", "sk-master-SECRET"] {
        assert!(!out.yaml.contains(secret), "{secret} leaked");
        assert!(!out.secret_template.contains(secret), "{secret} leaked");
    }
    let t = docs(&out.secret_template);
    assert_eq!(t[0]["kind"], "Secret");
    assert_eq!(t[0]["metadata"]["name"], "gw-secrets");
    assert_eq!(
        t[0]["stringData"],
        json!({"OPENAI_API_KEY": "", "TOLLGATE_MASTER_KEY": ""})
    );
    assert!(out
        .yaml
        .contains("kubectl -n llm create secret generic gw-secrets"));
}

#[test]
fn deterministic_and_rolled_by_config_changes() {
    let (_, a) = rendered();
    let (_, b) = rendered();
    assert_eq!(a.yaml, b.yaml);
    let checksum = |yaml: &str| {
        docs(yaml)[1]["spec"]["template"]["metadata"]["annotations"]["checksum/config"].clone()
    };
    let changed = render(&CONFIG.replace("gpt-4o", "gpt-4.1"), &opts(), &env).unwrap();
    assert_ne!(checksum(&a.yaml), checksum(&changed.yaml));
}

#[test]
fn config_errors_keep_their_field_path() {
    let err = render(&CONFIG.replace("openai/llama", "foo/llama"), &opts(), &env).unwrap_err();
    assert!(
        err.starts_with("model_list[1].litellm_params.model"),
        "{err}"
    );
    let err = render(CONFIG, &opts(), &|v| (v != "LOCAL_BASE").then(String::new)).unwrap_err();
    assert!(err.contains("LOCAL_BASE is not set"), "{err}");
}
