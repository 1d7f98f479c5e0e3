//! The OpenAI `/v1/models` list: model groups plus visible aliases.

use crate::config::Config;
use serde_json::json;

/// Fixed `created` stamp (LiteLLM uses the same); groups have no creation time.
const CREATED: u64 = 1_677_610_602;

/// Serialises the list in OpenAI's format.
pub fn list(cfg: &Config) -> Vec<u8> {
    let mut data = Vec::new();
    for (name, idx) in &cfg.groups {
        let owner = idx
            .first()
            .and_then(|&i| cfg.deployments.get(i))
            .map_or("openai", |d| d.provider.name());
        data.push(json!({"id": name, "object": "model", "created": CREATED, "owned_by": owner}));
    }
    for (name, alias) in cfg.aliases.iter().filter(|(_, a)| !a.hidden) {
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
