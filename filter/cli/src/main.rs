//! `tollgate`: validates a LiteLLM-style config.yaml and renders what runs the
//! tollgate filter with it: an Envoy bootstrap, Kubernetes manifests or Istio resources.

mod args;
mod dynamic;
mod istio;
mod k8s;
mod manifest;
mod render;
mod secrets;
mod validate;

use args::{Command, EnvoyArgs, RenderArgs, Target};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Default module location, relative to the working directory (cargo's output).
const DEFAULT_WASM: &str = "target/wasm32-wasip1/release/tollgate_wasm.wasm";

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let command = match args::parse(&argv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => {
            println!("{}", args::USAGE);
            Ok(())
        }
        Command::Version => {
            println!("tollgate {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Validate { config, no_env } => run_validate(&config, no_env),
        Command::Render(r) => run_render(&r),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn process_env(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

fn read_config(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn run_validate(path: &Path, no_env: bool) -> Result<(), String> {
    let text = read_config(path)?;
    let (cfg, warnings) = validate::validate(&text, no_env, &process_env)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    println!("{}", validate::summary(&cfg));
    Ok(())
}

fn run_render(a: &RenderArgs) -> Result<(), String> {
    let text = read_config(&a.config)?;
    // Headers name the file, not the path, so output does not depend on where it ran.
    let source = a
        .config
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config.yaml".into());
    match &a.target {
        Target::Envoy(e) => run_envoy(a, e, &text),
        Target::K8s(k) => {
            let opts = k8s::Options {
                namespace: k.namespace.clone(),
                name: k.name.clone(),
                port: k.port,
                envoy_image: k.envoy_image.clone(),
                wasm_image: k.wasm_image.clone(),
                replicas: k.replicas,
                max_replicas: k.max_replicas,
                drain_seconds: k.drain_seconds,
                source,
            };
            let out = k8s::render(&text, &opts, &process_env)?;
            let what = format!("namespace {}, port {}", k.namespace, k.port);
            emit(a, &out.yaml, &out.config, &what)?;
            write_template(k.secret_template.as_deref(), &out.secret_template)
        }
        Target::Istio(i) => {
            let opts = istio::Options {
                namespace: i.namespace.clone(),
                name: i.name.clone(),
                wasm_url: i.wasm_url.clone(),
                selector: i.selector.clone(),
                plugin: i.plugin,
                source,
            };
            let out = istio::render(&text, &opts, &process_env)?;
            for w in &out.warnings {
                eprintln!("warning: {w}");
            }
            emit(
                a,
                &out.yaml,
                &out.config,
                &format!("namespace {}", i.namespace),
            )?;
            write_template(i.secret_template.as_deref(), &out.secret_template)
        }
    }
}

/// Writes YAML to the output file (with a summary on stderr) or stdout.
fn emit(a: &RenderArgs, yaml: &str, cfg: &tollgate_core::Config, what: &str) -> Result<(), String> {
    match &a.output {
        Some(out) => {
            std::fs::write(out, yaml)
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            eprintln!(
                "wrote {} ({}; {what})",
                out.display(),
                validate::summary(cfg).trim_start_matches("ok: "),
            );
        }
        None => print!("{yaml}"),
    }
    Ok(())
}

fn write_template(path: Option<&Path>, text: &str) -> Result<(), String> {
    let Some(path) = path else { return Ok(()) };
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!(
        "wrote {} (Secret template: fill in the values)",
        path.display()
    );
    Ok(())
}

fn run_envoy(a: &RenderArgs, e: &EnvoyArgs, text: &str) -> Result<(), String> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    let wasm = absolute(&cwd, e.wasm.as_deref().unwrap_or(Path::new(DEFAULT_WASM)));
    let opts = render::Options {
        listen: e.listen.to_string(),
        port: e.port,
        admin_listen: e.admin_listen.to_string(),
        admin_port: e.admin_port,
        wasm: wasm.to_string_lossy().into_owned(),
        access_log: e.access_log.clone(),
    };
    let rendered = render::render(text, &opts, &process_env)?;
    if !wasm.is_file() {
        eprintln!(
            "warning: {} does not exist yet; Envoy needs it at start-up (build it or pass --wasm)",
            wasm.display()
        );
    }
    let bootstrap = match &e.dynamic {
        Some(dir) => {
            let dir = absolute(&cwd, dir);
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let split = dynamic::split(rendered.bootstrap.clone(), &dir.to_string_lossy())?;
            let source = a.config.display().to_string();
            // Clusters first: a filter config naming a new cluster must not arrive before it.
            dynamic::write_atomically(
                &dir.join(dynamic::CDS_FILE),
                &render::to_yaml(&split.cds, &source)?,
            )?;
            dynamic::write_atomically(
                &dir.join(dynamic::ECDS_FILE),
                &render::to_yaml(&split.ecds, &source)?,
            )?;
            split.bootstrap
        }
        None => rendered.bootstrap.clone(),
    };
    let yaml = render::to_yaml(&bootstrap, &a.config.display().to_string())?;
    let what = format!(
        "listener {}:{}, admin {}:{}",
        opts.listen, opts.port, opts.admin_listen, opts.admin_port
    );
    emit(a, &yaml, &rendered.config, &what)
}

/// Joins relative paths onto `cwd` without touching the file system (it may not exist yet).
fn absolute(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        return p.to_path_buf();
    }
    let mut out = cwd.to_path_buf();
    out.extend(
        p.components()
            .filter(|c| !matches!(c, std::path::Component::CurDir)),
    );
    out
}
