//! Arbitrary YAML text through the config loader, and what a loaded config feeds.

use super::check;
use crate::config::Config;
use crate::gateway::Gateway;
use crate::translate::Usage;
use crate::{models, routing};

/// Token counts every loaded deployment is priced with.
const USAGES: [Usage; 3] = [
    Usage {
        prompt_tokens: 1_000,
        completion_tokens: 500,
        cached_tokens: 200,
        cache_creation_tokens: 100,
        reasoning_tokens: 50,
    },
    Usage {
        prompt_tokens: u64::MAX,
        completion_tokens: u64::MAX,
        cached_tokens: u64::MAX / 2,
        cache_creation_tokens: u64::MAX / 2,
        reasoning_tokens: u64::MAX,
    },
    Usage {
        prompt_tokens: 0,
        completion_tokens: 0,
        cached_tokens: 7,
        cache_creation_tokens: 0,
        reasoning_tokens: 0,
    },
];

/// Loads arbitrary text as config.yaml (environment references resolved, and
/// again with none set); a loaded config must route, price and list its models.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = Config::env_refs(&text);
    let unset = Config::load(&text, &|_| None);
    if let Err(e) = &unset {
        assert!(!e.message.is_empty(), "config error without a message");
    }
    let cfg = match Config::load(&text, &|name| {
        (!name.starts_with("UNSET")).then(|| format!("value-of-{name}"))
    }) {
        Ok(c) => c,
        Err(e) => {
            assert!(!e.message.is_empty(), "config error without a message");
            return;
        }
    };
    for d in &cfg.deployments {
        assert!(
            cfg.groups.contains_key(&d.group),
            "deployment {} in no group",
            d.id
        );
        for u in &USAGES {
            check::cost("config", d, u);
        }
    }
    for (group, members) in &cfg.groups {
        assert!(!members.is_empty(), "empty group {group}");
        for rand in [0, 1, u64::MAX / 3, u64::MAX] {
            assert!(
                routing::pick(&cfg, group, rand, &routing::NoLoad, |_| true).is_some(),
                "group {group} picks nothing"
            );
        }
    }
    for alias in cfg.aliases.keys() {
        assert!(cfg.resolve_group(alias).is_some(), "alias {alias} dangles");
    }
    let _ = cfg.upstreams();
    check::json("models", &models::list(&cfg, &|_| true));
    let _ = Gateway::new(cfg);
}
