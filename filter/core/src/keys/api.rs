//! The LiteLLM-compatible `/key/*` management API, answered by the filter itself,
//! and the lookups that authenticate virtual keys on every request.

use super::fields::Ctx;
use super::record::{hash_key, KeyRecord, Role};
use super::store::KeyStore;
use super::time::iso8601;
use super::{layout, list, ops, query, secret, view};
use crate::auth::Principal;
use crate::config::Config;
use crate::error::ApiError;
use serde_json::{json, Value};

/// Everything one admin call needs.
pub struct KeyApi<'a> {
    /// Where API-created keys live.
    pub store: &'a dyn KeyStore,
    /// Declared keys, limits and model groups.
    pub config: &'a Config,
    /// Unix seconds.
    pub now: u64,
}

/// One `/key/*` operation, from its path.
enum Op {
    Generate,
    Info,
    Update,
    Delete,
    List,
    Block(bool),
    /// The key named in the path form `/key/{key}/regenerate`, if used.
    Regenerate(Option<String>),
}

/// What the caller may do here.
enum Access<'p> {
    /// Everything; carries the caller's own token when it is a key.
    Admin(Option<&'p str>),
    /// Only read its own key.
    Internal(&'p str),
    /// Nothing.
    Customer,
}

impl KeyApi<'_> {
    /// Serves one /key/* call. `random` fills a buffer with secure random bytes (the shim uses WASI random_get).
    /// Returns (status, JSON body) on success; errors are ApiError (rendered as OpenAI errors by the caller).
    pub fn handle(
        &self,
        caller: &Principal,
        method: &str,
        path: &str,
        query: &str,
        body: &[u8],
        random: &mut dyn FnMut(&mut [u8]),
    ) -> Result<(u16, Value), ApiError> {
        let path = path.trim_end_matches('/');
        // The path form of regenerate carries a key: never echo it.
        let shown = secret::display_path(path);
        let Some((op, allow)) = route(path) else {
            return Err(ApiError::unknown_route(method, &shown));
        };
        if method != allow {
            return Err(ApiError::method_not_allowed(method, &shown, allow));
        }
        let access = access(caller);
        match (&access, &op) {
            (Access::Customer, _) => {
                return Err(ApiError::forbidden(
                    "Customer keys may not use the key management API.",
                ))
            }
            (Access::Internal(_), Op::Info) | (Access::Admin(_), _) => {}
            (Access::Internal(_), _) => {
                return Err(ApiError::forbidden(format!(
                    "Only proxy_admin keys may call {shown}."
                )))
            }
        }
        let value = match op {
            Op::Generate => ops::generate(self, body, random)?,
            Op::Info => self.info(&access, query)?,
            Op::Update => ops::update(self, body)?,
            Op::Delete => ops::delete(self, body)?,
            Op::List => list::list(self, query)?,
            Op::Block(blocked) => ops::set_blocked(self, body, blocked)?,
            Op::Regenerate(in_path) => ops::regenerate(self, body, in_path, random)?,
        };
        Ok((200, value))
    }

    /// Field validation context for this call.
    pub(crate) fn ctx(&self) -> Ctx<'_> {
        Ctx {
            config: self.config,
            now: self.now,
        }
    }

    /// GET /key/info: `{"key": token, "info": record}`.
    fn info(&self, access: &Access, query: &str) -> Result<Value, ApiError> {
        let params = query::params(query);
        let token = match (query::get(&params, "key"), access) {
            (Some(arg), _) => secret::token_of(arg),
            (None, Access::Internal(own) | Access::Admin(Some(own))) => own.to_string(),
            (None, _) => {
                return Err(
                    ApiError::bad_request("Name the key: /key/info?key=<key or token>.")
                        .with_param("key"),
                )
            }
        };
        // Checked before the lookup so the answer says nothing about whether the key exists.
        if let Access::Internal(own) = access {
            if token != *own {
                return Err(ApiError::forbidden(
                    "A key may only view its own information.",
                ));
            }
        }
        let rec = lookup(self.store, self.config, &token).ok_or_else(layout::key_not_found)?;
        Ok(json!({"key": token, "info": view::record(&rec)}))
    }
}

fn route(path: &str) -> Option<(Op, &'static str)> {
    Some(match path {
        "/key/generate" => (Op::Generate, "POST"),
        "/key/info" => (Op::Info, "GET"),
        "/key/update" => (Op::Update, "POST"),
        "/key/delete" => (Op::Delete, "POST"),
        "/key/list" => (Op::List, "GET"),
        "/key/block" => (Op::Block(true), "POST"),
        "/key/unblock" => (Op::Block(false), "POST"),
        "/key/regenerate" => (Op::Regenerate(None), "POST"),
        _ => {
            let key = path.strip_prefix("/key/")?.strip_suffix("/regenerate")?;
            if key.is_empty() || key.contains('/') {
                return None;
            }
            (Op::Regenerate(Some(query::decode(key, false))), "POST")
        }
    })
}

fn access(caller: &Principal) -> Access<'_> {
    match caller {
        // Without a master key the gateway is open, admin API included (as LiteLLM).
        Principal::Master | Principal::Anonymous => Access::Admin(None),
        Principal::Key(rec) => match rec.role {
            Role::ProxyAdmin => Access::Admin(Some(&rec.token)),
            Role::InternalUser => Access::Internal(&rec.token),
            Role::Customer => Access::Customer,
        },
    }
}

/// Finds a key by token hash: declared keys in config first, then the store. None if unknown or deleted.
pub fn lookup(store: &dyn KeyStore, config: &Config, token: &str) -> Option<KeyRecord> {
    if let Some(rec) = config.declared_keys.get(token) {
        return Some(rec.clone());
    }
    match layout::read_record(store, token) {
        Ok(found) => found.map(|(rec, _)| rec),
        Err(e) => {
            log::warn!("key lookup: {}", e.message);
            None
        }
    }
}

/// Validates a presented plaintext key for a request: unknown/deleted -> 401 "Invalid API key.", blocked -> 401 "This key is blocked.", expired -> 401 "This key expired at <ISO time>." (messages must not reveal anything about other keys).
pub fn authenticate(
    store: &dyn KeyStore,
    config: &Config,
    presented: &str,
    now: u64,
) -> Result<KeyRecord, ApiError> {
    let Some(rec) = lookup(store, config, &hash_key(presented)) else {
        return Err(ApiError::unauthorized("Invalid API key."));
    };
    if rec.blocked {
        return Err(ApiError::unauthorized("This key is blocked."));
    }
    if let Some(at) = rec.expires_at.filter(|at| now >= *at) {
        return Err(ApiError::unauthorized(format!(
            "This key expired at {}.",
            iso8601(at)
        )));
    }
    Ok(rec)
}
