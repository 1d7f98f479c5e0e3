//! Options of `render --target k8s` and `render --target istio`.

use super::{port_value, Parsed};
use std::path::PathBuf;

/// The crate version: default image tags follow the CLI that rendered them.
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Longest `--name`: room for the suffixes of derived names within Kubernetes' 63.
pub const MAX_NAME: usize = 40;

/// Options of `render --target k8s`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct K8sArgs {
    /// Namespace of every resource (assumed to exist).
    pub namespace: String,
    /// Base name of every resource.
    pub name: String,
    /// Listener, container and Service port.
    pub port: u16,
    /// Envoy container image.
    pub envoy_image: String,
    /// Image whose /tollgate.wasm the init container copies.
    pub wasm_image: String,
    /// Minimum replicas (HPA minReplicas).
    pub replicas: u32,
    /// Maximum replicas (HPA maxReplicas).
    pub max_replicas: u32,
    /// Graceful drain before the pod stops, in seconds.
    pub drain_seconds: u32,
    /// Where to write the Secret template, if asked.
    pub secret_template: Option<PathBuf>,
}

/// How the Istio target installs the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IstioPlugin {
    /// An EnvoyFilter adding the complete Wasm extension config (ECDS) and the HTTP
    /// filter that uses it: the only way to set allow_on_headers_stop_iteration today.
    EnvoyFilter,
    /// A WasmPlugin plus an EXTENSION_CONFIG MERGE patch, which istiod does not apply.
    WasmPlugin,
}

/// Options of `render --target istio`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IstioArgs {
    /// Namespace of every resource (the gateway's).
    pub namespace: String,
    /// Base name of every resource.
    pub name: String,
    /// Where istio-agent fetches the module (oci://, https://, http:// or file://).
    pub wasm_url: String,
    /// Labels of the gateway pods, in the order given.
    pub selector: Vec<(String, String)>,
    /// How the filter is installed.
    pub plugin: IstioPlugin,
    /// Where to write the Secret template, if asked.
    pub secret_template: Option<PathBuf>,
}

pub(super) fn parse_k8s(p: &mut Parsed) -> Result<K8sArgs, String> {
    let replicas = match p.take(&["--replicas"]) {
        Some(v) => count("--replicas", &v, 1)?,
        None => 2,
    };
    let max_replicas = match p.take(&["--max-replicas"]) {
        Some(v) => count("--max-replicas", &v, 1)?,
        None => replicas.max(10),
    };
    if max_replicas < replicas {
        return Err(format!(
            "--max-replicas {max_replicas} is below --replicas {replicas}"
        ));
    }
    let port = match p.take(&["--port"]) {
        Some(v) => port_value("--port", &v, false)?,
        None => 4000,
    };
    if port < 1024 {
        // The pod runs as a non-root user, which cannot bind privileged ports.
        return Err(format!(
            "--port {port}: the pod runs as non-root and cannot bind ports below 1024"
        ));
    }
    Ok(K8sArgs {
        namespace: dns_label("--namespace", p.take(&["--namespace"]), "tollgate", 63)?,
        name: dns_label("--name", p.take(&["--name"]), "tollgate", MAX_NAME)?,
        port,
        envoy_image: image(
            "--envoy-image",
            p.take(&["--envoy-image"]),
            "envoyproxy/envoy:v1.40-latest",
        )?,
        wasm_image: image(
            "--wasm-image",
            p.take(&["--wasm-image"]),
            &format!("tollgate/filter-wasm:{VERSION}"),
        )?,
        replicas,
        max_replicas,
        drain_seconds: match p.take(&["--drain-seconds"]) {
            Some(v) => count("--drain-seconds", &v, 0)?,
            None => 20,
        },
        secret_template: p.take(&["--secret-template"]).map(PathBuf::from),
    })
}

pub(super) fn parse_istio(p: &mut Parsed) -> Result<IstioArgs, String> {
    let wasm_url = p
        .take(&["--wasm-url"])
        .unwrap_or_else(|| format!("oci://tollgate/filter-wasm-plugin:{VERSION}"));
    if !["oci://", "https://", "http://", "file://"]
        .iter()
        .any(|s| wasm_url.starts_with(s))
        || wasm_url.contains(char::is_whitespace)
    {
        return Err(format!(
            "--wasm-url: {wasm_url:?} must start with oci://, https://, http:// or file://"
        ));
    }
    let plugin = match p.take(&["--plugin"]).as_deref() {
        None | Some("envoyfilter") => IstioPlugin::EnvoyFilter,
        Some("wasmplugin") => IstioPlugin::WasmPlugin,
        Some(other) => {
            return Err(format!(
                "--plugin: {other:?} is not envoyfilter or wasmplugin"
            ))
        }
    };
    Ok(IstioArgs {
        namespace: dns_label("--namespace", p.take(&["--namespace"]), "istio-system", 63)?,
        name: dns_label("--name", p.take(&["--name"]), "tollgate", MAX_NAME)?,
        wasm_url,
        selector: selector(
            &p.take(&["--selector"])
                .unwrap_or_else(|| "istio=ingressgateway".into()),
        )?,
        plugin,
        secret_template: p.take(&["--secret-template"]).map(PathBuf::from),
    })
}

fn count(name: &str, v: &str, min: u32) -> Result<u32, String> {
    match v.parse::<u32>() {
        Ok(n) if n >= min && n <= 10_000 => Ok(n),
        _ => Err(format!(
            "{name}: {v:?} is not a whole number from {min} to 10000"
        )),
    }
}

/// An RFC 1035 label (what Service names need): lowercase letters, digits and '-',
/// starting with a letter, ending with a letter or digit.
fn dns_label(
    flag: &str,
    value: Option<String>,
    default: &str,
    max: usize,
) -> Result<String, String> {
    let v = value.unwrap_or_else(|| default.to_string());
    let ok = !v.is_empty()
        && v.len() <= max
        && v.starts_with(|c: char| c.is_ascii_lowercase())
        && v.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(v)
    } else {
        Err(format!(
            "{flag}: {v:?} must be 1-{max} lowercase letters, digits or '-', starting with a letter"
        ))
    }
}

fn image(flag: &str, value: Option<String>, default: &str) -> Result<String, String> {
    let v = value.unwrap_or_else(|| default.to_string());
    if v.is_empty() || v.contains(char::is_whitespace) {
        return Err(format!("{flag}: {v:?} is not an image reference"));
    }
    Ok(v)
}

/// `k=v[,k=v]`: label keys and values as Kubernetes allows them in a selector.
fn selector(v: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for part in v.split(',') {
        let Some((k, val)) = part.split_once('=') else {
            return Err(format!("--selector: {part:?} is not KEY=VALUE"));
        };
        let (k, val) = (k.trim(), val.trim());
        let key_ok = !k.is_empty()
            && k.len() <= 253
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
        let value_ok = val.len() <= 63
            && val
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !key_ok || !value_ok {
            return Err(format!("--selector: {part:?} is not a valid label"));
        }
        if out.iter().any(|(seen, _)| seen == k) {
            return Err(format!("--selector: label {k:?} given twice"));
        }
        out.push((k.to_string(), val.to_string()));
    }
    Ok(out)
}
