//! GET /key/list: declared keys, then API-created keys in creation order, paged.

use super::api::{lookup, KeyApi};
use super::fields::invalid;
use super::record::KeyRecord;
use super::{layout, query, view};
use crate::error::ApiError;
use serde_json::{json, Value};

/// Largest page (LiteLLM's bound).
const MAX_PAGE_SIZE: usize = 100;
const DEFAULT_PAGE_SIZE: usize = 10;

/// `{"keys": [token | record], "total_count", "current_page", "total_pages"}`.
pub fn list(api: &KeyApi, query: &str) -> Result<Value, ApiError> {
    let params = query::params(query);
    let page = number(&params, "page", 1, usize::MAX)?.unwrap_or(1);
    let size = number(&params, "size", 1, MAX_PAGE_SIZE)?.unwrap_or(DEFAULT_PAGE_SIZE);
    let full = matches!(
        query::get(&params, "return_full_object"),
        Some("true" | "True" | "1")
    );
    let filters: Vec<(&str, &str)> = ["team_id", "user_id", "key_alias", "department"]
        .into_iter()
        .filter_map(|name| query::get(&params, name).map(|v| (name, v)))
        .collect();
    let skip = (page - 1).saturating_mul(size);
    let declared = api.config.declared_keys.values();
    let (total, keys): (usize, Vec<Value>) = if filters.is_empty() {
        // Unfiltered: page the token list and read only the page's records.
        let (api_tokens, _) = layout::read_index(api.store)?;
        let tokens: Vec<&String> = declared.map(|r| &r.token).chain(&api_tokens).collect();
        let page_tokens = tokens.iter().skip(skip).take(size);
        let keys = if full {
            page_tokens
                .filter_map(|t| lookup(api.store, api.config, t))
                .map(|r| Value::Object(view::record(&r)))
                .collect()
        } else {
            page_tokens.map(|t| Value::String(t.to_string())).collect()
        };
        (tokens.len(), keys)
    } else {
        let records: Vec<KeyRecord> = declared
            .cloned()
            .chain(layout::api_records(api.store)?)
            .filter(|r| filters.iter().all(|(name, want)| matches(r, name, want)))
            .collect();
        let page_records = records.iter().skip(skip).take(size);
        let keys = if full {
            page_records
                .map(|r| Value::Object(view::record(r)))
                .collect()
        } else {
            page_records
                .map(|r| Value::String(r.token.clone()))
                .collect()
        };
        (records.len(), keys)
    };
    Ok(json!({
        "keys": keys,
        "total_count": total,
        "current_page": page,
        "total_pages": total.div_ceil(size),
    }))
}

fn matches(rec: &KeyRecord, filter: &str, want: &str) -> bool {
    let have = match filter {
        "team_id" => rec.team_id.as_deref(),
        "user_id" => rec.user_id.as_deref(),
        "key_alias" => rec.key_alias.as_deref(),
        "department" => rec.metadata.get("department").and_then(Value::as_str),
        _ => None,
    };
    have == Some(want)
}

fn number(
    params: &[(String, String)],
    name: &'static str,
    min: usize,
    max: usize,
) -> Result<Option<usize>, ApiError> {
    let Some(raw) = query::get(params, name) else {
        return Ok(None);
    };
    match raw.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ if max == usize::MAX => Err(invalid(name, &format!("must be an integer >= {min}"))),
        _ => Err(invalid(
            name,
            &format!("must be an integer from {min} to {max}"),
        )),
    }
}
