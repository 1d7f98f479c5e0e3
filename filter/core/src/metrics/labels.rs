//! The `key` label: which property of a virtual key names it in metrics, and the
//! cap on how many distinct names appear.

use crate::keys::KeyStore;
use crate::limits::counter::rmw;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// The value every key past the cap is counted under.
pub const OTHER: &str = "other";
/// The value when the request had no virtual key (master key, open gateway) or
/// the key lacks the chosen property.
pub const NONE: &str = "none";
/// Distinct key label values when `metrics_key_label_limit` is absent.
pub const DEFAULT_KEY_LIMIT: usize = 100;
/// Values this VM remembers as over the cap (past it, the store is asked again).
const MAX_REMEMBERED_OVER: usize = 1_000;

/// What names a key in the `key` label (`general_settings.metrics_key_label`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum KeyLabel {
    /// `key_alias` (the default).
    #[default]
    Alias,
    /// `team_id`.
    Team,
    /// `user_id`.
    User,
    /// A key metadata field, e.g. `metadata.department`.
    Metadata(String),
    /// No key label: every request counts under `none`.
    None,
}

impl KeyLabel {
    /// Parses the setting; Err says what is accepted.
    pub fn parse(s: &str) -> Result<KeyLabel, String> {
        match s {
            "key_alias" | "alias" => Ok(KeyLabel::Alias),
            "team_id" | "team" => Ok(KeyLabel::Team),
            "user_id" | "user" => Ok(KeyLabel::User),
            "none" => Ok(KeyLabel::None),
            _ => match s.strip_prefix("metadata.") {
                Some(f) if !f.is_empty() => Ok(KeyLabel::Metadata(f.to_string())),
                _ => Err(format!(
                    "`{s}` is not one of key_alias, team_id, user_id, metadata.<field>, none"
                )),
            },
        }
    }

    /// The raw label value for a key with these properties (None: no value).
    pub fn pick<'a>(
        &self,
        alias: Option<&'a str>,
        team: Option<&'a str>,
        user: Option<&'a str>,
        metadata: &'a Map<String, Value>,
    ) -> Option<&'a str> {
        match self {
            KeyLabel::Alias => alias,
            KeyLabel::Team => team,
            KeyLabel::User => user,
            KeyLabel::Metadata(f) => metadata.get(f).and_then(Value::as_str),
            KeyLabel::None => None,
        }
        .filter(|v| !v.is_empty())
    }
}

/// Metric settings from `general_settings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// What names a key.
    pub key_label: KeyLabel,
    /// Most distinct key label values (gateway-wide); the rest count as `other`.
    pub key_limit: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            key_label: KeyLabel::Alias,
            key_limit: DEFAULT_KEY_LIMIT,
        }
    }
}

fn count_key() -> &'static str {
    "tollgate/metrics/key/count"
}

fn value_key(value: &str) -> String {
    format!("tollgate/metrics/key/v/{value}")
}

/// The key label values one VM has seen. The cap is gateway-wide: the first
/// [`Settings::key_limit`] distinct (sanitised) values to arrive anywhere are
/// registered in the shared store; a VM asks the store only the first time it
/// meets a value, so a known value costs no host call.
#[derive(Debug, Default)]
pub struct KeyValues {
    admitted: HashSet<String>,
    over: HashSet<String>,
}

impl KeyValues {
    /// The label value to use for `raw` (already picked by [`KeyLabel::pick`]).
    pub fn label(&mut self, store: &dyn KeyStore, limit: usize, raw: Option<&str>) -> String {
        let Some(raw) = raw else {
            return NONE.into();
        };
        let value = super::sanitize(raw);
        if value == NONE || value == OTHER || self.admitted.contains(&value) {
            return value;
        }
        if self.over.contains(&value) {
            return OTHER.into();
        }
        if store.get(&value_key(&value)).is_some() || register(store, limit, &value) {
            self.admitted.insert(value.clone());
            return value;
        }
        if self.over.len() < MAX_REMEMBERED_OVER {
            self.over.insert(value);
        }
        OTHER.into()
    }
}

/// Takes one of the `limit` places for `value`; false when none is left (or the
/// store is too busy to tell, which counts as full).
fn register(store: &dyn KeyStore, limit: usize, value: &str) -> bool {
    let took = rmw(store, count_key(), &mut |cur| {
        let n = cur
            .and_then(|b| std::str::from_utf8(b).ok())
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(0);
        if n >= limit {
            (None, false)
        } else {
            (Some((n + 1).to_string().into_bytes()), true)
        }
    })
    .unwrap_or(false);
    // Two workers registering the same value at once both take a place: the cap
    // errs on the small side, never above it.
    if took {
        let _ = store.set(&value_key(value), b"1", None);
    }
    took
}
