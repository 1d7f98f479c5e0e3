//! `tollgate`: validates a LiteLLM-style config.yaml and renders the Envoy
//! bootstrap that runs the tollgate filter with it.

mod args;
mod dynamic;
mod render;
mod secrets;
mod validate;

use args::{Command, RenderArgs};
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
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    let wasm = absolute(&cwd, a.wasm.as_deref().unwrap_or(Path::new(DEFAULT_WASM)));
    let opts = render::Options {
        listen: a.listen.to_string(),
        port: a.port,
        admin_listen: a.admin_listen.to_string(),
        admin_port: a.admin_port,
        wasm: wasm.to_string_lossy().into_owned(),
        access_log: a.access_log.clone(),
    };
    let rendered = render::render(&text, &opts, &process_env)?;
    if !wasm.is_file() {
        eprintln!(
            "warning: {} does not exist yet; Envoy needs it at start-up (build it or pass --wasm)",
            wasm.display()
        );
    }
    let bootstrap = match &a.dynamic {
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
    match &a.output {
        Some(out) => {
            std::fs::write(out, yaml)
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            eprintln!(
                "wrote {} ({}; listener {}:{}, admin {}:{})",
                out.display(),
                validate::summary(&rendered.config).trim_start_matches("ok: "),
                opts.listen,
                opts.port,
                opts.admin_listen,
                opts.admin_port,
            );
        }
        None => print!("{yaml}"),
    }
    Ok(())
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
