//! OpenAI and OpenAI-compatible upstreams: the body passes through, only the URL
//! and credentials change.

use crate::config::Deployment;

/// Upstream `:path` for chat completions: `{api_base path}/chat/completions`.
pub fn chat_path(dep: &Deployment, query: &str) -> String {
    let mut path = format!("{}/chat/completions", dep.upstream.base_path);
    if !query.is_empty() {
        path.push('?');
        path.push_str(query);
    }
    path
}

/// The provider credential header; None means the client's Authorization is removed.
pub fn auth_header(dep: &Deployment) -> Option<(&'static str, String)> {
    dep.api_key
        .as_ref()
        .map(|k| ("authorization", format!("Bearer {k}")))
}
