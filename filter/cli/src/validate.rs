//! `tollgate validate`: load the config the way the filter will, and summarise it.

use crate::secrets;
use tollgate_core::Config;

/// Loads `text` with `env`; with `no_env`, unset variables get placeholders.
/// Returns the config and warnings to print.
pub fn validate(
    text: &str,
    no_env: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Config, Vec<String>), String> {
    if !no_env {
        let cfg = Config::load(text, env).map_err(|e| e.to_string())?;
        return Ok((cfg, Vec::new()));
    }
    let refs = Config::env_refs(text).map_err(|e| e.to_string())?;
    let (values, warnings) = secrets::placeholder_env(&refs, env);
    let cfg = Config::load(text, &|v| values.get(v).cloned()).map_err(|e| e.to_string())?;
    Ok((cfg, warnings))
}

/// One line: `ok: 4 deployments in 3 model groups, 2 aliases, 3 upstream clusters`.
pub fn summary(cfg: &Config) -> String {
    format!(
        "ok: {} in {}, {}, {}",
        count(cfg.deployments.len(), "deployment"),
        count(cfg.groups.len(), "model group"),
        count(cfg.aliases.len(), "alias"),
        count(cfg.upstreams().len(), "upstream cluster"),
    )
}

fn count(n: usize, noun: &str) -> String {
    match (n, noun.ends_with('s')) {
        (1, _) => format!("1 {noun}"),
        (_, true) => format!("{n} {noun}es"),
        (_, false) => format!("{n} {noun}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY}
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_base: os.environ/LOCAL_BASE}
  - model_name: claude
    litellm_params: {model: anthropic/claude-sonnet-4, api_key: os.environ/ANTHROPIC_API_KEY}
  - model_name: gemini
    litellm_params: {model: gemini/gemini-2.0-flash, api_key: os.environ/GEMINI_API_KEY}
router_settings:
  model_group_alias: {best: gpt-4o, smart: claude}
";

    #[test]
    fn summary_counts() {
        let env = |v: &str| (v != "nothing").then(|| format!("http://{}.test", v.to_lowercase()));
        let (cfg, warnings) = validate(CONFIG, false, &env).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(
            summary(&cfg),
            "ok: 4 deployments in 3 model groups, 2 aliases, 4 upstream clusters"
        );
    }

    #[test]
    fn singular_forms() {
        let (cfg, _) = validate(
            "model_list:\n- model_name: a\n  litellm_params: {model: openai/x}\n",
            false,
            &|_| None,
        )
        .unwrap();
        assert_eq!(
            summary(&cfg),
            "ok: 1 deployment in 1 model group, 0 aliases, 1 upstream cluster"
        );
    }

    #[test]
    fn unset_variable_fails_without_no_env() {
        let err = validate(CONFIG, false, &|_| None).unwrap_err();
        assert_eq!(
            err,
            "model_list[0].litellm_params.api_key: environment variable OPENAI_API_KEY is not set"
        );
    }

    #[test]
    fn no_env_uses_placeholders_and_warns_for_api_base() {
        let (cfg, warnings) = validate(CONFIG, true, &|_| None).unwrap();
        assert_eq!(cfg.deployments.len(), 4);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("model_list[1].litellm_params.api_base: LOCAL_BASE"));
        assert_eq!(
            cfg.deployments[1].upstream.cluster,
            "tollgate_http_placeholder_invalid_80"
        );
    }

    #[test]
    fn config_errors_carry_the_path() {
        let err = validate(
            "model_list:\n- model_name: a\n  litellm_params: {model: foo/x}\n",
            true,
            &|_| None,
        )
        .unwrap_err();
        assert!(
            err.starts_with("model_list[0].litellm_params.model: unknown provider \"foo\""),
            "{err}"
        );
    }
}
