//! Which model groups a request may move to, in order.

use crate::config::Config;
use crate::error::ApiError;

/// Per-request failover settings (LiteLLM's request-body fields), removed from the
/// body before it reaches any provider.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Overrides {
    /// `fallbacks`: this request's chain, replacing the configured one.
    pub fallbacks: Option<Vec<String>>,
    /// `disable_fallbacks: true`.
    pub disable_fallbacks: bool,
    /// `num_retries`: retries per group for this request.
    pub num_retries: Option<u32>,
}

/// Body fields that are gateway instructions, not provider parameters.
const FIELDS: [&str; 3] = ["fallbacks", "disable_fallbacks", "num_retries"];

/// Most retries a request may ask for (each one is a provider call).
pub const MAX_REQUEST_RETRIES: u32 = 10;

impl Overrides {
    /// Reads and strips the failover fields. Returns the overrides and the cleaned
    /// body when it had any of them (None: the body is unchanged).
    pub fn extract(body: &[u8]) -> Result<(Overrides, Option<Vec<u8>>), ApiError> {
        // Most bodies carry none of the fields: skip the second parse for them.
        if !FIELDS.iter().any(|f| contains(body, f.as_bytes())) {
            return Ok((Overrides::default(), None));
        }
        let Ok(serde_json::Value::Object(mut map)) =
            serde_json::from_slice::<serde_json::Value>(body)
        else {
            return Ok((Overrides::default(), None));
        };
        if !FIELDS.iter().any(|f| map.contains_key(*f)) {
            return Ok((Overrides::default(), None));
        }
        let mut o = Overrides::default();
        if let Some(v) = map.remove("fallbacks") {
            let list = match v {
                serde_json::Value::Array(items) => items
                    .into_iter()
                    .map(|i| match i {
                        serde_json::Value::String(s) => Ok(s),
                        // LiteLLM also accepts [{"model": "..."}].
                        serde_json::Value::Object(m) => m
                            .get("model")
                            .and_then(|m| m.as_str())
                            .map(str::to_string)
                            .ok_or(()),
                        _ => Err(()),
                    })
                    .collect::<Result<Vec<_>, ()>>()
                    .ok(),
                _ => None,
            };
            o.fallbacks = Some(list.ok_or_else(|| {
                ApiError::bad_request("`fallbacks` must be a list of model names.")
                    .with_param("fallbacks")
            })?);
        }
        if let Some(v) = map.remove("disable_fallbacks") {
            o.disable_fallbacks = v.as_bool().ok_or_else(|| {
                ApiError::bad_request("`disable_fallbacks` must be a boolean.")
                    .with_param("disable_fallbacks")
            })?;
        }
        if let Some(v) = map.remove("num_retries") {
            let n = v
                .as_u64()
                .filter(|n| *n <= u64::from(MAX_REQUEST_RETRIES))
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "`num_retries` must be an integer from 0 to {MAX_REQUEST_RETRIES}."
                    ))
                    .with_param("num_retries")
                })?;
            o.num_retries = u32::try_from(n).ok();
        }
        let cleaned = serde_json::to_vec(&map)
            .map_err(|e| ApiError::internal(500, format!("could not re-encode the body: {e}")))?;
        Ok((o, Some(cleaned)))
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Groups to try after `group` fails: the request's own list, else the group's
/// configured chain, else default_fallbacks. `allow` resolves a name to its group
/// when the caller may use it; others are dropped, as are repeats and the group
/// itself. At most `max_fallbacks` groups.
pub fn fallback_chain(
    cfg: &Config,
    group: &str,
    o: &Overrides,
    allow: &dyn Fn(&str) -> Option<String>,
) -> Vec<String> {
    if o.disable_fallbacks {
        return Vec::new();
    }
    let names: &[String] = match &o.fallbacks {
        Some(list) => list,
        None => cfg
            .fallbacks
            .get(group)
            .map_or(cfg.default_fallbacks.as_slice(), Vec::as_slice),
    };
    resolve(names, group, cfg.max_fallbacks, allow)
}

/// Groups to try after `group` refuses a prompt as too long for its context window.
pub fn context_chain(
    cfg: &Config,
    group: &str,
    o: &Overrides,
    allow: &dyn Fn(&str) -> Option<String>,
) -> Vec<String> {
    if o.disable_fallbacks {
        return Vec::new();
    }
    let names = cfg
        .context_window_fallbacks
        .get(group)
        .map_or(&[][..], Vec::as_slice);
    resolve(names, group, cfg.max_fallbacks, allow)
}

fn resolve(
    names: &[String],
    group: &str,
    max: usize,
    allow: &dyn Fn(&str) -> Option<String>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if out.len() >= max {
            break;
        }
        if let Some(g) = allow(n) {
            if g != group && !out.contains(&g) {
                out.push(g);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config::load(
            "model_list:\n  - {model_name: a, litellm_params: {model: openai/a}}\n  - {model_name: b, litellm_params: {model: anthropic/b}}\n  - {model_name: c, litellm_params: {model: gemini/c}}\nrouter_settings:\n  fallbacks: [{a: [b, c, a, b]}]\n  default_fallbacks: [c]\n  context_window_fallbacks: [{a: [c]}]\n  max_fallbacks: 5\n  model_group_alias: {best: c}\n",
            &|_| None,
        )
        .unwrap()
    }

    fn any(c: &Config) -> impl Fn(&str) -> Option<String> + '_ {
        |n| c.resolve_group(n).map(str::to_string)
    }

    #[test]
    fn configured_chain_then_default() {
        let c = cfg();
        let o = Overrides::default();
        assert_eq!(fallback_chain(&c, "a", &o, &any(&c)), vec!["b", "c"]);
        assert_eq!(fallback_chain(&c, "b", &o, &any(&c)), vec!["c"]);
        assert!(fallback_chain(&c, "c", &o, &any(&c)).is_empty());
        assert_eq!(context_chain(&c, "a", &o, &any(&c)), vec!["c"]);
    }

    #[test]
    fn request_list_access_and_disable() {
        let c = cfg();
        let o = Overrides {
            fallbacks: Some(vec!["best".into(), "nope".into(), "b".into()]),
            ..Default::default()
        };
        assert_eq!(fallback_chain(&c, "a", &o, &any(&c)), vec!["c", "b"]);
        let only_b = |n: &str| (n == "b").then(|| "b".to_string());
        assert_eq!(fallback_chain(&c, "a", &o, &only_b), vec!["b"]);
        let off = Overrides {
            disable_fallbacks: true,
            ..Default::default()
        };
        assert!(fallback_chain(&c, "a", &off, &any(&c)).is_empty());
        assert!(context_chain(&c, "a", &off, &any(&c)).is_empty());
    }

    #[test]
    fn max_fallbacks_bounds_the_chain() {
        let mut c = cfg();
        c.max_fallbacks = 1;
        assert_eq!(
            fallback_chain(&c, "a", &Overrides::default(), &any(&c)),
            vec!["b"]
        );
    }

    #[test]
    fn extract_strips_fields() {
        let body = br#"{"model":"a","messages":[],"fallbacks":["b",{"model":"c"}],"num_retries":2,"disable_fallbacks":false}"#;
        let (o, cleaned) = Overrides::extract(body).unwrap();
        assert_eq!(o.fallbacks, Some(vec!["b".to_string(), "c".to_string()]));
        assert_eq!(o.num_retries, Some(2));
        let v: serde_json::Value = serde_json::from_slice(&cleaned.unwrap()).unwrap();
        assert_eq!(v, serde_json::json!({"model":"a","messages":[]}));
        let plain = br#"{"model":"a","messages":[{"role":"user","content":"fallbacks"}]}"#;
        assert_eq!(
            Overrides::extract(plain).unwrap(),
            (Overrides::default(), None)
        );
        for bad in [
            &br#"{"model":"a","fallbacks":"b"}"#[..],
            br#"{"model":"a","num_retries":1000}"#,
            br#"{"model":"a","disable_fallbacks":"yes"}"#,
        ] {
            assert_eq!(Overrides::extract(bad).unwrap_err().status, 400);
        }
    }
}
