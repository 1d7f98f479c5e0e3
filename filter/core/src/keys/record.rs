//! A virtual key as stored: LiteLLM's field names, the secret only as its hash.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The three access tiers, named after LiteLLM's roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// proxy_admin: everything, key management included.
    #[serde(alias = "proxy_admin", alias = "admin")]
    ProxyAdmin,
    /// internal_user: LLM routes, its own key info and spend, internal models.
    #[default]
    #[serde(alias = "internal")]
    InternalUser,
    /// customer: LLM routes only, only the models listed on the key.
    #[serde(alias = "external", alias = "customer")]
    Customer,
}

/// One virtual key. The plaintext is never stored: `token` is its SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct KeyRecord {
    /// Hex SHA-256 of the full `sk-...` string (LiteLLM's hashing, so hashes are portable).
    pub token: String,
    /// Masked form for display, e.g. `sk-...a1b2`.
    pub key_name: String,
    /// Human name, unique among keys.
    pub key_alias: Option<String>,
    /// Models (groups, aliases, wildcards, access groups) the key may use; empty = all the role allows.
    pub models: Vec<String>,
    /// Spend cap in USD.
    pub max_budget: Option<f64>,
    /// Budget reset period ("30d", "1h", ...).
    pub budget_duration: Option<String>,
    /// Spend at which alerts fire, in USD.
    pub soft_budget: Option<f64>,
    /// Requests per minute.
    pub rpm_limit: Option<u64>,
    /// Tokens per minute.
    pub tpm_limit: Option<u64>,
    /// Concurrent requests.
    pub max_parallel_requests: Option<u64>,
    /// Requests per minute per model.
    pub model_rpm_limit: BTreeMap<String, u64>,
    /// Tokens per minute per model.
    pub model_tpm_limit: BTreeMap<String, u64>,
    /// Free-form tags; `department`, `project`, `cost_center` are used for reporting.
    pub metadata: Map<String, Value>,
    /// Owning team.
    pub team_id: Option<String>,
    /// Owning user.
    pub user_id: Option<String>,
    /// Expiry as unix seconds; None never expires.
    pub expires_at: Option<u64>,
    /// Paths (exact, or prefixes ending in `*`) the key may call; empty = all the role allows.
    pub allowed_routes: Vec<String>,
    /// Access tier.
    pub role: Role,
    /// Per-key model aliases: requested name -> model group.
    pub aliases: BTreeMap<String, String>,
    /// A blocked key is refused like an unknown one (with its own message).
    pub blocked: bool,
    /// Creation time, unix seconds.
    pub created_at: u64,
    /// Last change, unix seconds.
    pub updated_at: u64,
    /// Spend so far in USD (maintained by the spend tracker).
    pub spend: f64,
    /// Declared in config.yaml: read-only through the API.
    pub declared: bool,
}

/// Hex SHA-256 of a key string.
pub fn hash_key(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `sk-...` + the last four characters, as LiteLLM displays keys.
pub fn mask_key(key: &str) -> String {
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("sk-...{tail}")
}

/// Parses LiteLLM durations: `30s`, `15m`, `2h`, `30d`, `1mo` (30 days), `1y` (365 days).
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "mo" => 30 * 86_400,
        "y" => 365 * 86_400,
        _ => return None,
    };
    n.checked_mul(unit_secs).filter(|v| *v > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_like_litellm() {
        // sha256("sk-1234"), as LiteLLM stores it.
        assert_eq!(
            hash_key("sk-1234"),
            "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b"
        );
        assert_eq!(hash_key("sk-1234").len(), 64);
        assert_ne!(hash_key("sk-1234"), hash_key("sk-1235"));
        assert_eq!(mask_key("sk-abcdef"), "sk-...cdef");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(30));
        assert_eq!(parse_duration("15m"), Some(900));
        assert_eq!(parse_duration("2h"), Some(7200));
        assert_eq!(parse_duration("30d"), Some(2_592_000));
        assert_eq!(parse_duration("1mo"), Some(2_592_000));
        for bad in ["", "d", "10", "5x", "-1d", "0d"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn roles_accept_litellm_and_short_names() {
        for (name, role) in [
            ("\"proxy_admin\"", Role::ProxyAdmin),
            ("\"admin\"", Role::ProxyAdmin),
            ("\"internal_user\"", Role::InternalUser),
            ("\"internal\"", Role::InternalUser),
            ("\"customer\"", Role::Customer),
            ("\"external\"", Role::Customer),
        ] {
            assert_eq!(serde_json::from_str::<Role>(name).unwrap(), role);
        }
    }
}
