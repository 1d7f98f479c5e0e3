use super::*;

const CONFIG: &str = "\
# comment that must not reach Envoy
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: os.environ/OPENAI_API_KEY
      api_base: https://api.openai.com/v1/
  - model_name: local
    litellm_params:
      model: openai/llama
      api_base: os.environ/LOCAL_BASE
  - model_name: mock
    litellm_params:
      model: openai/mock
      api_base: http://127.0.0.1:8081/v1
  - model_name: claude
    litellm_params:
      model: anthropic/claude-sonnet-4
      api_key: os.environ/ANTHROPIC_API_KEY
general_settings:
  master_key: os.environ/TOLLGATE_MASTER_KEY
  max_request_size_mb: 2
router_settings:
  timeout: 120
";

const SECRETS: [(&str, &str); 3] = [
    ("OPENAI_API_KEY", "sk-openai-SECRET"),
    ("ANTHROPIC_API_KEY", "sk-ant-SECRET"),
    ("TOLLGATE_MASTER_KEY", "sk-master-SECRET"),
];

fn opts() -> Options {
    Options {
        listen: "0.0.0.0".into(),
        port: 10000,
        admin_listen: "127.0.0.1".into(),
        admin_port: 9901,
        wasm: "/opt/tollgate/tollgate_wasm.wasm".into(),
        access_log: "/dev/stdout".into(),
    }
}

fn full_env(var: &str) -> Option<String> {
    if var == "LOCAL_BASE" {
        return Some("http://vllm.internal:8000/v1".into());
    }
    SECRETS
        .iter()
        .find(|(k, _)| *k == var)
        .map(|(_, v)| v.to_string())
}

fn rendered(env: &dyn Fn(&str) -> Option<String>) -> Value {
    render(CONFIG, &opts(), env).unwrap().bootstrap
}

fn hcm(b: &Value) -> &Value {
    &b["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
}

fn wasm_config(b: &Value) -> &Value {
    &hcm(b)["http_filters"][0]["typed_config"]["config"]
}

fn clusters(b: &Value) -> Vec<&Value> {
    b["static_resources"]["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .collect()
}

fn cluster<'a>(b: &'a Value, name: &str) -> &'a Value {
    clusters(b)
        .into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no cluster {name}"))
}

#[test]
fn one_cluster_per_distinct_upstream() {
    let b = rendered(&full_env);
    let names: Vec<&str> = clusters(&b)
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    // The two api.openai.com deployments (default and explicit api_base) share one.
    assert_eq!(
        names,
        [
            "tollgate_https_api_openai_com_443",
            "tollgate_http_vllm_internal_8000",
            "tollgate_http_127_0_0_1_8081",
            "tollgate_https_api_anthropic_com_443",
        ]
    );
}

#[test]
fn https_dns_cluster() {
    let b = rendered(&full_env);
    let c = cluster(&b, "tollgate_https_api_openai_com_443");
    assert_eq!(c["type"], "STRICT_DNS");
    assert_eq!(c["dns_lookup_family"], "V4_PREFERRED");
    assert_eq!(c["lb_policy"], "ROUND_ROBIN");
    assert_eq!(c["connect_timeout"], "10s");
    let addr = &c["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
        ["socket_address"];
    assert_eq!(addr["address"], "api.openai.com");
    assert_eq!(addr["port_value"], 443);
    let ts = &c["transport_socket"];
    assert_eq!(ts["name"], "envoy.transport_sockets.tls");
    let ctx = &ts["typed_config"];
    assert_eq!(
        ctx["@type"],
        "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
    );
    assert_eq!(ctx["sni"], "api.openai.com");
    let vc = &ctx["common_tls_context"]["validation_context"];
    assert_eq!(vc["trusted_ca"]["filename"], CA_BUNDLE);
    assert_eq!(
        vc["match_typed_subject_alt_names"][0],
        json!({"san_type": "DNS", "matcher": {"exact": "api.openai.com"}})
    );
    assert!(c.get("typed_extension_protocol_options").is_none());
}

#[test]
fn http_dns_and_ip_clusters() {
    let b = rendered(&full_env);
    let dns = cluster(&b, "tollgate_http_vllm_internal_8000");
    assert_eq!(dns["type"], "STRICT_DNS");
    assert!(dns.get("transport_socket").is_none());
    let addr = &dns["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
        ["socket_address"];
    assert_eq!(addr["address"], "vllm.internal");
    assert_eq!(addr["port_value"], 8000);

    let ip = cluster(&b, "tollgate_http_127_0_0_1_8081");
    assert_eq!(ip["type"], "STATIC");
    assert!(ip.get("dns_lookup_family").is_none());
    assert!(ip.get("transport_socket").is_none());
    assert_eq!(ip["load_assignment"]["cluster_name"], ip["name"]);
}

#[test]
fn https_ip_cluster_matches_ip_san_without_sni() {
    let text = "model_list:\n- model_name: a\n  litellm_params: {model: openai/x, api_base: \"https://[::1]:8443\"}\n";
    let b = render(text, &opts(), &|_| None).unwrap().bootstrap;
    let c = cluster(&b, "tollgate_https___1_8443");
    assert_eq!(c["type"], "STATIC");
    let ctx = &c["transport_socket"]["typed_config"];
    assert!(ctx.get("sni").is_none());
    assert_eq!(
        ctx["common_tls_context"]["validation_context"]["match_typed_subject_alt_names"][0]
            ["san_type"],
        "IP_ADDRESS"
    );
}

#[test]
fn host_env_keys_sorted_distinct() {
    let b = rendered(&full_env);
    assert_eq!(
        wasm_config(&b)["vm_config"]["environment_variables"]["host_env_keys"],
        json!([
            "ANTHROPIC_API_KEY",
            "LOCAL_BASE",
            "OPENAI_API_KEY",
            "TOLLGATE_MASTER_KEY"
        ])
    );
}

#[test]
fn no_env_refs_no_environment_variables() {
    let text = "model_list:\n- model_name: a\n  litellm_params: {model: openai/x, api_base: \"http://10.0.0.1\"}\n";
    let b = render(text, &opts(), &|_| None).unwrap().bootstrap;
    assert!(wasm_config(&b)["vm_config"]
        .get("environment_variables")
        .is_none());
}

#[test]
fn embedded_configuration_keeps_refs_and_no_secrets() {
    let b = rendered(&full_env);
    let conf = &wasm_config(&b)["configuration"];
    assert_eq!(
        conf["@type"],
        "type.googleapis.com/google.protobuf.StringValue"
    );
    let value = conf["value"].as_str().unwrap();
    let parsed: Value = serde_json::from_str(value).unwrap();
    assert_eq!(
        parsed["model_list"][0]["litellm_params"]["api_key"],
        "os.environ/OPENAI_API_KEY"
    );
    assert_eq!(
        parsed["model_list"][2]["litellm_params"]["api_base"],
        "os.environ/LOCAL_BASE"
    );
    assert_eq!(
        parsed["general_settings"]["master_key"],
        "os.environ/TOLLGATE_MASTER_KEY"
    );
    assert!(!value.contains('\n'), "not compact: {value}");
    assert!(!value.contains("comment"));
    // The filter must be able to load exactly what is embedded.
    assert!(Config::load(value, &full_env).is_ok());

    let whole = to_yaml(&b, "config.yaml").unwrap();
    for (_, secret) in SECRETS {
        assert!(!whole.contains(secret), "{secret} leaked");
    }
    // The render-time api_base value only shapes the cluster, it is not embedded.
    assert!(!value.contains("vllm.internal"));
}

#[test]
fn secrets_may_be_unset_at_render_time() {
    let only_base = |v: &str| (v == "LOCAL_BASE").then(|| "http://vllm.internal:8000".to_string());
    let b = rendered(&only_base);
    let yaml = to_yaml(&b, "c").unwrap();
    assert!(!yaml.contains(secrets::SECRET_PLACEHOLDER));
}

#[test]
fn unset_api_base_variable_refused() {
    let no_base = |v: &str| (v != "LOCAL_BASE").then(|| "x".to_string());
    let err = render(CONFIG, &opts(), &no_base).unwrap_err();
    assert!(
        err.starts_with("model_list[2].litellm_params.api_base: environment variable LOCAL_BASE is not set; api_base variables must be set when rendering"),
        "{err}"
    );
}

#[test]
fn literal_secret_refused_with_path() {
    let text = CONFIG.replace("os.environ/ANTHROPIC_API_KEY", "sk-ant-literal");
    let err = render(&text, &opts(), &full_env).unwrap_err();
    assert_eq!(
        err,
        "model_list[4].litellm_params.api_key: literal secret; write os.environ/VAR so it is read from Envoy's environment at run time"
    );
    let text = CONFIG.replace("os.environ/TOLLGATE_MASTER_KEY", "sk-1234");
    let err = render(&text, &opts(), &full_env).unwrap_err();
    assert!(
        err.starts_with("general_settings.master_key: literal secret"),
        "{err}"
    );
}

#[test]
fn invalid_config_refused_with_path() {
    let text = CONFIG.replace("openai/llama", "foo/llama");
    let err = render(&text, &opts(), &full_env).unwrap_err();
    assert!(
        err.starts_with("model_list[2].litellm_params.model: unknown provider \"foo\""),
        "{err}"
    );
}

#[test]
fn wasm_filter_settings() {
    let b = rendered(&full_env);
    let filters = hcm(&b)["http_filters"].as_array().unwrap();
    assert_eq!(filters.len(), 2);
    assert_eq!(filters[0]["name"], "envoy.filters.http.wasm");
    assert_eq!(
        filters[0]["typed_config"]["@type"],
        "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
    );
    assert_eq!(filters[1]["name"], "envoy.filters.http.router");
    let c = wasm_config(&b);
    assert_eq!(c["allow_on_headers_stop_iteration"], true);
    assert_eq!(c["name"], "tollgate");
    assert_eq!(c["root_id"], "tollgate");
    assert_eq!(c["vm_config"]["vm_id"], "tollgate");
    assert_eq!(c["vm_config"]["runtime"], "envoy.wasm.runtime.v8");
    assert_eq!(
        c["vm_config"]["code"]["local"]["filename"],
        "/opt/tollgate/tollgate_wasm.wasm"
    );
    // And it survives the YAML round trip.
    let yaml = to_yaml(&b, "c").unwrap();
    assert!(yaml.contains("allow_on_headers_stop_iteration: true"));
    let back: Value = serde_yaml::from_str(&yaml).unwrap();
    assert_eq!(back, b);
}

#[test]
fn buffer_limit_has_headroom() {
    let b = rendered(&full_env);
    // Small request limits still leave room to buffer large translated answers.
    assert_eq!(
        b["static_resources"]["listeners"][0]["per_connection_buffer_limit_bytes"],
        MIN_BUFFER_BYTES
    );
    let cfg = Config {
        max_request_bytes: 32 * 1024 * 1024,
        ..Config::default()
    };
    assert_eq!(buffer_limit(&cfg), 32 * 1024 * 1024 + 65_536);
    let cfg = Config {
        max_request_bytes: 4096 * 1024 * 1024,
        ..Config::default()
    };
    assert_eq!(buffer_limit(&cfg), u64::from(u32::MAX));
}

#[test]
fn listener_admin_and_routes() {
    let b = rendered(&full_env);
    assert_eq!(
        b["admin"]["address"]["socket_address"],
        json!({"address": "127.0.0.1", "port_value": 9901})
    );
    let l = &b["static_resources"]["listeners"][0];
    assert_eq!(l["name"], "tollgate");
    assert_eq!(
        l["address"]["socket_address"],
        json!({"address": "0.0.0.0", "port_value": 10000})
    );
    let h = hcm(&b);
    assert_eq!(h["stat_prefix"], "tollgate");
    assert_eq!(h["codec_type"], "AUTO");
    // router_settings.timeout 120 s + headroom.
    assert_eq!(h["stream_idle_timeout"], "125s");
    let vh = &h["route_config"]["virtual_hosts"][0];
    assert_eq!(vh["domains"], json!(["*"]));
    let routes = vh["routes"].as_array().unwrap();
    assert_eq!(
        routes[0]["match"]["headers"][0],
        json!({"name": "x-tollgate-cluster", "present_match": true})
    );
    assert_eq!(routes[0]["route"]["cluster_header"], "x-tollgate-cluster");
    assert_eq!(routes[0]["route"]["timeout"], "125s");
    // Retries are asked per request by the filter; the route only sets the backoff.
    let retry = &routes[0]["route"]["retry_policy"];
    assert!(retry.get("num_retries").is_none() && retry.get("retry_on").is_none());
    assert_eq!(
        retry["rate_limited_retry_back_off"]["reset_headers"][0],
        json!({"name": "retry-after", "format": "SECONDS"})
    );
    assert_eq!(vh["include_attempt_count_in_response"], true);
    assert_eq!(routes[1]["direct_response"]["status"], 404);
    let body: Value = serde_json::from_str(
        routes[1]["direct_response"]["body"]["inline_string"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        body,
        json!({"error": {"message": "no route", "type": "invalid_request_error", "param": null, "code": "not_found"}})
    );
}

#[test]
fn route_timeout_covers_longest_deployment_timeout() {
    let text = "model_list:\n- model_name: a\n  litellm_params: {model: openai/x, timeout: 30, stream_timeout: 900.5}\n";
    let b = render(text, &opts(), &|_| None).unwrap().bootstrap;
    // Router default 600 s, the deployment's stream timeout 900.5 s wins.
    assert_eq!(
        hcm(&b)["route_config"]["virtual_hosts"][0]["routes"][0]["route"]["timeout"],
        "905.500s"
    );
}

#[test]
fn local_replies_only_for_envoy_upstream_failures() {
    let b = rendered(&full_env);
    let lrc = &hcm(&b)["local_reply_config"];
    assert!(lrc.get("body_format").is_none());
    let mappers = lrc["mappers"].as_array().unwrap();
    assert_eq!(mappers.len(), 4);
    for m in &mappers[..2] {
        let parts = m["filter"]["and_filter"]["filters"].as_array().unwrap();
        let flags = parts[0]["response_flag_filter"]["flags"]
            .as_array()
            .unwrap();
        assert!(!flags.contains(&json!("LR")));
        assert_eq!(
            parts[1]["extension_filter"]["typed_config"]["expression"],
            NOT_FILTER_REPLY
        );
        let err = &m["body_format_override"]["json_format"]["error"];
        assert_eq!(err["type"], "upstream_error");
        assert_eq!(err["code"], "%RESPONSE_CODE%");
        assert_eq!(err["param"], Value::Null);
    }
    let nc = &mappers[0];
    assert_eq!(
        nc["filter"]["and_filter"]["filters"][0]["response_flag_filter"]["flags"],
        json!(["NC"])
    );
    let all = &mappers[1];
    assert_eq!(
        all["filter"]["and_filter"]["filters"][0]["response_flag_filter"]["flags"],
        json!(["UF", "UH", "URX", "UT", "UC", "UO", "NC", "UR"])
    );
    assert_eq!(
        all["body_format_override"]["json_format"]["error"]["message"],
        "%LOCAL_REPLY_BODY%"
    );
}

#[test]
fn client_side_envoy_replies_are_openai_errors() {
    let b = rendered(&full_env);
    let mappers = hcm(&b)["local_reply_config"]["mappers"]
        .as_array()
        .unwrap()
        .clone();
    for (m, condition, code) in [
        (&mappers[2], "response.code == 408", "request_timeout"),
        (&mappers[3], CODEC_ERROR, "%RESPONSE_CODE_DETAILS%"),
    ] {
        let filter = &m["filter"]["extension_filter"];
        assert_eq!(filter["name"], "envoy.access_loggers.extension_filters.cel");
        // Never the filter's own replies.
        assert_eq!(
            filter["typed_config"]["expression"],
            format!("({condition}) && {NOT_FILTER_REPLY}")
        );
        let err = &m["body_format_override"]["json_format"]["error"];
        assert_eq!(err["type"], "invalid_request_error");
        assert_eq!(err["code"], code);
        assert_eq!(err["param"], Value::Null);
    }
}

#[test]
fn request_receive_timeout_bounds_the_request() {
    // Default 60 s, whatever the (much longer) upstream timeouts.
    assert_eq!(hcm(&rendered(&full_env))["request_timeout"], "60s");
    let text = "general_settings: {request_receive_timeout: 2.5}\n";
    let b = render(text, &opts(), &|_| None).unwrap().bootstrap;
    assert_eq!(hcm(&b)["request_timeout"], "2.500s");
}

#[test]
fn metric_labels_are_extracted_by_stats_tags() {
    let b = rendered(&full_env);
    let sc = &b["stats_config"];
    assert_eq!(sc["use_all_default_tags"], true);
    let tags = sc["stats_tags"].as_array().unwrap();
    let names: Vec<&str> = tags.iter().filter_map(|t| t["tag_name"].as_str()).collect();
    for label in [
        "model_group",
        "deployment",
        "provider",
        "status_class",
        "key",
    ] {
        assert!(names.contains(&label), "{label} missing from {names:?}");
    }
    assert!(tags
        .iter()
        .all(|t| t["regex"].as_str().unwrap().starts_with("(?:^|[.;])(")));
}

#[test]
fn free_heap_goes_back_to_the_os() {
    let m = &rendered(&full_env)["memory_allocator_manager"];
    assert_eq!(m["bytes_to_release"], 16 << 20);
    assert_eq!(m["memory_release_interval"], "1s");
}
