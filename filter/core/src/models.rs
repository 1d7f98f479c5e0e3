//! The OpenAI `/v1/models` list: model groups plus visible aliases.

use crate::config::Config;
use serde_json::json;

/// Fixed `created` stamp (LiteLLM uses the same); groups have no creation time.
const CREATED: u64 = 1_677_610_602;

/// Serialises the list in OpenAI's format, keeping the names `visible` accepts.
pub fn list(cfg: &Config, visible: &dyn Fn(&str) -> bool) -> Vec<u8> {
    let mut data = Vec::new();
    for (name, idx) in cfg.groups.iter().filter(|(n, _)| visible(n)) {
        let owner = idx
            .first()
            .and_then(|&i| cfg.deployments.get(i))
            .map_or("openai", |d| d.provider.name());
        data.push(json!({"id": name, "object": "model", "created": CREATED, "owned_by": owner}));
    }
    for (name, alias) in cfg.aliases.iter().filter(|(n, a)| !a.hidden && visible(n)) {
        let owner = cfg
            .groups
            .get(&alias.target)
            .and_then(|idx| idx.first())
            .and_then(|&i| cfg.deployments.get(i))
            .map_or("openai", |d| d.provider.name());
        data.push(json!({"id": name, "object": "model", "created": CREATED, "owned_by": owner}));
    }
    json!({"object": "list", "data": data})
        .to_string()
        .into_bytes()
}
