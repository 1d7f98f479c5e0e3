//! OpenAI and OpenAI-compatible upstreams: the body passes through, only the URL
//! and credentials change.

use crate::config::Deployment;

/// Upstream `:path`: `{api_base path}{endpoint}` plus the client's query, if any.
pub fn path(dep: &Deployment, endpoint: &str, query: &str) -> String {
    let mut path = format!("{}{endpoint}", dep.upstream.base_path);
    if !query.is_empty() {
        path.push('?');
        path.push_str(query);
    }
    path
}

/// The provider credential header; None means no key is configured.
pub fn auth_header(dep: &Deployment) -> Option<(&'static str, String)> {
    dep.api_key
        .as_ref()
        .map(|k| ("authorization", format!("Bearer {k}")))
}
