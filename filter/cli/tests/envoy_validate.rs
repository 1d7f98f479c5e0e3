//! Renders a bootstrap with https and http upstreams and has a real Envoy check it
//! (`envoy --mode validate`).
//!
//! Needs `TOLLGATE_ENVOY` (path to an Envoy binary) and a built filter module:
//! Envoy's validate mode instantiates the wasm VM and runs the plugin's
//! on_configure, so a stub module is refused ("Missing or unknown Proxy-Wasm ABI
//! version", "missing malloc function"). The module is `TOLLGATE_WASM`, else the
//! workspace's `target/wasm32-wasip1/release/tollgate_wasm.wasm`.

use std::path::{Path, PathBuf};
use std::process::Command;

const CONFIG: &str = "\
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/TOLLGATE_TEST_OPENAI_KEY
  - model_name: claude
    litellm_params:
      model: anthropic/claude-sonnet-4
      api_key: os.environ/TOLLGATE_TEST_ANTHROPIC_KEY
  - model_name: local
    litellm_params:
      model: openai/llama
      api_base: os.environ/TOLLGATE_TEST_MOCK_BASE
  - model_name: local
    litellm_params:
      model: openai/llama
      api_base: http://localhost:8000/v1
router_settings:
  model_group_alias: {best: gpt-4o}
general_settings:
  master_key: os.environ/TOLLGATE_TEST_MASTER_KEY
  max_request_size_mb: 4
";

/// Environment for both the render and Envoy (the filter resolves the same names).
const ENV: [(&str, &str); 4] = [
    ("TOLLGATE_TEST_OPENAI_KEY", "sk-test-openai-NOT-IN-OUTPUT"),
    (
        "TOLLGATE_TEST_ANTHROPIC_KEY",
        "sk-test-anthropic-NOT-IN-OUTPUT",
    ),
    ("TOLLGATE_TEST_MASTER_KEY", "sk-test-master-NOT-IN-OUTPUT"),
    ("TOLLGATE_TEST_MOCK_BASE", "http://127.0.0.1:18081/v1"),
];

fn wasm_module() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TOLLGATE_WASM") {
        return Some(PathBuf::from(p));
    }
    let default = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/wasm32-wasip1/release/tollgate_wasm.wasm");
    default.is_file().then_some(default)
}

#[test]
fn rendered_bootstrap_passes_envoy_validate() {
    let Some(envoy) = std::env::var_os("TOLLGATE_ENVOY") else {
        eprintln!("note: TOLLGATE_ENVOY is not set; skipping the Envoy validation test");
        return;
    };
    let Some(wasm) = wasm_module() else {
        panic!(
            "TOLLGATE_ENVOY is set but no filter module was found: Envoy's validate mode loads \
             the wasm VM, so build it (cargo build -p tollgate-wasm --release --target \
             wasm32-wasip1) or set TOLLGATE_WASM"
        );
    };
    let dir = std::env::temp_dir().join(format!("tollgate-cli-envoy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.yaml");
    let out = dir.join("envoy.yaml");
    std::fs::write(&config, CONFIG).unwrap();

    let render = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .arg("render")
        .arg(&config)
        .args(["--port", "10000", "--admin-port", "0", "--wasm"])
        .arg(&wasm)
        .arg("-o")
        .arg(&out)
        .envs(ENV)
        .output()
        .unwrap();
    assert!(
        render.status.success(),
        "render failed: {}",
        String::from_utf8_lossy(&render.stderr)
    );
    let yaml = std::fs::read_to_string(&out).unwrap();
    for (_, value) in &ENV[..3] {
        assert!(!yaml.contains(value), "secret {value} in the bootstrap");
    }
    assert!(yaml.contains("tollgate_https_api_openai_com_443"));
    assert!(yaml.contains("tollgate_https_api_anthropic_com_443"));
    assert!(yaml.contains("tollgate_http_127_0_0_1_18081"));
    assert!(yaml.contains("tollgate_http_localhost_8000"));

    let validate = Command::new(&envoy)
        .args(["--mode", "validate", "-c"])
        .arg(&out)
        .envs(ENV)
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&validate.stdout),
        String::from_utf8_lossy(&validate.stderr)
    );
    assert!(
        validate.status.success(),
        "envoy --mode validate failed:\n{log}"
    );
    assert!(log.contains("OK"), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}
