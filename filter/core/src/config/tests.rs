use super::*;
use crate::keys::record::hash_key;

fn env(name: &str) -> Option<String> {
    match name {
        "OPENAI_API_KEY" => Some("sk-openai-secret".into()),
        "MASTER" => Some("sk-master".into()),
        _ => None,
    }
}

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::load(text, &env)
}

const GOOD: &str = r#"
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
      weight: 3
    model_info:
      id: primary
      input_cost_per_token: 0.0000025
      output_cost_per_token: 0.00001
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o-2024-08-06
      api_base: http://127.0.0.1:8080/v1
      weight: 1
      timeout: 30
  - model_name: claude
    litellm_params:
      model: anthropic/claude-sonnet-4-5
  - model_name: gemini
    litellm_params:
      model: gemini/gemini-2.5-flash
router_settings:
  routing_strategy: simple-shuffle
  num_retries: 2
  fallbacks: [{"gpt-4o": ["claude", "gemini"]}]
  model_group_alias:
    best: gpt-4o
    secret: {model: claude, hidden: true}
litellm_settings:
  drop_params: true
general_settings:
  master_key: os.environ/MASTER
"#;

#[test]
fn loads_a_full_config() {
    let c = load(GOOD).unwrap();
    assert_eq!(c.deployments.len(), 4);
    assert_eq!(c.groups["gpt-4o"], vec![0, 1]);
    assert_eq!(c.master_key.as_deref(), Some("sk-master"));
    let d0 = &c.deployments[0];
    assert_eq!(d0.id, "primary");
    assert_eq!(d0.api_key.as_deref(), Some("sk-openai-secret"));
    assert_eq!(d0.upstream.base_path, "/v1");
    assert_eq!(d0.upstream.authority, "api.openai.com");
    assert_eq!(d0.timeout_ms, DEFAULT_TIMEOUT_MS);
    let d1 = &c.deployments[1];
    assert_eq!(d1.upstream.cluster, "tollgate_http_127_0_0_1_8080");
    assert_eq!(d1.timeout_ms, 30_000);
    assert_eq!(c.deployments[2].upstream.authority, "api.anthropic.com");
    assert_eq!(c.deployments[2].upstream.base_path, "");
    assert_eq!(
        c.deployments[3].upstream.authority,
        "generativelanguage.googleapis.com"
    );
    assert_eq!(c.resolve_group("best"), Some("gpt-4o"));
    assert!(c.aliases["secret"].hidden);
    assert_eq!(c.fallbacks["gpt-4o"], vec!["claude", "gemini"]);
    assert_eq!(c.num_retries, 2);
    assert!(c.drop_params);
    assert_eq!(c.upstreams().len(), 4);
    assert_eq!(c.max_request_bytes, DEFAULT_MAX_REQUEST_BYTES);
}

#[test]
fn derived_ids_are_stable_and_distinct() {
    let a = load(GOOD).unwrap();
    let b = load(GOOD).unwrap();
    assert_eq!(a.deployments[1].id, b.deployments[1].id);
    assert_ne!(a.deployments[1].id, a.deployments[2].id);
}

fn err(text: &str) -> String {
    load(text).unwrap_err().to_string()
}

#[test]
fn unknown_provider_names_the_path() {
    let text = "model_list:\n  - model_name: a\n    litellm_params: {model: openai/a}\n  - model_name: b\n    litellm_params: {model: openai/b}\n  - model_name: c\n    litellm_params: {model: foo/bar}\n";
    assert_eq!(
        err(text),
        "model_list[2].litellm_params.model: unknown provider \"foo\" (supported: openai, anthropic, gemini, azure)"
    );
}

#[test]
fn unknown_keys_name_the_path() {
    let e =
        err("model_list:\n  - model_name: a\n    litellm_params: {model: openai/a, wieght: 2}\n");
    assert!(e.starts_with("model_list[0].litellm_params"), "{e}");
    assert!(e.contains("unknown field `wieght`"), "{e}");
    let e = err("general_settings: {master_kye: x}\n");
    assert!(e.starts_with("general_settings"), "{e}");
    let e = err("bogus: 1\n");
    assert!(e.contains("unknown field `bogus`"), "{e}");
}

#[test]
fn bad_values_name_the_path() {
    let e =
        err("model_list:\n  - model_name: a\n    litellm_params: {model: openai/a, rpm: lots}\n");
    assert!(e.starts_with("model_list[0].litellm_params.rpm:"), "{e}");
    let e = err("model_list:\n  - model_name: a\n    litellm_params: {model: openai/a, api_base: 'ftp://x'}\n");
    assert!(
        e.starts_with("model_list[0].litellm_params.api_base:"),
        "{e}"
    );
    let e =
        err("model_list:\n  - model_name: a\n    litellm_params: {model: openai/a, timeout: -1}\n");
    assert!(
        e.starts_with("model_list[0].litellm_params.timeout:"),
        "{e}"
    );
    let e = err("model_list:\n  - model_name: a\n    litellm_params: {model: azure/a}\n");
    assert!(
        e.starts_with("model_list[0].litellm_params.api_base: required for azure"),
        "{e}"
    );
    let e =
        err("model_list:\n  - model_name: a\n    litellm_params: {model: openai/a, weight: -1}\n");
    assert!(e.starts_with("model_list[0].litellm_params.weight:"), "{e}");
}

#[test]
fn env_errors_name_the_path() {
    let e = err("general_settings: {master_key: os.environ/NOPE}\n");
    assert_eq!(
        e,
        "general_settings.master_key: environment variable NOPE is not set"
    );
}

#[test]
fn references_must_exist() {
    let base = "model_list:\n  - model_name: a\n    litellm_params: {model: openai/a}\n";
    let e = err(&format!(
        "{base}router_settings:\n  fallbacks: [{{a: [zzz]}}]\n"
    ));
    assert_eq!(
        e,
        "router_settings.fallbacks[0].a[0]: unknown model group \"zzz\""
    );
    let e = err(&format!(
        "{base}router_settings:\n  model_group_alias: {{best: zzz}}\n"
    ));
    assert_eq!(
        e,
        "router_settings.model_group_alias.best: unknown model group \"zzz\""
    );
    let e = err(&format!(
        "{base}router_settings:\n  routing_strategy: cost-based-routing\n"
    ));
    assert!(e.starts_with("router_settings.routing_strategy:"), "{e}");
}

#[test]
fn duplicate_ids_and_bad_documents() {
    let e = err("model_list:\n  - model_name: a\n    litellm_params: {model: openai/a}\n    model_info: {id: x}\n  - model_name: b\n    litellm_params: {model: openai/b}\n    model_info: {id: x}\n");
    assert!(
        e.starts_with("model_list[1].model_info.id: duplicate"),
        "{e}"
    );
    assert!(err("- a\n- b\n").contains("top level must be a mapping"));
    assert!(err("a: [\n").contains("not valid YAML"));
    assert!(load("").unwrap().deployments.is_empty());
}

#[test]
fn request_size_limit() {
    let c = load("general_settings: {max_request_size_mb: 0.5}\n").unwrap();
    assert_eq!(c.max_request_bytes, 512 * 1024);
    assert!(err("general_settings: {max_request_size_mb: 0}\n")
        .starts_with("general_settings.max_request_size_mb:"));
}

#[test]
fn env_values_are_trimmed_and_credentials_header_safe() {
    let text = "model_list:\n  - model_name: a\n    litellm_params: {model: openai/a, api_key: os.environ/P}\ngeneral_settings: {master_key: os.environ/M}\nkeys:\n  - key: os.environ/D\n";
    let vars = |m: &'static str, p: &'static str, d: &'static str| {
        move |n: &str| match n {
            "M" => Some(m.to_string()),
            "P" => Some(p.to_string()),
            "D" => Some(d.to_string()),
            _ => None,
        }
    };
    // A secret file's trailing newline is dropped.
    let c = Config::load(text, &vars("sk-m\n", " sk-p\r\n", "sk-declared\n")).unwrap();
    assert_eq!(c.master_key.as_deref(), Some("sk-m"));
    assert_eq!(c.deployments[0].api_key.as_deref(), Some("sk-p"));
    assert!(c.declared_keys.contains_key(&hash_key("sk-declared")));
    // Embedded control characters cannot go into a header: refused, by path.
    for (m, p, d, path) in [
        (
            "sk-m\nx",
            "sk-p",
            "sk-declared",
            "general_settings.master_key:",
        ),
        (
            "sk-m",
            "sk-p\nx-injected: 1",
            "sk-declared",
            "model_list[0].litellm_params.api_key:",
        ),
        ("sk-m", "sk-p", "sk-decl ared", "keys[0].key:"),
        (
            "sk-m\u{FFFD}",
            "sk-p",
            "sk-declared",
            "general_settings.master_key:",
        ),
    ] {
        let e = Config::load(text, &vars(m, p, d)).unwrap_err().to_string();
        assert!(e.starts_with(path), "{e}");
        assert!(!e.contains("sk-p\n") && !e.contains("sk-m\n"), "{e}");
    }
}

#[test]
fn request_receive_timeout() {
    assert_eq!(load("").unwrap().request_receive_timeout_ms, 60_000);
    let c = load("general_settings: {request_receive_timeout: 2.5}\n").unwrap();
    assert_eq!(c.request_receive_timeout_ms, 2_500);
    for bad in ["0", "-1", "100000", ".nan"] {
        assert!(
            err(&format!(
                "general_settings: {{request_receive_timeout: {bad}}}\n"
            ))
            .starts_with("general_settings.request_receive_timeout:"),
            "{bad}"
        );
    }
}

#[test]
fn json_configs_load_too() {
    let c = load(r#"{"model_list":[{"model_name":"a","litellm_params":{"model":"openai/a"}}]}"#)
        .unwrap();
    assert_eq!(c.deployments[0].model, "a");
}

#[test]
fn env_refs_are_listed_without_resolving() {
    let refs = Config::env_refs(GOOD).unwrap();
    let vars: Vec<_> = refs.iter().map(|r| r.var.as_str()).collect();
    assert_eq!(vars, vec!["OPENAI_API_KEY", "MASTER"]);
    assert_eq!(refs[1].path, "general_settings.master_key");
}

#[test]
fn health_check_settings() {
    let c = load("").unwrap();
    assert_eq!(c.health, crate::health::Settings::default());
    assert!(!c.health.background);
    assert_eq!(
        (c.health.interval_ms, c.health.timeout_ms),
        (300_000, 10_000)
    );
    let c = load(
        "general_settings: {background_health_checks: true, health_check_interval: 1, health_check_timeout: 0.5}\n",
    )
    .unwrap();
    assert!(c.health.background);
    assert_eq!((c.health.interval_ms, c.health.timeout_ms), (1_000, 500));
    for (field, bad, want) in [
        ("health_check_interval", "0.5", "at least 1 second"),
        ("health_check_interval", "-3", "out of range"),
        ("health_check_timeout", "0", "out of range"),
        ("background_health_checks", "sometimes", "invalid type"),
    ] {
        let e = err(&format!("general_settings: {{{field}: {bad}}}\n"));
        assert!(
            e.starts_with(&format!("general_settings.{field}:")) && e.contains(want),
            "{e}"
        );
    }
}

#[test]
fn per_deployment_health_check_fields() {
    let dep = |info: &str| {
        load(&format!(
            "model_list:\n  - model_name: a\n    litellm_params: {{model: openai/a}}\n    model_info: {info}\n"
        ))
    };
    let d = &dep("{health_check_model: openai/gpt-4o-mini, disable_background_health_check: true}")
        .unwrap()
        .deployments[0];
    assert_eq!(d.health_check_model.as_deref(), Some("gpt-4o-mini"));
    assert!(!d.health_check);
    let d = &dep("{health_check_model: meta-llama/Llama-3.1-8B, mode: chat}")
        .unwrap()
        .deployments[0];
    assert_eq!(
        d.health_check_model.as_deref(),
        Some("meta-llama/Llama-3.1-8B")
    );
    assert!(d.health_check, "checked unless disabled");
    assert_eq!(d.mode.as_deref(), Some("chat"));
    let e = dep("{health_check_model: anthropic/claude-x}")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("model_list[0].model_info.health_check_model: ")
            && e.contains("names provider anthropic"),
        "{e}"
    );
    let e = dep("{health_check_model: ' '}").unwrap_err().to_string();
    assert!(
        e.starts_with("model_list[0].model_info.health_check_model: must not be empty"),
        "{e}"
    );
    let e = dep("{disable_health_check: true}").unwrap_err().to_string();
    assert!(
        e.starts_with("model_list[0].model_info") && e.contains("unknown field"),
        "{e}"
    );
}

#[test]
fn metrics_key_label_settings() {
    let c = load(GOOD).unwrap();
    assert_eq!(c.metrics, crate::metrics::Settings::default());
    let with = |gs: &str| {
        load(&format!(
            "model_list: [{{model_name: m, litellm_params: {{model: openai/m}}}}]\ngeneral_settings: {{{gs}}}\n"
        ))
    };
    let c = with("metrics_key_label: metadata.department, metrics_key_label_limit: 5").unwrap();
    assert_eq!(
        c.metrics.key_label,
        crate::metrics::KeyLabel::Metadata("department".into())
    );
    assert_eq!(c.metrics.key_limit, 5);
    let e = with("metrics_key_label: token").unwrap_err();
    assert_eq!(e.path, "general_settings.metrics_key_label");
    assert!(e.message.contains("key_alias"), "{}", e.message);
    let e = with("metrics_key_label_limit: 0").unwrap_err();
    assert_eq!(e.path, "general_settings.metrics_key_label_limit");
}
