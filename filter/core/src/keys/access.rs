//! What a virtual key may do: routes by role and allowed_routes, models by the
//! key's list (names, aliases, wildcards, access groups) and internal-only models.

use super::record::{KeyRecord, Role};
use crate::config::Config;
use crate::error::ApiError;

/// Routes every role may call: the model APIs and the model list.
const LLM_ROUTES: &[&str] = &[
    "/v1/chat/completions",
    "/chat/completions",
    "/v1/responses",
    "/responses",
    "/v1/embeddings",
    "/embeddings",
    "/v1/messages",
    "/v1/models",
    "/models",
    "/v1beta/models/*",
    "/v1/models/*",
    "/anthropic/*",
    "/gemini/*",
];

fn glob(pattern: &str, s: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == s,
        Some((pre, post)) => {
            s.len() >= pre.len() + post.len()
                && s.starts_with(pre)
                && glob_rest(post, &s[pre.len()..])
        }
    }
}

fn glob_rest(pattern: &str, s: &str) -> bool {
    // Several stars: try every split point for the next literal run.
    if !pattern.contains('*') {
        return s.ends_with(pattern);
    }
    (0..=s.len())
        .filter(|&i| s.is_char_boundary(i))
        .any(|i| glob(pattern, &s[i..]))
}

/// True for paths of the model APIs (and the model list).
pub fn is_llm_route(path: &str) -> bool {
    LLM_ROUTES.iter().any(|p| glob(p, path))
}

/// Checks the path against the key's role and allowed_routes. The key API
/// (`/key/*`) does its own finer checks, so it passes here for non-customers.
pub fn check_route(key: &KeyRecord, path: &str) -> Result<(), ApiError> {
    let llm = is_llm_route(path);
    let by_role = match key.role {
        Role::ProxyAdmin => true,
        Role::InternalUser => llm || path == "/key/info" || path == "/spend/logs",
        Role::Customer => llm,
    };
    // The path form of regenerate carries a key: never repeat it.
    let shown = super::secret::display_path(path);
    if !by_role {
        return Err(ApiError::forbidden(format!(
            "This key's role may not call {shown}."
        )));
    }
    if key.allowed_routes.is_empty()
        || key
            .allowed_routes
            .iter()
            .any(|r| (r == "llm_api_routes" && llm) || glob(r, path))
    {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "This key may only call {:?}; {shown} is not among them.",
            key.allowed_routes
        )))
    }
}

/// Resolves a requested model name for a key: its own aliases first, then the config's.
pub fn resolve<'c>(cfg: &'c Config, key: Option<&KeyRecord>, requested: &str) -> Option<&'c str> {
    let name = key
        .and_then(|k| k.aliases.get(requested))
        .map_or(requested, String::as_str);
    cfg.resolve_group(name)
}

/// True when `key` may use `group` (reached by asking for `requested`).
pub fn may_use(cfg: &Config, key: &KeyRecord, requested: &str, group: &str) -> bool {
    let deployments = || {
        cfg.groups
            .get(group)
            .into_iter()
            .flatten()
            .filter_map(|&i| cfg.deployments.get(i))
    };
    if key.role == Role::Customer && deployments().any(|d| d.internal_only) {
        return false;
    }
    if key.models.is_empty() {
        return true;
    }
    key.models.iter().any(|entry| {
        let entry = entry.as_str();
        entry == "*"
            || entry == "all-proxy-models"
            || entry == requested
            || entry == group
            || cfg.resolve_group(entry) == Some(group)
            || (entry.contains('*')
                && (glob(entry, group)
                    || glob(entry, requested)
                    || deployments()
                        .any(|d| glob(entry, &format!("{}/{}", d.provider.name(), d.model)))))
            || deployments().any(|d| d.access_groups.iter().any(|g| g == entry))
    })
}

/// The 403 for a denied model, in LiteLLM's words.
pub fn model_denied(key: &KeyRecord, requested: &str) -> ApiError {
    ApiError::forbidden(format!(
        "key not allowed to access model. This key can only access models={:?}. Tried to access {requested}",
        key.models
    ))
    .with_kind("key_model_access_denied")
    .with_param("model")
}

/// Names a key may see in /v1/models: groups and visible aliases it may use.
pub fn visible(cfg: &Config, key: &KeyRecord, name: &str) -> bool {
    resolve(cfg, Some(key), name).is_some_and(|g| may_use(cfg, key, name, g))
}

#[cfg(test)]
mod tests;
