//! `render --target istio`: the filter on an Istio ingress gateway.
//!
//! The filter names its upstream in `x-tollgate-cluster` with tollgate's own cluster
//! names and rewrites `:authority` to the provider's host. On a gateway Istio owns the
//! clusters (`outbound|PORT||HOST`, made from ServiceEntries and DestinationRules) and
//! the routes, so the output is, in order:
//! - the filter: an EnvoyFilter (default) or a WasmPlugin, see [`plugin`];
//! - an EnvoyFilter adding one virtual host whose domains are the providers' hosts and
//!   whose routes map each tollgate cluster name to Istio's cluster, see [`routes`];
//! - per provider host a ServiceEntry (MESH_EXTERNAL), and for https a DestinationRule
//!   that originates TLS with SNI.

mod plugin;
mod routes;

use crate::args::IstioPlugin;
use crate::manifest;
use crate::render;
use serde_json::{json, Value};
use tollgate_core::{Config, Upstream};

/// What the resources are made of.
#[derive(Debug, Clone)]
pub struct Options {
    /// Namespace of every resource (the gateway's; Istio applies EnvoyFilters there).
    pub namespace: String,
    /// Base name of every resource.
    pub name: String,
    /// Module URL for istio-agent (oci://, https://, http://, file://).
    pub wasm_url: String,
    /// Gateway pod labels.
    pub selector: Vec<(String, String)>,
    /// How the filter is installed.
    pub plugin: IstioPlugin,
    /// Config file name, for the header.
    pub source: String,
}

/// The rendered resources.
#[derive(Debug)]
pub struct Output {
    /// The multi-document YAML.
    pub yaml: String,
    /// A Secret with the keys to fill in (empty values).
    pub secret_template: String,
    /// The loaded config, for the summary line.
    pub config: Config,
    /// Things the operator must know before applying.
    pub warnings: Vec<String>,
}

/// How Istio knows an upstream host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// A DNS name outside the mesh: ServiceEntry with DNS resolution.
    External,
    /// An IP literal: ServiceEntry with a static endpoint under a made-up host name.
    Ip,
    /// A Kubernetes Service (`*.svc`, `*.svc.cluster.local`): already in Istio's registry.
    Mesh,
}

/// One upstream as Istio sees it.
#[derive(Debug, Clone)]
pub struct Dest<'a> {
    /// The upstream the filter picks.
    pub upstream: &'a Upstream,
    /// The service host in Istio's registry.
    pub host: String,
    /// How that host is known.
    pub kind: HostKind,
}

impl Dest<'_> {
    /// The cluster Istio generates for this host and port.
    pub fn cluster(&self) -> String {
        format!("outbound|{}||{}", self.upstream.port, self.host)
    }
}

/// Istio's view of every upstream, in the config's first-use order.
pub fn destinations(cfg: &Config) -> Result<Vec<Dest<'_>>, String> {
    let mut out: Vec<Dest> = Vec::new();
    for u in cfg.upstreams() {
        let (host, kind) = if u.is_ip() {
            let label = manifest::dns_name(&["ip", &u.host]);
            (format!("{label}.tollgate.internal"), HostKind::Ip)
        } else if u.host.ends_with(".svc.cluster.local") {
            (u.host.clone(), HostKind::Mesh)
        } else if u.host.ends_with(".svc") {
            // Istio names Services by their full name; cluster.local is the default domain.
            (format!("{}.cluster.local", u.host), HostKind::Mesh)
        } else {
            (u.host.clone(), HostKind::External)
        };
        if let Some(other) = out
            .iter()
            .find(|d| d.host == host && d.upstream.port == u.port)
        {
            // One Istio cluster per host and port cannot be both TLS and plain.
            return Err(format!(
                "{} and {} use the same host and port with different schemes; Istio has one cluster per host and port",
                other.upstream.cluster, u.cluster
            ));
        }
        out.push(Dest {
            upstream: u,
            host,
            kind,
        });
    }
    Ok(out)
}

/// Validates `text` against `env` and renders the resources.
pub fn render(
    text: &str,
    o: &Options,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Output, String> {
    // The bootstrap is not used, but rendering it runs every check the other targets do.
    let opts = render::Options {
        listen: "0.0.0.0".into(),
        port: 8080,
        admin_listen: "127.0.0.1".into(),
        admin_port: 15000,
        wasm: "/plugin.wasm".into(),
        access_log: "/dev/stdout".into(),
    };
    let rendered = render::render(text, &opts, env)?;
    let plan = manifest::env_plan(text, env)?;
    let dests = destinations(&rendered.config)?;
    let mut docs = plugin::resources(o, &rendered, &plan)?;
    docs.push(routes::envoy_filter(o, &rendered.config, &dests));
    for (host, group) in by_host(&dests) {
        if group[0].kind != HostKind::Mesh {
            docs.push(service_entry(o, host, &group));
        }
        if group.iter().any(|d| d.upstream.tls) {
            docs.push(destination_rule(o, host, &group));
        }
    }
    docs.push(stats_bootstrap(o));
    let mut warnings = Vec::new();
    if o.plugin == IstioPlugin::WasmPlugin {
        warnings.push(plugin::WASMPLUGIN_WARNING.to_string());
    }
    let yaml = manifest::documents(&plugin::header(o, &plan), &docs)?;
    let template = manifest::documents(
        &[format!(
            "Fill in and apply, then give the gateway pods these variables (docs/deploy.md). Rendered from {}.",
            o.source
        )],
        &[manifest::secret_template(&o.name, &o.namespace, &plan.secret)],
    )?;
    Ok(Output {
        yaml,
        secret_template: template,
        config: rendered.config,
        warnings,
    })
}

/// The pod annotation that merges a ConfigMap's `custom_bootstrap.json` into the
/// bootstrap istio-agent writes for the proxy.
pub const BOOTSTRAP_OVERRIDE_ANNOTATION: &str = "sidecar.istio.io/bootstrapOverride";

/// Name of the ConfigMap with the metrics' tag extraction.
pub fn stats_bootstrap_name(o: &Options) -> String {
    manifest::dns_name(&[&o.name, "stats-tags"])
}

/// The bootstrap fragment that turns the filter's metric names into labels
/// (`stats_config.stats_tags`, appended to Istio's own); EnvoyFilter cannot
/// reach stats_config, so the gateway pods load it with
/// [`BOOTSTRAP_OVERRIDE_ANNOTATION`].
fn stats_bootstrap(o: &Options) -> Value {
    let fragment = json!({"stats_config": {"stats_tags": render::stats_tags()}});
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": manifest::metadata(&stats_bootstrap_name(o), &o.namespace, &o.name),
        "data": {"custom_bootstrap.json": fragment.to_string()},
    })
}

/// Destinations grouped by registry host, hosts in first-use order.
fn by_host<'a, 'b>(dests: &'b [Dest<'a>]) -> Vec<(&'b str, Vec<&'b Dest<'a>>)> {
    let mut out: Vec<(&str, Vec<&Dest>)> = Vec::new();
    for d in dests {
        match out.iter_mut().find(|(h, _)| *h == d.host) {
            Some((_, group)) => group.push(d),
            None => out.push((&d.host, vec![d])),
        }
    }
    out
}

fn object_name(o: &Options, host: &str) -> String {
    manifest::dns_name(&[&o.name, host])
}

fn service_entry(o: &Options, host: &str, group: &[&Dest]) -> Value {
    // The gateway speaks plain HTTP to these ports; the DestinationRule adds TLS.
    let ports: Vec<Value> = group
        .iter()
        .map(|d| json!({"number": d.upstream.port, "name": format!("http-{}", d.upstream.port), "protocol": "HTTP"}))
        .collect();
    let mut spec = json!({
        "hosts": [host],
        "location": "MESH_EXTERNAL",
        "ports": ports,
        // Only this namespace's proxies (the gateway) see it: a sidecar elsewhere that
        // calls the provider with its own TLS is not turned into plain HTTP.
        "exportTo": ["."],
    });
    if group[0].kind == HostKind::Ip {
        spec["resolution"] = json!("STATIC");
        spec["endpoints"] = json!([{"address": group[0].upstream.host}]);
    } else {
        spec["resolution"] = json!("DNS");
    }
    json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "ServiceEntry",
        "metadata": manifest::metadata(&object_name(o, host), &o.namespace, &o.name),
        "spec": spec,
    })
}

fn destination_rule(o: &Options, host: &str, group: &[&Dest]) -> Value {
    let settings: Vec<Value> = group
        .iter()
        .filter(|d| d.upstream.tls)
        .map(|d| {
            let mut tls = json!({"mode": "SIMPLE"});
            if !d.upstream.is_ip() {
                // SNI and the certificate's name are the provider's host, as in the bootstrap.
                tls["sni"] = json!(d.upstream.host);
                tls["subjectAltNames"] = json!([d.upstream.host]);
            }
            json!({"port": {"number": d.upstream.port}, "tls": tls})
        })
        .collect();
    json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": manifest::metadata(&object_name(o, host), &o.namespace, &o.name),
        "spec": {
            "host": host,
            "exportTo": ["."],
            "trafficPolicy": {"portLevelSettings": settings},
        },
    })
}

/// `workloadSelector.labels` / `selector.matchLabels` from the `--selector` pairs.
pub fn selector_labels(o: &Options) -> Value {
    Value::Object(
        o.selector
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

#[cfg(test)]
mod tests;
