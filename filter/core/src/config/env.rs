//! `os.environ/VAR` references (LiteLLM convention), resolved at load time.
//!
//! In the filter the lookup is the Wasm VM's environment, which Envoy fills from
//! `vm_config.environment_variables`; secrets therefore never sit in rendered files.

use serde_yaml::Value;

/// The prefix that marks a string as an environment reference.
pub const ENV_PREFIX: &str = "os.environ/";

/// One `os.environ/VAR` found in a config, with the field path that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvRef {
    /// Environment variable name.
    pub var: String,
    /// Field path, e.g. `model_list[0].litellm_params.api_key`.
    pub path: String,
}

/// Lists every environment reference in the document, in document order.
pub fn collect(value: &Value) -> Vec<EnvRef> {
    let mut out = Vec::new();
    walk(value, String::new(), &mut |path, s| {
        if let Some(var) = s.strip_prefix(ENV_PREFIX) {
            out.push(EnvRef {
                var: var.to_string(),
                path: path.to_string(),
            });
        }
    });
    out
}

/// Replaces every `os.environ/VAR` string by the variable's value.
pub fn resolve(
    value: &mut Value,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), (String, String)> {
    match value {
        Value::String(s) => {
            if let Some(var) = s.strip_prefix(ENV_PREFIX) {
                if var.is_empty() {
                    return Err((
                        path.to_string(),
                        "empty variable name after os.environ/".into(),
                    ));
                }
                match lookup(var) {
                    // A secret read from a file usually ends in a newline; header
                    // values (keys, hosts) can never carry surrounding whitespace.
                    Some(v) => *s = v.trim().to_string(),
                    None => {
                        return Err((
                            path.to_string(),
                            format!("environment variable {var} is not set"),
                        ))
                    }
                }
            }
            Ok(())
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                resolve(item, &format!("{path}[{i}]"), lookup)?;
            }
            Ok(())
        }
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                resolve(v, &join(path, k), lookup)?;
            }
            Ok(())
        }
        Value::Tagged(t) => resolve(&mut t.value, path, lookup),
        _ => Ok(()),
    }
}

fn walk(value: &Value, path: String, f: &mut dyn FnMut(&str, &str)) {
    match value {
        Value::String(s) => f(&path, s),
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, format!("{path}[{i}]"), f);
            }
        }
        Value::Mapping(map) => {
            for (k, v) in map {
                walk(v, join(&path, k), f);
            }
        }
        Value::Tagged(t) => walk(&t.value, path, f),
        _ => {}
    }
}

fn join(path: &str, key: &Value) -> String {
    // Written by hand: serde_yaml's emitter would otherwise be linked into the
    // filter for this alone (module size is memory in every Envoy VM).
    let key = match key {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_string(),
        Value::Tagged(t) => format!("{} {}", t.tag, join("", &t.value)),
        Value::Sequence(_) | Value::Mapping(_) => "<complex key>".to_string(),
    };
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    #[test]
    fn collects_refs_with_paths() {
        let v = doc("a:\n  - k: os.environ/X\n  - k: plain\nb: os.environ/Y\n");
        let refs = collect(&v);
        assert_eq!(
            refs,
            vec![
                EnvRef {
                    var: "X".into(),
                    path: "a[0].k".into()
                },
                EnvRef {
                    var: "Y".into(),
                    path: "b".into()
                },
            ]
        );
    }

    #[test]
    fn resolves_and_reports_missing() {
        let mut v = doc("a:\n  - k: os.environ/X\n");
        resolve(&mut v, "", &|n| (n == "X").then(|| "val".to_string())).unwrap();
        assert_eq!(v["a"][0]["k"], Value::String("val".into()));
        let mut v = doc("a:\n  - k: os.environ/MISSING\n");
        let err = resolve(&mut v, "", &|_| None).unwrap_err();
        assert_eq!(err.0, "a[0].k");
        assert!(err.1.contains("MISSING is not set"));
    }

    #[test]
    fn keys_that_are_not_strings_name_their_path_plainly() {
        let v = doc("7: os.environ/A
true: os.environ/B
~: os.environ/C
1.5:
  x: os.environ/D
");
        let paths: Vec<String> = collect(&v).into_iter().map(|r| r.path).collect();
        assert_eq!(paths, ["7", "true", "null", "1.5.x"]);
    }
}
