//! The settable fields of `/key/generate`, `/key/update` and `/key/regenerate`:
//! parsing the body, validating each field and applying it to a record.

use super::record::{mask_key, parse_duration, KeyRecord, Role};
use crate::config::Config;
use crate::error::ApiError;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Fields a request may set, by their LiteLLM names.
pub const SETTABLE: &[&str] = &[
    "key_alias",
    "models",
    "max_budget",
    "budget_duration",
    "soft_budget",
    "rpm_limit",
    "tpm_limit",
    "max_parallel_requests",
    "model_rpm_limit",
    "model_tpm_limit",
    "metadata",
    "team_id",
    "user_id",
    "duration",
    "allowed_routes",
    "role",
    "aliases",
    "blocked",
];

/// LiteLLM key fields tollgate does not implement: refused by name, because
/// silently ignoring e.g. `tags` or `permissions` would grant more than asked.
const UNSUPPORTED: &[&str] = &[
    "tags",
    "permissions",
    "config",
    "guardrails",
    "spend",
    "send_invite_email",
    "organization_id",
    "budget_id",
    "enforced_params",
    "model_max_budget",
    "key_type",
    "object_permission",
    "prompts",
    "allowed_cache_controls",
    "expires",
];

/// What field validation needs besides the value.
pub struct Ctx<'a> {
    /// Resolves alias targets.
    pub config: &'a Config,
    /// Unix seconds; `duration` counts from here.
    pub now: u64,
}

/// The request body as a JSON object; an empty body is `{}`.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad_request("Request body must be a JSON object.")),
        Err(e) => Err(ApiError::bad_request(format!(
            "Request body is not valid JSON: {e}"
        ))),
    }
}

/// Applies one body field to `rec`, validating it. Null clears a field.
pub fn apply(rec: &mut KeyRecord, name: &str, value: &Value, ctx: &Ctx) -> Result<(), ApiError> {
    let Some(field) = SETTABLE.iter().copied().find(|f| *f == name) else {
        return Err(unknown(name));
    };
    match field {
        "key_alias" => rec.key_alias = opt_text(field, value)?,
        "models" => rec.models = text_list(field, value)?,
        "max_budget" => rec.max_budget = opt_money(field, value)?,
        "soft_budget" => rec.soft_budget = opt_money(field, value)?,
        "budget_duration" => {
            rec.budget_duration = opt_text(field, value)?;
            if let Some(d) = &rec.budget_duration {
                duration_secs(field, d)?;
            }
        }
        "rpm_limit" => rec.rpm_limit = opt_count(field, value)?,
        "tpm_limit" => rec.tpm_limit = opt_count(field, value)?,
        "max_parallel_requests" => rec.max_parallel_requests = opt_count(field, value)?,
        "model_rpm_limit" => rec.model_rpm_limit = count_map(field, value)?,
        "model_tpm_limit" => rec.model_tpm_limit = count_map(field, value)?,
        "metadata" => {
            rec.metadata = match value {
                Value::Null => Map::new(),
                Value::Object(m) => m.clone(),
                _ => return Err(invalid(field, "must be an object")),
            }
        }
        "team_id" => rec.team_id = opt_text(field, value)?,
        "user_id" => rec.user_id = opt_text(field, value)?,
        "duration" => {
            rec.expires_at = match opt_text(field, value)? {
                None => None,
                Some(d) => Some(ctx.now.saturating_add(duration_secs(field, &d)?)),
            }
        }
        "allowed_routes" => rec.allowed_routes = text_list(field, value)?,
        "role" => rec.role = role(value)?,
        "aliases" => rec.aliases = aliases(value, ctx.config)?,
        "blocked" => {
            rec.blocked = match value {
                Value::Null => false,
                Value::Bool(b) => *b,
                _ => return Err(invalid(field, "must be true or false")),
            }
        }
        _ => return Err(unknown(name)),
    }
    Ok(())
}

/// Largest stored key record (JSON). Records live in Envoy shared data, and the
/// key's metadata is copied into every spend record (shared data and access log
/// line), so a field of megabytes would multiply.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

/// Rules that span fields, checked after all fields are applied.
pub fn check(rec: &KeyRecord) -> Result<(), ApiError> {
    if rec.role == Role::Customer && rec.models.is_empty() {
        return Err(invalid("models", "customer keys must list their models"));
    }
    let size = serde_json::to_vec(rec).map_or(usize::MAX, |v| v.len());
    if size > MAX_RECORD_BYTES {
        return Err(ApiError::bad_request(format!(
            "Key settings too large: {size} bytes of JSON (limit {MAX_RECORD_BYTES}); \
             shorten key_alias, metadata or the lists."
        )));
    }
    Ok(())
}

/// 400 for a field the endpoint does not take, named (masked if it looks like a key).
pub fn unknown(name: &str) -> ApiError {
    if let Some(f) = UNSUPPORTED.iter().copied().find(|f| *f == name) {
        return ApiError::bad_request(format!("'{f}' is not supported by tollgate's key API."))
            .with_param(f);
    }
    let shown: String = if name.starts_with("sk-") {
        mask_key(name)
    } else {
        name.chars().take(64).collect()
    };
    ApiError::bad_request(format!(
        "Unknown field '{shown}'. Settable fields: {}.",
        SETTABLE.join(", ")
    ))
}

/// 400 naming the field.
pub fn invalid(field: &'static str, what: &str) -> ApiError {
    ApiError::bad_request(format!("Invalid '{field}': {what}")).with_param(field)
}

/// A required string argument such as `key`.
pub fn required_text(obj: &Map<String, Value>, field: &'static str) -> Result<String, ApiError> {
    match obj.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(_) => Err(invalid(field, "must be a non-empty string")),
        None => Err(ApiError::bad_request(format!("'{field}' is required.")).with_param(field)),
    }
}

fn opt_text(field: &'static str, value: &Value) -> Result<Option<String>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if !s.trim().is_empty() => Ok(Some(s.clone())),
        _ => Err(invalid(field, "must be a non-empty string or null")),
    }
}

fn text_list(field: &'static str, value: &Value) -> Result<Vec<String>, ApiError> {
    let bad = || invalid(field, "must be an array of non-empty strings");
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
                _ => Err(bad()),
            })
            .collect(),
        _ => Err(bad()),
    }
}

fn opt_money(field: &'static str, value: &Value) -> Result<Option<f64>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_f64() {
            Some(v) if v >= 0.0 && v.is_finite() => Ok(Some(v)),
            _ => Err(invalid(field, "must be a number >= 0")),
        },
        _ => Err(invalid(field, "must be a number >= 0 or null")),
    }
}

fn opt_count(field: &'static str, value: &Value) -> Result<Option<u64>, ApiError> {
    match value {
        Value::Null => Ok(None),
        v => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| invalid(field, "must be a non-negative integer or null")),
    }
}

fn count_map(field: &'static str, value: &Value) -> Result<BTreeMap<String, u64>, ApiError> {
    let bad = || invalid(field, "must map model names to non-negative integers");
    match value {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| v.as_u64().map(|n| (k.clone(), n)).ok_or_else(bad))
            .collect(),
        _ => Err(bad()),
    }
}

fn duration_secs(field: &'static str, d: &str) -> Result<u64, ApiError> {
    parse_duration(d).ok_or_else(|| {
        invalid(
            field,
            "expected a duration such as 30s, 15m, 2h, 30d, 1mo or 1y",
        )
    })
}

fn role(value: &Value) -> Result<Role, ApiError> {
    serde_json::from_value(value.clone()).map_err(|_| {
        invalid(
            "role",
            "must be proxy_admin (admin), internal_user (internal) or customer (external)",
        )
    })
}

fn aliases(value: &Value, config: &Config) -> Result<BTreeMap<String, String>, ApiError> {
    let map = match value {
        Value::Null => return Ok(BTreeMap::new()),
        Value::Object(m) => m,
        _ => return Err(invalid("aliases", "must map alias names to model groups")),
    };
    let mut out = BTreeMap::new();
    for (alias, target) in map {
        let Some(target) = target.as_str() else {
            return Err(invalid(
                "aliases",
                &format!("'{alias}' must map to a string"),
            ));
        };
        if config.resolve_group(target).is_none() {
            return Err(invalid(
                "aliases",
                &format!("'{alias}' points to unknown model group '{target}'"),
            ));
        }
        out.insert(alias.clone(), target.to_string());
    }
    Ok(out)
}
