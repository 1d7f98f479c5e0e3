//! The writing endpoints: generate, update, block/unblock, delete and regenerate.

use super::api::KeyApi;
use super::fields::{self, invalid, Ctx};
use super::record::{hash_key, mask_key, KeyRecord};
use super::{layout, secret, view};
use crate::error::ApiError;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// POST /key/generate: the new record with its plaintext `key`.
pub fn generate(
    api: &KeyApi,
    body: &[u8],
    random: &mut dyn FnMut(&mut [u8]),
) -> Result<Value, ApiError> {
    let obj = fields::parse_object(body)?;
    let mut rec = KeyRecord::default();
    let mut chosen = None;
    for (name, value) in &obj {
        match name.as_str() {
            "key" => chosen = chosen_key(value, "key")?,
            _ => fields::apply(&mut rec, name, value, &api.ctx())?,
        }
    }
    fields::check(&rec)?;
    let plaintext = match chosen {
        Some(k) => k,
        None => secret::generate(random)?,
    };
    rec.token = hash_key(&plaintext);
    rec.key_name = mask_key(&plaintext);
    rec.created_at = api.now;
    rec.updated_at = api.now;
    if api.config.declared_keys.contains_key(&rec.token) {
        return Err(duplicate("key"));
    }
    if let Some(alias) = &rec.key_alias {
        ensure_alias_free(api, alias, None)?;
    }
    let max = api.config.max_keys;
    layout::update_index(api.store, &mut |tokens| {
        if tokens.contains(&rec.token) {
            return Err(duplicate("key"));
        }
        if tokens.len() >= max {
            return Err(ApiError::bad_request(format!(
                "Key limit reached: {max} API-created keys exist, the most \
                 general_settings.max_keys allows. Delete unused keys or raise the limit."
            ))
            .with_code("key_limit_reached"));
        }
        tokens.push(rec.token.clone());
        Ok(true)
    })?;
    if let Err(e) = layout::write_record(api.store, &rec) {
        swap_back(api, &rec.token, None);
        return Err(e);
    }
    Ok(view::with_secret(&rec, &plaintext))
}

/// POST /key/update: changes the given fields; `key` names the key.
pub fn update(api: &KeyApi, body: &[u8]) -> Result<Value, ApiError> {
    let obj = fields::parse_object(body)?;
    let token = target(api, &obj)?;
    if obj.contains_key("token") {
        return Err(invalid(
            "token",
            "cannot be changed; /key/regenerate issues a new secret",
        ));
    }
    let changes: Vec<(&String, &Value)> = obj.iter().filter(|(n, _)| *n != "key").collect();
    let rec = change(api, &token, &changes)?;
    Ok(Value::Object(view::record(&rec)))
}

/// POST /key/block and /key/unblock.
pub fn set_blocked(api: &KeyApi, body: &[u8], blocked: bool) -> Result<Value, ApiError> {
    let obj = fields::parse_object(body)?;
    if let Some(other) = obj.keys().find(|n| *n != "key") {
        return Err(fields::unknown(other));
    }
    let token = target(api, &obj)?;
    let rec = layout::update_record(api.store, &token, &mut |rec| {
        rec.blocked = blocked;
        rec.updated_at = api.now;
        Ok(())
    })?;
    Ok(Value::Object(view::record(&rec)))
}

/// POST /key/delete: `{"deleted_keys": [token]}`.
pub fn delete(api: &KeyApi, body: &[u8]) -> Result<Value, ApiError> {
    let obj = fields::parse_object(body)?;
    if let Some(other) = obj.keys().find(|n| *n != "keys" && *n != "key_aliases") {
        return Err(fields::unknown(other));
    }
    let keys = text_args(&obj, "keys")?;
    let aliases = text_args(&obj, "key_aliases")?;
    if keys.is_empty() && aliases.is_empty() {
        return Err(
            ApiError::bad_request("Give 'keys' and/or 'key_aliases' to delete.").with_param("keys"),
        );
    }
    let mut wanted: BTreeSet<String> = keys.iter().map(|k| secret::token_of(k)).collect();
    for alias in &aliases {
        match layout::alias_owner(api.store, api.config, alias)? {
            Some((_, true)) => return Err(declared()),
            Some((token, false)) => {
                wanted.insert(token);
            }
            None => {}
        }
    }
    if wanted
        .iter()
        .any(|t| api.config.declared_keys.contains_key(t))
    {
        return Err(declared());
    }
    let mut deleted = Vec::new();
    layout::update_index(api.store, &mut |tokens| {
        deleted = tokens
            .iter()
            .filter(|t| wanted.contains(*t))
            .cloned()
            .collect();
        tokens.retain(|t| !wanted.contains(t));
        Ok(!deleted.is_empty())
    })?;
    // A record whose index entry is already gone (an interrupted delete or
    // regenerate) still authenticates: it is deleted like any other.
    for token in &wanted {
        if !deleted.contains(token) && layout::read_record(api.store, token)?.is_some() {
            deleted.push(token.clone());
        }
    }
    if deleted.is_empty() {
        return Err(ApiError::not_found("No matching keys found."));
    }
    for token in &deleted {
        layout::tombstone(api.store, token)?;
    }
    Ok(json!({ "deleted_keys": deleted }))
}

/// POST /key/regenerate (or /key/{key}/regenerate): same settings, new secret and token.
pub fn regenerate(
    api: &KeyApi,
    body: &[u8],
    in_path: Option<String>,
    random: &mut dyn FnMut(&mut [u8]),
) -> Result<Value, ApiError> {
    let obj = fields::parse_object(body)?;
    let old = match in_path {
        None => target(api, &obj)?,
        Some(arg) => {
            let token = secret::token_of(&arg);
            if obj.contains_key("key") && target(api, &obj)? != token {
                return Err(invalid("key", "names a different key than the path"));
            }
            writable(api, &token)?;
            token
        }
    };
    let mut chosen = None;
    let mut changes = Vec::new();
    for (name, value) in &obj {
        match name.as_str() {
            "key" => {}
            "new_key" => chosen = chosen_key(value, "new_key")?,
            _ => changes.push((name, value)),
        }
    }
    validate(&changes, &api.ctx())?;
    let Some((mut rec, _)) = layout::read_record(api.store, &old)? else {
        return Err(layout::key_not_found());
    };
    apply_changes(api, &mut rec, &changes, &old)?;
    let plaintext = match chosen {
        Some(k) => k,
        None => secret::generate(random)?,
    };
    let new = hash_key(&plaintext);
    if new == old || api.config.declared_keys.contains_key(&new) {
        return Err(duplicate("new_key"));
    }
    // Swapping in place keeps the count, so regenerating works at the max_keys bound.
    layout::update_index(api.store, &mut |tokens| {
        if tokens.contains(&new) {
            return Err(duplicate("new_key"));
        }
        let slot = tokens.iter_mut().find(|t| **t == old);
        let slot = slot.ok_or_else(layout::key_not_found)?;
        slot.clone_from(&new);
        Ok(true)
    })?;
    rec.token.clone_from(&new);
    rec.key_name = mask_key(&plaintext);
    if let Err(e) = layout::write_record(api.store, &rec) {
        swap_back(api, &new, Some(&old));
        return Err(e);
    }
    layout::tombstone(api.store, &old)?;
    Ok(view::with_secret(&rec, &plaintext))
}

/// Validates `changes`, then applies them to the stored record with a versioned write.
fn change(api: &KeyApi, token: &str, changes: &[(&String, &Value)]) -> Result<KeyRecord, ApiError> {
    validate(changes, &api.ctx())?;
    layout::update_record(api.store, token, &mut |rec| {
        apply_changes(api, rec, changes, token)
    })
}

/// Field errors come before "not found", so a bad request is reported as such.
fn validate(changes: &[(&String, &Value)], ctx: &Ctx) -> Result<(), ApiError> {
    let mut scratch = KeyRecord::default();
    for (name, value) in changes {
        fields::apply(&mut scratch, name, value, ctx)?;
    }
    Ok(())
}

fn apply_changes(
    api: &KeyApi,
    rec: &mut KeyRecord,
    changes: &[(&String, &Value)],
    token: &str,
) -> Result<(), ApiError> {
    let old_alias = rec.key_alias.clone();
    for (name, value) in changes {
        fields::apply(rec, name, value, &api.ctx())?;
    }
    fields::check(rec)?;
    if let Some(alias) = rec
        .key_alias
        .as_deref()
        .filter(|a| old_alias.as_deref() != Some(*a))
    {
        ensure_alias_free(api, alias, Some(token))?;
    }
    rec.updated_at = api.now;
    Ok(())
}

/// The token named by the body's `key`, refused if the key is declared in config.
fn target(api: &KeyApi, obj: &Map<String, Value>) -> Result<String, ApiError> {
    let token = secret::token_of(&fields::required_text(obj, "key")?);
    writable(api, &token)?;
    Ok(token)
}

fn writable(api: &KeyApi, token: &str) -> Result<(), ApiError> {
    if api.config.declared_keys.contains_key(token) {
        return Err(declared());
    }
    Ok(())
}

fn declared() -> ApiError {
    ApiError::bad_request(
        "This key is declared in config.yaml and is read-only through the API; change it there.",
    )
}

fn duplicate(field: &'static str) -> ApiError {
    invalid(field, "a key with this value already exists")
}

fn ensure_alias_free(api: &KeyApi, alias: &str, own: Option<&str>) -> Result<(), ApiError> {
    match layout::alias_owner(api.store, api.config, alias)? {
        Some((token, declared)) if Some(token.as_str()) != own => Err(invalid(
            "key_alias",
            &format!(
                "'{alias}' is already used by {}",
                if declared {
                    "a key declared in config.yaml"
                } else {
                    "another key"
                }
            ),
        )),
        _ => Ok(()),
    }
}

fn chosen_key(value: &Value, field: &'static str) -> Result<Option<String>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => secret::check_chosen(s, field).map(|()| Some(s.clone())),
        _ => Err(invalid(field, "must be a string")),
    }
}

fn text_args(obj: &Map<String, Value>, field: &'static str) -> Result<Vec<String>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| invalid(field, "must be an array of strings"))
            })
            .collect(),
        Some(_) => Err(invalid(field, "must be an array of strings")),
    }
}

/// Undoes an index change whose record write failed: `token` is replaced by
/// `previous`, or removed. Best effort: the original error is what the caller sees.
fn swap_back(api: &KeyApi, token: &str, previous: Option<&str>) {
    let undone = layout::update_index(api.store, &mut |tokens| {
        match previous {
            Some(p) => tokens
                .iter_mut()
                .filter(|t| *t == token)
                .for_each(|t| *t = p.to_string()),
            None => tokens.retain(|t| t != token),
        }
        Ok(true)
    });
    if let Err(e) = undone {
        log::warn!("key index rollback failed: {}", e.message);
    }
}
