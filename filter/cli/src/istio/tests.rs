use super::*;
use serde::Deserialize;

const CONFIG: &str = "\
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY}
  - model_name: claude
    litellm_params: {model: anthropic/claude-sonnet-4, api_key: os.environ/ANTHROPIC_API_KEY}
  - model_name: local
    litellm_params: {model: openai/llama, api_base: os.environ/LOCAL_BASE}
  - model_name: box
    litellm_params: {model: openai/llama, api_base: \"http://10.0.0.5:8000/v1\"}
  - model_name: alt
    litellm_params: {model: openai/x, api_base: \"https://llm.example.com:8443/v1\"}
general_settings:
  master_key: os.environ/TOLLGATE_MASTER_KEY
router_settings: {timeout: 120}
";

fn env(var: &str) -> Option<String> {
    match var {
        "OPENAI_API_KEY" => Some("sk-openai-SECRET".into()),
        "ANTHROPIC_API_KEY" => Some("sk-ant-SECRET".into()),
        "TOLLGATE_MASTER_KEY" => Some("sk-master-SECRET".into()),
        "LOCAL_BASE" => Some("http://vllm.ml.svc:8000/v1".into()),
        _ => None,
    }
}

fn opts(plugin: IstioPlugin) -> Options {
    Options {
        namespace: "istio-system".into(),
        name: "tollgate".into(),
        wasm_url: "oci://registry.example/tollgate/filter-wasm-plugin:1".into(),
        selector: vec![("istio".into(), "ingressgateway".into())],
        plugin,
        source: "config.yaml".into(),
    }
}

fn docs(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| Value::deserialize(d).unwrap())
        .collect()
}

fn rendered(plugin: IstioPlugin) -> (Vec<Value>, Output) {
    let out = render(CONFIG, &opts(plugin), &env).unwrap();
    (docs(&out.yaml), out)
}

fn find<'a>(d: &'a [Value], kind: &str, name: &str) -> &'a Value {
    d.iter()
        .find(|x| x["kind"] == kind && x["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn envoy_filter_adds_the_complete_extension_with_the_flag() {
    let (d, out) = rendered(IstioPlugin::EnvoyFilter);
    assert!(out.warnings.is_empty());
    let ef = find(&d, "EnvoyFilter", "tollgate");
    assert_eq!(ef["metadata"]["namespace"], "istio-system");
    assert_eq!(
        ef["spec"]["workloadSelector"]["labels"],
        json!({"istio": "ingressgateway"})
    );
    let patches = ef["spec"]["configPatches"].as_array().unwrap();
    assert_eq!(patches[0]["applyTo"], "EXTENSION_CONFIG");
    assert_eq!(patches[0]["patch"]["operation"], "ADD");
    let ext = &patches[0]["patch"]["value"];
    assert_eq!(ext["name"], "istio-system/tollgate");
    let config = &ext["typed_config"]["config"];
    assert_eq!(ext["typed_config"]["@type"], plugin::WASM_TYPE);
    assert_eq!(config["allow_on_headers_stop_iteration"], true);
    assert_eq!(config["root_id"], "tollgate");
    assert_eq!(config["failure_policy"], "FAIL_CLOSED");
    let embedded = config["configuration"]["value"].as_str().unwrap();
    assert!(embedded.contains("os.environ/OPENAI_API_KEY"));
    let vm = &config["vm_config"];
    assert_eq!(vm["runtime"], "envoy.wasm.runtime.v8");
    assert_eq!(
        vm["code"]["remote"]["http_uri"]["uri"],
        "oci://registry.example/tollgate/filter-wasm-plugin:1"
    );
    assert_eq!(
        vm["environment_variables"],
        json!({
            "host_env_keys": ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "TOLLGATE_MASTER_KEY"],
            "key_values": {"LOCAL_BASE": "http://vllm.ml.svc:8000/v1"},
        })
    );
    // The HTTP filter uses that extension through ECDS, where a phase AUTHN WasmPlugin sits.
    assert_eq!(patches[1]["applyTo"], "HTTP_FILTER");
    assert_eq!(patches[1]["match"]["context"], "GATEWAY");
    assert_eq!(patches[1]["patch"]["filterClass"], "AUTHN");
    assert_eq!(patches[1]["patch"]["value"]["name"], ext["name"]);
    assert_eq!(
        patches[1]["patch"]["value"]["config_discovery"]["type_urls"],
        json!([plugin::WASM_TYPE])
    );
    assert_eq!(patches[2]["applyTo"], "LISTENER");
    assert_eq!(
        patches[2]["patch"]["value"]["per_connection_buffer_limit_bytes"],
        render::MIN_BUFFER_BYTES
    );
    assert!(d.iter().all(|x| x["kind"] != "WasmPlugin"));
}

#[test]
fn file_url_is_a_local_module() {
    let o = Options {
        wasm_url: "file:///var/lib/tollgate.wasm".into(),
        ..opts(IstioPlugin::EnvoyFilter)
    };
    let d = docs(&render(CONFIG, &o, &env).unwrap().yaml);
    let vm =
        &d[0]["spec"]["configPatches"][0]["patch"]["value"]["typed_config"]["config"]["vm_config"];
    assert_eq!(
        vm["code"],
        json!({"local": {"filename": "/var/lib/tollgate.wasm"}})
    );
}

#[test]
fn wasm_plugin_variant_with_its_merge_patch_and_a_warning() {
    let (d, out) = rendered(IstioPlugin::WasmPlugin);
    assert_eq!(out.warnings.len(), 1);
    assert!(out.yaml.contains("WARNING: --plugin wasmplugin"));
    let wp = find(&d, "WasmPlugin", "tollgate");
    assert_eq!(wp["apiVersion"], "extensions.istio.io/v1alpha1");
    let spec = &wp["spec"];
    assert_eq!(spec["phase"], "AUTHN");
    assert_eq!(spec["failStrategy"], "FAIL_CLOSE");
    assert_eq!(spec["pluginName"], "tollgate");
    assert_eq!(
        spec["selector"]["matchLabels"],
        json!({"istio": "ingressgateway"})
    );
    // The config as a structured object, references unresolved.
    assert_eq!(
        spec["pluginConfig"]["model_list"][0]["litellm_params"]["api_key"],
        "os.environ/OPENAI_API_KEY"
    );
    assert_eq!(
        spec["vmConfig"]["env"],
        json!([
            {"name": "ANTHROPIC_API_KEY", "valueFrom": "HOST"},
            {"name": "OPENAI_API_KEY", "valueFrom": "HOST"},
            {"name": "TOLLGATE_MASTER_KEY", "valueFrom": "HOST"},
            {"name": "LOCAL_BASE", "value": "http://vllm.ml.svc:8000/v1", "valueFrom": "INLINE"},
        ])
    );
    let ef = find(&d, "EnvoyFilter", "tollgate-stop-iteration");
    let p = &ef["spec"]["configPatches"][0];
    assert_eq!(p["applyTo"], "EXTENSION_CONFIG");
    assert_eq!(p["patch"]["operation"], "MERGE");
    assert_eq!(
        p["patch"]["value"]["name"],
        "extensions.istio.io/wasmplugin/istio-system.tollgate"
    );
    assert_eq!(
        p["patch"]["value"]["typed_config"]["config"]["allow_on_headers_stop_iteration"],
        true
    );
}

#[test]
fn destinations_map_each_upstream_to_istio_clusters() {
    let cfg = Config::load(CONFIG, &env).unwrap();
    let dests = destinations(&cfg).unwrap();
    let got: Vec<(String, HostKind)> = dests.iter().map(|d| (d.cluster(), d.kind)).collect();
    assert_eq!(
        got,
        [
            ("outbound|443||api.openai.com".into(), HostKind::External),
            ("outbound|443||api.anthropic.com".into(), HostKind::External),
            (
                "outbound|8000||vllm.ml.svc.cluster.local".into(),
                HostKind::Mesh
            ),
            (
                "outbound|8000||ip-10-0-0-5.tollgate.internal".into(),
                HostKind::Ip
            ),
            ("outbound|8443||llm.example.com".into(), HostKind::External),
        ]
    );
    let clash = "model_list:\n- model_name: a\n  litellm_params: {model: openai/a, api_base: \"http://h.example:8443\"}\n- model_name: b\n  litellm_params: {model: openai/b, api_base: \"https://h.example:8443\"}\n";
    let cfg = Config::load(clash, &|_| None).unwrap();
    let err = destinations(&cfg).unwrap_err();
    assert!(err.contains("same host and port"), "{err}");
}

#[test]
fn upstream_virtual_host_routes_tollgate_names_to_istio_clusters() {
    let (d, _) = rendered(IstioPlugin::EnvoyFilter);
    let ef = find(&d, "EnvoyFilter", "tollgate-upstreams");
    let p = &ef["spec"]["configPatches"][0];
    assert_eq!(p["applyTo"], "VIRTUAL_HOST");
    assert_eq!(p["match"], json!({"context": "GATEWAY"}));
    assert_eq!(p["patch"]["operation"], "ADD");
    let vh = &p["patch"]["value"];
    assert_eq!(
        vh["domains"],
        json!([
            "api.openai.com",
            "api.anthropic.com",
            "vllm.ml.svc:8000",
            "10.0.0.5:8000",
            "llm.example.com:8443"
        ])
    );
    let routes = vh["routes"].as_array().unwrap();
    assert_eq!(routes.len(), 6);
    assert_eq!(
        routes[0]["match"]["headers"][0],
        json!({"name": "x-tollgate-cluster", "string_match": {"exact": "tollgate_https_api_openai_com_443"}})
    );
    assert_eq!(
        routes[0]["route"]["cluster"],
        "outbound|443||api.openai.com"
    );
    assert_eq!(routes[0]["route"]["timeout"], "125s");
    assert!(routes[0]["route"]["retry_policy"]["retry_back_off"].is_object());
    assert_eq!(vh["include_attempt_count_in_response"], true);
    assert_eq!(routes[5]["direct_response"]["status"], 404);
    // Failover callouts name tollgate's clusters: they are added to the gateway.
    let ef = find(&d, "EnvoyFilter", "tollgate-upstreams");
    let clusters: Vec<&str> = ef["spec"]["configPatches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["applyTo"] == "CLUSTER")
        .map(|p| p["patch"]["value"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(clusters.len(), 5);
    assert!(clusters.contains(&"tollgate_https_api_openai_com_443"));
}

#[test]
fn service_entries_and_tls_origination() {
    let (d, _) = rendered(IstioPlugin::EnvoyFilter);
    let se = find(&d, "ServiceEntry", "tollgate-api-openai-com");
    assert_eq!(
        se["spec"],
        json!({
            "hosts": ["api.openai.com"],
            "location": "MESH_EXTERNAL",
            "resolution": "DNS",
            "ports": [{"number": 443, "name": "http-443", "protocol": "HTTP"}],
            "exportTo": ["."],
        })
    );
    let ip = find(&d, "ServiceEntry", "tollgate-ip-10-0-0-5-tollgate-internal");
    assert_eq!(ip["spec"]["resolution"], "STATIC");
    assert_eq!(ip["spec"]["endpoints"], json!([{"address": "10.0.0.5"}]));
    // A Kubernetes Service is already in the registry: no ServiceEntry.
    assert!(!d.iter().any(
        |x| x["kind"] == "ServiceEntry" && x["spec"]["hosts"][0] == "vllm.ml.svc.cluster.local"
    ));
    let dr = find(&d, "DestinationRule", "tollgate-llm-example-com");
    assert_eq!(dr["spec"]["host"], "llm.example.com");
    assert_eq!(
        dr["spec"]["trafficPolicy"]["portLevelSettings"],
        json!([{"port": {"number": 8443}, "tls": {"mode": "SIMPLE", "sni": "llm.example.com", "subjectAltNames": ["llm.example.com"]}}])
    );
    // Plain HTTP upstreams get no DestinationRule.
    let rules = d.iter().filter(|x| x["kind"] == "DestinationRule").count();
    assert_eq!(rules, 3);
}

#[test]
fn no_secret_values_and_deterministic() {
    for plugin in [IstioPlugin::EnvoyFilter, IstioPlugin::WasmPlugin] {
        let (_, a) = rendered(plugin);
        let (_, b) = rendered(plugin);
        assert_eq!(a.yaml, b.yaml);
        for secret in ["sk-openai-SECRET", "sk-ant-SECRET", "sk-master-SECRET"] {
            assert!(!a.yaml.contains(secret), "{secret} leaked");
            assert!(!a.secret_template.contains(secret), "{secret} leaked");
        }
        assert!(a
            .yaml
            .contains("set env deployment/GATEWAY --from=secret/tollgate-secrets"));
    }
}

#[test]
fn metric_labels_come_from_a_bootstrap_override_config_map() {
    let (d, out) = rendered(IstioPlugin::EnvoyFilter);
    let cm = find(&d, "ConfigMap", "tollgate-stats-tags");
    assert_eq!(cm["metadata"]["namespace"], "istio-system");
    let fragment: Value =
        serde_json::from_str(cm["data"]["custom_bootstrap.json"].as_str().unwrap()).unwrap();
    let tags = fragment["stats_config"]["stats_tags"].as_array().unwrap();
    assert_eq!(tags.len(), tollgate_core::metrics::label_names().len());
    assert!(tags.iter().any(
        |t| t["tag_name"] == "model_group" && t["regex"] == "(?:^|[.;])(model_group=([^;]*);)"
    ));
    assert!(out
        .yaml
        .contains("sidecar.istio.io/bootstrapOverride: tollgate-stats-tags"));
}
