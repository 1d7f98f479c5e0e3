//! Command-line parsing, by hand: two subcommands do not justify a parser dependency.

mod deploy;

pub use deploy::{IstioArgs, IstioPlugin, K8sArgs};

use std::net::IpAddr;
use std::path::PathBuf;

/// Printed for `help`, `--help` and usage errors.
pub const USAGE: &str = "\
usage:
  tollgate validate CONFIG [--no-env]
  tollgate render CONFIG --port N [--admin-port N] [--listen ADDR] [--admin-listen ADDR]
                         [--wasm PATH] [--access-log PATH] [-o FILE]
  tollgate render CONFIG --target k8s [--namespace NS] [--name NAME] [--port N]
                         [--envoy-image IMG] [--wasm-image IMG] [--replicas N]
                         [--max-replicas N] [--drain-seconds N] [--secret-template FILE] [-o FILE]
  tollgate render CONFIG --target istio [--namespace NS] [--name NAME] [--wasm-url URL]
                         [--selector K=V[,K=V]] [--plugin envoyfilter|wasmplugin]
                         [--secret-template FILE] [-o FILE]
  tollgate help | --version

validate  checks CONFIG (LiteLLM-style config.yaml) with the process environment;
          --no-env fills unset os.environ/ variables with placeholders.
render    writes YAML to stdout or FILE (-o). --target envoy (default): a complete Envoy
          v3 bootstrap.
          --port         listener port (required)
          --listen       listener address (default 0.0.0.0)
          --admin-port   Envoy admin port (default 9901; 0 lets Envoy pick)
          --admin-listen admin address (default 127.0.0.1)
          --wasm         filter module (default ./target/wasm32-wasip1/release/tollgate_wasm.wasm)
          --access-log   JSON access log with spend records (default /dev/stdout)
  --target k8s: ConfigMap, Deployment, Service, PodDisruptionBudget and
          HorizontalPodAutoscaler in one multi-document stream (see docs/deploy.md).
          --namespace    default tollgate (must exist)      --name     default tollgate
          --port         listener and Service port (default 4000)
          --envoy-image  default envoyproxy/envoy:v1.40-latest
          --wasm-image   image holding /tollgate.wasm (default tollgate/filter-wasm:VERSION)
          --replicas     minimum replicas (default 2)  --max-replicas  default max(10, replicas)
          --drain-seconds  graceful drain on shutdown (default 20)
  --target istio: the filter, its routes, ServiceEntry and DestinationRule resources for
          an Istio ingress gateway.
          --namespace    default istio-system               --name     default tollgate
          --wasm-url     default oci://tollgate/filter-wasm-plugin:VERSION
          --selector     gateway pod labels (default istio=ingressgateway)
          --plugin       envoyfilter (default, sets allow_on_headers_stop_iteration) or
                         wasmplugin (Istio cannot set that flag on it; see docs/deploy.md)
  --secret-template FILE  (k8s, istio) also writes a Secret listing the variables to set,
                         with empty values.";

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `tollgate validate`.
    Validate {
        /// Config file path.
        config: PathBuf,
        /// Use placeholders for unset variables.
        no_env: bool,
    },
    /// `tollgate render`.
    Render(RenderArgs),
    /// `tollgate help`.
    Help,
    /// `tollgate --version`.
    Version,
}

/// Arguments of `tollgate render`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderArgs {
    /// Config file path.
    pub config: PathBuf,
    /// Output file; stdout when absent.
    pub output: Option<PathBuf>,
    /// What to render.
    pub target: Target,
}

/// What `render` produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An Envoy bootstrap for a local process.
    Envoy(EnvoyArgs),
    /// Kubernetes manifests.
    K8s(K8sArgs),
    /// Istio resources for an ingress gateway.
    Istio(IstioArgs),
}

/// Options of `render --target envoy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvoyArgs {
    /// Listener port.
    pub port: u16,
    /// Listener address.
    pub listen: IpAddr,
    /// Admin port (0: Envoy picks).
    pub admin_port: u16,
    /// Admin address.
    pub admin_listen: IpAddr,
    /// Wasm module path as given (made absolute later, against the working directory).
    pub wasm: Option<PathBuf>,
    /// Where Envoy writes the JSON access log with spend records.
    pub access_log: String,
    /// Directory for watched cluster and filter-config files (reload without restart).
    pub dynamic: Option<PathBuf>,
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some((sub, rest)) = args.split_first() else {
        return Err("missing command".into());
    };
    match sub.as_str() {
        "help" | "--help" | "-h" => Ok(Command::Help),
        "--version" | "-V" | "version" => Ok(Command::Version),
        "validate" => parse_validate(rest),
        "render" => parse_render(rest),
        other => Err(format!("unknown command {other:?}")),
    }
}

/// Flags seen on a command line, in order, plus positionals.
pub(crate) struct Parsed {
    flags: Vec<(String, Option<String>)>,
    positional: Vec<String>,
}

impl Parsed {
    /// Removes every occurrence of the flag (any of its spellings); the last value wins.
    pub(crate) fn take(&mut self, names: &[&str]) -> Option<String> {
        let mut last = None;
        self.flags.retain(|(n, v)| {
            if names.contains(&n.as_str()) {
                last = Some(v.clone().unwrap_or_default());
                false
            } else {
                true
            }
        });
        last
    }

    /// Refuses flags no step has taken: they belong to another target.
    pub(crate) fn finish(self, target: &str) -> Result<(), String> {
        match self.flags.first() {
            Some((name, _)) => Err(format!("{name} does not apply to --target {target}")),
            None => Ok(()),
        }
    }
}

/// Splits flags from positionals; `with_value` flags take the next argument or `=value`.
fn split(rest: &[String], with_value: &[&str], switches: &[&str]) -> Result<Parsed, String> {
    let mut out = Parsed {
        flags: Vec::new(),
        positional: Vec::new(),
    };
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            out.positional.extend(it.cloned());
            break;
        }
        if !a.starts_with('-') || a == "-" {
            out.positional.push(a.clone());
            continue;
        }
        let (name, inline) = match a.split_once('=') {
            Some((k, v)) if k.starts_with("--") => (k, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        if with_value.contains(&name) {
            let v = match inline {
                Some(v) => v,
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value"))?,
            };
            out.flags.push((name.to_string(), Some(v)));
        } else if switches.contains(&name) {
            if inline.is_some() {
                return Err(format!("{name} takes no value"));
            }
            out.flags.push((name.to_string(), None));
        } else {
            return Err(format!("unknown option {name:?}"));
        }
    }
    Ok(out)
}

fn one_config(positional: Vec<String>) -> Result<PathBuf, String> {
    let mut it = positional.into_iter();
    match (it.next(), it.next()) {
        (Some(c), None) => Ok(PathBuf::from(c)),
        (None, _) => Err("missing CONFIG path".into()),
        (Some(_), Some(extra)) => Err(format!("unexpected argument {extra:?}")),
    }
}

fn parse_validate(rest: &[String]) -> Result<Command, String> {
    let p = split(rest, &[], &["--no-env"])?;
    Ok(Command::Validate {
        no_env: !p.flags.is_empty(),
        config: one_config(p.positional)?,
    })
}

/// Every render flag that takes a value, whatever the target.
const RENDER_FLAGS: &[&str] = &[
    "--target",
    "--port",
    "--admin-port",
    "--listen",
    "--admin-listen",
    "--wasm",
    "--access-log",
    "--dynamic",
    "-o",
    "--output",
    "--namespace",
    "--name",
    "--envoy-image",
    "--wasm-image",
    "--replicas",
    "--max-replicas",
    "--drain-seconds",
    "--wasm-url",
    "--selector",
    "--plugin",
    "--secret-template",
];

fn parse_render(rest: &[String]) -> Result<Command, String> {
    let mut p = split(rest, RENDER_FLAGS, &[])?;
    let config = one_config(std::mem::take(&mut p.positional))?;
    let output = p.take(&["-o", "--output"]).map(PathBuf::from);
    let target = match p.take(&["--target"]).as_deref() {
        None | Some("envoy") => Target::Envoy(parse_envoy(&mut p)?),
        Some("k8s") | Some("kubernetes") => Target::K8s(deploy::parse_k8s(&mut p)?),
        Some("istio") => Target::Istio(deploy::parse_istio(&mut p)?),
        Some(other) => {
            return Err(format!(
                "--target: unknown target {other:?} (envoy, k8s or istio)"
            ))
        }
    };
    let name = match &target {
        Target::Envoy(_) => "envoy",
        Target::K8s(_) => "k8s",
        Target::Istio(_) => "istio",
    };
    p.finish(name)?;
    Ok(Command::Render(RenderArgs {
        config,
        output,
        target,
    }))
}

fn parse_envoy(p: &mut Parsed) -> Result<EnvoyArgs, String> {
    let port = p
        .take(&["--port"])
        .ok_or("render needs --port N (the listener port)")?;
    let mut r = EnvoyArgs {
        port: port_value("--port", &port, false)?,
        listen: [0, 0, 0, 0].into(),
        admin_port: 9901,
        admin_listen: [127, 0, 0, 1].into(),
        wasm: p.take(&["--wasm"]).map(PathBuf::from),
        access_log: p
            .take(&["--access-log"])
            .unwrap_or_else(|| "/dev/stdout".to_string()),
        dynamic: p.take(&["--dynamic"]).map(PathBuf::from),
    };
    if let Some(v) = p.take(&["--admin-port"]) {
        r.admin_port = port_value("--admin-port", &v, true)?;
    }
    if let Some(v) = p.take(&["--listen"]) {
        r.listen = address("--listen", &v)?;
    }
    if let Some(v) = p.take(&["--admin-listen"]) {
        r.admin_listen = address("--admin-listen", &v)?;
    }
    Ok(r)
}

/// A port number; 0 only where Envoy may pick one.
pub(crate) fn port_value(name: &str, v: &str, zero_ok: bool) -> Result<u16, String> {
    match v.parse::<u16>() {
        Ok(0) if !zero_ok => Err(format!("{name}: 0 is not a usable listener port")),
        Ok(p) => Ok(p),
        Err(_) => Err(format!("{name}: {v:?} is not a port number (0-65535)")),
    }
}

fn address(name: &str, v: &str) -> Result<IpAddr, String> {
    // Envoy's socket_address wants an IP literal; a host name would only fail at start-up.
    v.parse()
        .map_err(|_| format!("{name}: {v:?} is not an IP address (e.g. 0.0.0.0 or ::)"))
}

#[cfg(test)]
mod tests;
