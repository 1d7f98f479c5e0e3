//! What the Kubernetes and Istio renderers share: the variables a deployment must
//! provide, object metadata, the Secret template and multi-document YAML.
//!
//! Output is deterministic: JSON objects keep their keys sorted (serde_json without
//! `preserve_order`), documents come in a fixed order, and nothing depends on time,
//! paths or randomness, so a re-render diffs cleanly against the last one.

use crate::secrets;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tollgate_core::Config;

/// The CLI version, stamped into labels and default image tags.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The environment a deployment must give the filter for one config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvPlan {
    /// Variables read from the Secret (credentials, and any variable not known to be
    /// harmless), sorted.
    pub secret: Vec<String>,
    /// Variables used only as api_base, with the value they had at render time, sorted.
    /// The clusters were derived from that value, so the filter must see the same one;
    /// writing it inline rules out a mismatch, and a base URL is no credential (the
    /// config refuses embedded credentials and query strings in api_base).
    pub inline: Vec<(String, String)>,
}

/// Splits the config's `os.environ/` variables into secret and inline ones.
pub fn env_plan(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<EnvPlan, String> {
    let refs = Config::env_refs(text).map_err(|e| e.to_string())?;
    let inline_vars = secrets::api_base_only(&refs);
    let mut plan = EnvPlan {
        secret: Vec::new(),
        inline: Vec::new(),
    };
    for r in &refs {
        let var = r.var.as_str();
        if var.is_empty()
            || plan.secret.iter().any(|s| s == var)
            || plan.inline.iter().any(|(k, _)| k == var)
        {
            continue;
        }
        if inline_vars.contains(var) {
            let value = env(var)
                .ok_or_else(|| format!("{}: environment variable {var} is not set", r.path))?;
            plan.inline.push((var.to_string(), value));
        } else {
            plan.secret.push(var.to_string());
        }
    }
    plan.secret.sort_unstable();
    plan.inline.sort_unstable();
    Ok(plan)
}

/// Name of the Secret the deployment reads its credentials from.
pub fn secret_name(name: &str) -> String {
    format!("{name}-secrets")
}

/// Labels on every object (recommended `app.kubernetes.io` set).
pub fn labels(name: &str) -> Value {
    let mut l = selector_labels(name);
    l["app.kubernetes.io/managed-by"] = json!("tollgate");
    l["app.kubernetes.io/version"] = json!(VERSION);
    l
}

/// The stable subset of [`labels`] used in selectors (selectors are immutable, so no
/// version in them).
pub fn selector_labels(name: &str) -> Value {
    json!({"app.kubernetes.io/name": "tollgate", "app.kubernetes.io/instance": name})
}

/// `metadata` with name, namespace and labels.
pub fn metadata(name: &str, namespace: &str, instance: &str) -> Value {
    json!({"name": name, "namespace": namespace, "labels": labels(instance)})
}

/// A Secret listing `keys` with empty values: a template to fill in, never values.
pub fn secret_template(name: &str, namespace: &str, keys: &[String]) -> Value {
    let data: Map<String, Value> = keys
        .iter()
        .map(|k| (k.clone(), Value::String(String::new())))
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(&secret_name(name), namespace, name),
        "type": "Opaque",
        "stringData": data,
    })
}

/// The `kubectl create secret` line an operator runs, values left for them to fill in.
pub fn create_secret_hint(name: &str, namespace: &str, keys: &[String]) -> String {
    let mut line = format!(
        "kubectl -n {namespace} create secret generic {}",
        secret_name(name)
    );
    for k in keys {
        line.push_str(&format!(" --from-literal={k}=..."));
    }
    line
}

/// `# `-prefixed header lines, then each document after a `---` separator.
pub fn documents(header: &[String], docs: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    for line in header {
        out.push_str(format!("# {line}").trim_end());
        out.push('\n');
    }
    for doc in docs {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(doc).map_err(|e| format!("cannot write YAML: {e}"))?);
    }
    Ok(out)
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A DNS label made from `parts`: lowercase alphanumerics and single dashes, at most
/// 63 characters; a longer one is cut and given a hash of the whole so names stay
/// distinct.
pub fn dns_name(parts: &[&str]) -> String {
    let joined = parts.join("-").to_ascii_lowercase();
    let mut name = String::new();
    for c in joined.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.ends_with('-') && !name.is_empty() {
            name.push('-');
        }
    }
    let name = name.trim_end_matches('-').to_string();
    if name.len() <= 63 {
        return name;
    }
    let hash = sha256_hex(joined.as_bytes());
    format!("{}-{}", name[..54].trim_end_matches('-'), &hash[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_plan_splits_secrets_from_api_bases() {
        let text = "model_list:\n\
            - model_name: a\n  litellm_params: {model: openai/a, api_key: os.environ/KEY, api_base: os.environ/BASE}\n\
            - model_name: b\n  litellm_params: {model: openai/b, api_key: os.environ/KEY, api_base: os.environ/BASE}\n\
            general_settings: {master_key: os.environ/MASTER}\n";
        let env = |v: &str| (v == "BASE").then(|| "http://vllm:8000/v1".to_string());
        let plan = env_plan(text, &env).unwrap();
        assert_eq!(plan.secret, ["KEY", "MASTER"]);
        assert_eq!(
            plan.inline,
            [("BASE".to_string(), "http://vllm:8000/v1".to_string())]
        );
    }

    #[test]
    fn secret_template_has_keys_and_no_values() {
        let s = secret_template("gw", "llm", &["A".into(), "B".into()]);
        assert_eq!(s["metadata"]["name"], "gw-secrets");
        assert_eq!(s["metadata"]["namespace"], "llm");
        assert_eq!(s["stringData"], json!({"A": "", "B": ""}));
        assert_eq!(
            create_secret_hint("gw", "llm", &["A".into()]),
            "kubectl -n llm create secret generic gw-secrets --from-literal=A=..."
        );
    }

    #[test]
    fn documents_are_separated_and_headed() {
        let out = documents(&["one".into(), String::new()], &[json!({"b": 1, "a": 2})]).unwrap();
        assert_eq!(out, "# one\n#\n---\na: 2\nb: 1\n");
    }

    #[test]
    fn dns_names() {
        assert_eq!(
            dns_name(&["tollgate", "api.openai.com"]),
            "tollgate-api-openai-com"
        );
        assert_eq!(dns_name(&["gw", "::1"]), "gw-1");
        let long = "a".repeat(80);
        let n = dns_name(&["gw", &long]);
        assert_eq!(n.len(), 63);
        assert_ne!(n, dns_name(&["gw", &"a".repeat(81)]));
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
