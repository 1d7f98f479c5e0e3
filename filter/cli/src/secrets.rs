//! Which config values are secrets, and how `os.environ/` references are resolved
//! when checking a config away from the Envoy that will run it.
//!
//! Secrets (provider API keys, the master key) are read by the filter from Envoy's
//! environment at run time, so a rendered bootstrap carries only their variable names.

use std::collections::{BTreeMap, BTreeSet};
use tollgate_core::config::env::{EnvRef, ENV_PREFIX};

/// Value given to unset secret variables: only their presence matters before run time.
pub const SECRET_PLACEHOLDER: &str = "tollgate-placeholder";
/// Value given to unset api_base variables by `validate --no-env`.
pub const URL_PLACEHOLDER: &str = "http://placeholder.invalid";
/// Value given to other unset variables by `validate --no-env`.
pub const PLACEHOLDER: &str = "placeholder";

/// True for the field paths that hold credentials.
pub fn is_secret_path(path: &str) -> bool {
    path == "general_settings.master_key" || deployment_field(path) == Some("api_key")
}

/// True for a deployment's api_base, from which an Envoy cluster is derived.
pub fn is_api_base_path(path: &str) -> bool {
    deployment_field(path) == Some("api_base")
}

/// `model_list[N].litellm_params.FIELD` -> FIELD.
fn deployment_field(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("model_list[")?;
    let (index, rest) = rest.split_once(']')?;
    if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.strip_prefix(".litellm_params.")
}

/// Refuses credentials written into the config itself: they would be copied into
/// the rendered bootstrap (and every ConfigMap made from it).
pub fn refuse_literal_secrets(doc: &serde_yaml::Value) -> Result<(), String> {
    let mut candidates: Vec<(String, &serde_yaml::Value)> = Vec::new();
    if let Some(list) = doc.get("model_list").and_then(|v| v.as_sequence()) {
        for (i, d) in list.iter().enumerate() {
            if let Some(v) = d.get("litellm_params").and_then(|p| p.get("api_key")) {
                candidates.push((format!("model_list[{i}].litellm_params.api_key"), v));
            }
        }
    }
    if let Some(v) = doc
        .get("general_settings")
        .and_then(|g| g.get("master_key"))
    {
        candidates.push(("general_settings.master_key".into(), v));
    }
    for (path, v) in candidates {
        let literal = match v {
            serde_yaml::Value::Null => false,
            serde_yaml::Value::String(s) => !s.is_empty() && !s.starts_with(ENV_PREFIX),
            _ => true,
        };
        if literal {
            return Err(format!(
                "{path}: literal secret; write os.environ/VAR so it is read from Envoy's environment at run time"
            ));
        }
    }
    Ok(())
}

/// What a variable is used for, which decides whether it may be missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    /// Only at secret paths.
    Secret,
    /// At least once in an api_base.
    ApiBase,
    /// Anywhere else.
    Other,
}

fn uses(refs: &[EnvRef]) -> BTreeMap<&str, (Use, &str)> {
    let mut out: BTreeMap<&str, (Use, &str)> = BTreeMap::new();
    for r in refs {
        let u = if is_api_base_path(&r.path) {
            Use::ApiBase
        } else if is_secret_path(&r.path) {
            Use::Secret
        } else {
            Use::Other
        };
        let e = out.entry(r.var.as_str()).or_insert((u, r.path.as_str()));
        // The most demanding use wins: an api_base needs a URL, anything else a real value.
        let rank = |u: Use| match u {
            Use::Secret => 0,
            Use::Other => 1,
            Use::ApiBase => 2,
        };
        if rank(u) > rank(e.0) {
            *e = (u, r.path.as_str());
        }
    }
    out
}

/// Variables used only in api_base fields. Their values shape the Envoy clusters and
/// are not credentials, so deployment manifests may carry them inline; any other use
/// (a key, an unknown field) keeps a variable secret.
pub fn api_base_only(refs: &[EnvRef]) -> BTreeSet<&str> {
    let mut out: BTreeSet<&str> = refs
        .iter()
        .filter(|r| !r.var.is_empty())
        .map(|r| r.var.as_str())
        .collect();
    for r in refs {
        if !is_api_base_path(&r.path) {
            out.remove(r.var.as_str());
        }
    }
    out
}

/// Environment for `render`: real values, placeholders for unset secrets, and an
/// error naming the field for any other unset variable.
pub fn render_env(
    refs: &[EnvRef],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (var, (u, path)) in uses(refs) {
        if var.is_empty() {
            // Core reports this with its path.
            continue;
        }
        let value = match (env(var), u) {
            (Some(v), _) => v,
            (None, Use::Secret) => SECRET_PLACEHOLDER.to_string(),
            (None, Use::ApiBase) => {
                return Err(format!(
                    "{path}: environment variable {var} is not set; api_base variables must be set when rendering because the Envoy cluster is derived from them (use the same value when Envoy runs)"
                ))
            }
            (None, Use::Other) => {
                return Err(format!(
                    "{path}: environment variable {var} is not set; only api_key and master_key variables may be left unset when rendering"
                ))
            }
        };
        out.insert(var.to_string(), value);
    }
    Ok(out)
}

/// Environment for `validate --no-env`: real values where set, placeholders elsewhere,
/// with a warning for each api_base given the placeholder URL.
pub fn placeholder_env(
    refs: &[EnvRef],
    env: &dyn Fn(&str) -> Option<String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let mut out = BTreeMap::new();
    let mut warnings = Vec::new();
    for (var, (u, path)) in uses(refs) {
        let value = match (env(var), u) {
            (Some(v), _) => v,
            (None, Use::ApiBase) => {
                warnings.push(format!(
                    "{path}: {var} is not set; validating with {URL_PLACEHOLDER} (render needs the real value)"
                ));
                URL_PLACEHOLDER.to_string()
            }
            (None, Use::Secret) => SECRET_PLACEHOLDER.to_string(),
            (None, Use::Other) => PLACEHOLDER.to_string(),
        };
        out.insert(var.to_string(), value);
    }
    (out, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(var: &str, path: &str) -> EnvRef {
        EnvRef {
            var: var.into(),
            path: path.into(),
        }
    }

    #[test]
    fn classifies_paths() {
        assert!(is_secret_path("model_list[0].litellm_params.api_key"));
        assert!(is_secret_path("model_list[12].litellm_params.api_key"));
        assert!(is_secret_path("general_settings.master_key"));
        assert!(!is_secret_path("model_list[0].litellm_params.api_base"));
        assert!(!is_secret_path("model_list[x].litellm_params.api_key"));
        assert!(!is_secret_path("model_list[0].model_info.api_key"));
        assert!(is_api_base_path("model_list[3].litellm_params.api_base"));
        assert!(!is_api_base_path(
            "model_list[3].litellm_params.api_version"
        ));
    }

    #[test]
    fn literal_secrets_refused_with_path() {
        let doc: serde_yaml::Value = serde_yaml::from_str(
            "model_list:\n- litellm_params: {api_key: os.environ/A}\n- litellm_params: {api_key: sk-123}\n",
        )
        .unwrap();
        let err = refuse_literal_secrets(&doc).unwrap_err();
        assert!(
            err.starts_with("model_list[1].litellm_params.api_key: literal secret;"),
            "{err}"
        );
        let doc: serde_yaml::Value =
            serde_yaml::from_str("general_settings: {master_key: sk-admin}\n").unwrap();
        let err = refuse_literal_secrets(&doc).unwrap_err();
        assert!(err.starts_with("general_settings.master_key:"), "{err}");
        let doc: serde_yaml::Value =
            serde_yaml::from_str("model_list:\n- litellm_params: {api_key: 12345}\n").unwrap();
        assert!(refuse_literal_secrets(&doc).is_err());
        let doc: serde_yaml::Value = serde_yaml::from_str(
            "model_list:\n- litellm_params: {api_key: \"\"}\n- litellm_params: {api_key: null}\ngeneral_settings: {master_key: os.environ/M}\n",
        )
        .unwrap();
        assert!(refuse_literal_secrets(&doc).is_ok());
    }

    #[test]
    fn render_env_placeholders_only_secrets() {
        let refs = vec![
            r("KEY", "model_list[0].litellm_params.api_key"),
            r("BASE", "model_list[0].litellm_params.api_base"),
            r("MASTER", "general_settings.master_key"),
        ];
        let env = |v: &str| (v == "BASE").then(|| "http://127.0.0.1:1".to_string());
        let m = render_env(&refs, &env).unwrap();
        assert_eq!(m["KEY"], SECRET_PLACEHOLDER);
        assert_eq!(m["MASTER"], SECRET_PLACEHOLDER);
        assert_eq!(m["BASE"], "http://127.0.0.1:1");

        let err = render_env(&refs, &|_| None).unwrap_err();
        assert!(
            err.starts_with("model_list[0].litellm_params.api_base: environment variable BASE is not set; api_base variables must be set when rendering"),
            "{err}"
        );

        let refs = vec![r("V", "model_list[0].litellm_params.api_version")];
        let err = render_env(&refs, &|_| None).unwrap_err();
        assert!(err.contains("api_version: environment variable V"), "{err}");
    }

    #[test]
    fn variable_shared_by_secret_and_api_base_needs_a_value() {
        let refs = vec![
            r("X", "model_list[0].litellm_params.api_key"),
            r("X", "model_list[1].litellm_params.api_base"),
        ];
        let err = render_env(&refs, &|_| None).unwrap_err();
        assert!(
            err.starts_with("model_list[1].litellm_params.api_base"),
            "{err}"
        );
    }

    #[test]
    fn api_base_only_excludes_any_other_use() {
        let refs = vec![
            r("BASE", "model_list[0].litellm_params.api_base"),
            r("BASE", "model_list[1].litellm_params.api_base"),
            r("KEY", "model_list[0].litellm_params.api_key"),
            r("MIXED", "model_list[2].litellm_params.api_base"),
            r("MIXED", "model_list[3].litellm_params.api_key"),
            r("FIN", "keys[0].key"),
        ];
        assert_eq!(
            api_base_only(&refs).into_iter().collect::<Vec<_>>(),
            ["BASE"]
        );
    }

    #[test]
    fn placeholder_env_warns_for_api_base() {
        let refs = vec![
            r("KEY", "model_list[0].litellm_params.api_key"),
            r("BASE", "model_list[0].litellm_params.api_base"),
            r("SET", "model_list[1].litellm_params.api_base"),
            r("VER", "model_list[0].litellm_params.api_version"),
        ];
        let env = |v: &str| (v == "SET").then(|| "https://x.example".to_string());
        let (m, warnings) = placeholder_env(&refs, &env);
        assert_eq!(m["BASE"], URL_PLACEHOLDER);
        assert_eq!(m["KEY"], SECRET_PLACEHOLDER);
        assert_eq!(m["SET"], "https://x.example");
        assert_eq!(m["VER"], PLACEHOLDER);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("BASE is not set"), "{warnings:?}");
    }
}
