//! The `tollgate` binary's exit codes and messages.
// Counts the helpers as test code, so clippy's allow-unwrap-in-tests covers them.
#![cfg(test)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn tollgate(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn temp_config(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const CONFIG: &str = "\
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY}
  - model_name: local
    litellm_params: {model: openai/llama, api_base: os.environ/LOCAL_BASE}
";

#[test]
fn validate_ok_and_env_errors() {
    let p = temp_config("validate.yaml", CONFIG);
    let p = p.to_str().unwrap();
    let env = [
        ("OPENAI_API_KEY", "sk-x"),
        ("LOCAL_BASE", "http://10.1.2.3:8000"),
    ];
    let o = tollgate(&["validate", p], &env);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "ok: 2 deployments in 2 model groups, 0 aliases, 2 upstream clusters\n"
    );

    let o = tollgate(&["validate", p], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "error: model_list[0].litellm_params.api_key: environment variable OPENAI_API_KEY is not set\n"
    );

    let o = tollgate(&["validate", "--no-env", p], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).starts_with(
        "warning: model_list[1].litellm_params.api_base: LOCAL_BASE is not set; validating with http://placeholder.invalid"
    ));
}

#[test]
fn validate_reports_config_errors_and_missing_file() {
    let p = temp_config(
        "bad.yaml",
        "model_list:\n- model_name: a\n  litellm_params: {model: foo/x}\n",
    );
    let o = tollgate(&["validate", p.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o)
            .starts_with("error: model_list[0].litellm_params.model: unknown provider \"foo\""),
        "{}",
        stderr(&o)
    );

    let o = tollgate(&["validate", "/nonexistent/config.yaml"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error: cannot read /nonexistent/config.yaml:"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn render_refuses_literal_secret() {
    let p = temp_config(
        "literal.yaml",
        "model_list:\n- model_name: a\n  litellm_params: {model: openai/x, api_key: sk-live-123}\n",
    );
    let o = tollgate(&["render", p.to_str().unwrap(), "--port", "10000"], &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.ends_with(
        "error: model_list[0].litellm_params.api_key: literal secret; write os.environ/VAR so it is read from Envoy's environment at run time\n"
    ), "{err}");
    assert!(stdout(&o).is_empty());
}

#[test]
fn render_needs_api_base_variables_but_not_secrets() {
    let p = temp_config("render.yaml", CONFIG);
    let p = p.to_str().unwrap();
    let o = tollgate(&["render", p, "--port", "10000"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("error: model_list[1].litellm_params.api_base: environment variable LOCAL_BASE is not set; api_base variables must be set when rendering"),
        "{}",
        stderr(&o)
    );

    let o = tollgate(
        &["render", p, "--port", "10000", "--wasm", "/opt/f.wasm"],
        &[("LOCAL_BASE", "http://10.1.2.3:8000")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let yaml = stdout(&o);
    assert!(yaml.contains("filename: /opt/f.wasm"));
    assert!(yaml.contains("tollgate_http_10_1_2_3_8000"));
    let doc: serde_yaml::Value = serde_yaml::from_str(&yaml).unwrap();
    assert!(doc["static_resources"]["listeners"][0]["name"] == "tollgate");
}

#[test]
fn usage_errors_exit_2() {
    let o = tollgate(&["render", "x.yaml"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("render needs --port"));
    let o = tollgate(&[], &[]);
    assert_eq!(o.status.code(), Some(2));
    let o = tollgate(&["--help"], &[]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("tollgate render CONFIG --port N"));
}

#[test]
fn render_k8s_and_istio_write_manifests_and_secret_templates() {
    let p = temp_config("deploy.yaml", CONFIG);
    let p = p.to_str().unwrap();
    let dir = p.trim_end_matches("deploy.yaml");
    let env = [("LOCAL_BASE", "http://10.1.2.3:8000")];
    for (target, kinds) in [
        ("k8s", &["ConfigMap", "Deployment", "Service"][..]),
        (
            "istio",
            &["EnvoyFilter", "ServiceEntry", "DestinationRule"][..],
        ),
    ] {
        let out = format!("{dir}{target}.yaml");
        let template = format!("{dir}{target}-secret.yaml");
        let o = tollgate(
            &[
                "render",
                p,
                "--target",
                target,
                "-o",
                &out,
                "--secret-template",
                &template,
            ],
            &env,
        );
        assert!(o.status.success(), "{target}: {}", stderr(&o));
        assert!(stdout(&o).is_empty());
        let err = stderr(&o);
        assert!(
            err.contains(&format!("wrote {out} (2 deployments")),
            "{err}"
        );
        assert!(
            err.contains(&format!("wrote {template} (Secret template")),
            "{err}"
        );
        let yaml = std::fs::read_to_string(&out).unwrap();
        for kind in kinds {
            assert!(
                yaml.contains(&format!("\nkind: {kind}\n")),
                "{target}: {kind}"
            );
        }
        let secret = std::fs::read_to_string(&template).unwrap();
        assert!(secret.contains("OPENAI_API_KEY: ''"), "{secret}");
    }
    let o = tollgate(
        &["render", p, "--target", "istio", "--plugin", "wasmplugin"],
        &env,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).starts_with("warning: --plugin wasmplugin"));
    let o = tollgate(&["render", p, "--target", "k8s", "--wasm", "x"], &env);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--wasm does not apply to --target k8s"));
}
