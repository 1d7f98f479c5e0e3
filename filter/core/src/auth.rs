//! Who is calling. Virtual keys slot in as another [`Principal`] variant.

use crate::config::Config;
use crate::error::ApiError;
use crate::keys::{self, KeyStore};

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    /// The master key: full access.
    Master,
    /// No master key is configured, so the gateway is open (LiteLLM's behaviour).
    Anonymous,
    /// A virtual key (API-created or declared in config).
    Key(Box<crate::keys::KeyRecord>),
}

/// Extracts the bearer token from an Authorization header value.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The key a client presented, from whichever header its SDK uses.
///
/// Order: `Authorization: Bearer` (OpenAI SDKs), `x-api-key` (Anthropic SDK),
/// `x-goog-api-key` or `?key=` (Gemini SDKs). Err when Authorization is present but
/// not a Bearer credential.
pub fn presented_key(
    header: &dyn Fn(&str) -> Option<String>,
    query: &str,
    query_key_allowed: bool,
) -> Result<Option<String>, ApiError> {
    if let Some(h) = header("authorization") {
        return match bearer(&h) {
            Some(t) => Ok(Some(t.to_string())),
            None => Err(ApiError::unauthorized(
                "Malformed Authorization header; expected 'Bearer <key>'.",
            )),
        };
    }
    for name in ["x-api-key", "x-goog-api-key"] {
        if let Some(v) = header(name).filter(|v| !v.trim().is_empty()) {
            return Ok(Some(v.trim().to_string()));
        }
    }
    if !query_key_allowed {
        return Ok(None);
    }
    Ok(crate::routes::key_param(query)
        .filter(|k| !k.is_empty())
        .map(str::to_string))
}

/// Authenticates the presented key: the master key, else a virtual key.
///
/// Without a master key the gateway is open (LiteLLM's behaviour), but a presented
/// virtual key is still recognised so its limits and model list apply.
pub fn authenticate(
    cfg: &Config,
    store: &dyn KeyStore,
    key: Option<&str>,
    now: u64,
) -> Result<Principal, ApiError> {
    let Some(master) = cfg.master_key.as_deref() else {
        return Ok(key
            .and_then(|k| keys::api::authenticate(store, cfg, k, now).ok())
            .map_or(Principal::Anonymous, |r| Principal::Key(Box::new(r))));
    };
    let Some(token) = key else {
        return Err(ApiError::unauthorized(
            "Missing API key. Send it as 'Authorization: Bearer <key>'.",
        ));
    };
    if constant_time_eq(token.as_bytes(), master.as_bytes()) {
        return Ok(Principal::Master);
    }
    keys::api::authenticate(store, cfg, token, now).map(|r| Principal::Key(Box::new(r)))
}

/// Compares without an early exit so timing does not reveal a matching prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i % b.len().max(1)).copied().unwrap_or(0));
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(master: Option<&str>) -> Config {
        Config {
            master_key: master.map(str::to_string),
            ..Config::default()
        }
    }

    fn check(
        c: &Config,
        name: &'static str,
        value: &'static str,
        query: &str,
    ) -> Result<Principal, ApiError> {
        let h = move |n: &str| (n == name).then(|| value.to_string());
        let key = presented_key(&h, query, true)?;
        authenticate(c, &crate::keys::MemStore::default(), key.as_deref(), 0)
    }

    #[test]
    fn master_key_checks() {
        let c = cfg(Some("sk-master"));
        let ok = Ok(Principal::Master);
        assert_eq!(check(&c, "authorization", "Bearer sk-master", ""), ok);
        assert_eq!(check(&c, "authorization", "bearer  sk-master ", ""), ok);
        assert_eq!(check(&c, "x-api-key", "sk-master", ""), ok);
        assert_eq!(check(&c, "x-goog-api-key", "sk-master", ""), ok);
        assert_eq!(check(&c, "none", "", "alt=sse&key=sk-master"), ok);
        for (name, value) in [
            ("none", ""),
            ("authorization", "sk-master"),
            ("authorization", "Bearer "),
            ("authorization", "Bearer sk-maste"),
            ("authorization", "Bearer sk-masterx"),
            ("authorization", "Basic sk-master"),
            ("x-api-key", "wrong"),
        ] {
            let e = check(&c, name, value, "").unwrap_err();
            assert_eq!(e.status, 401, "{name}: {value}");
        }
    }

    #[test]
    fn open_without_master_key() {
        let store = crate::keys::MemStore::default();
        assert_eq!(
            authenticate(&cfg(None), &store, None, 0),
            Ok(Principal::Anonymous)
        );
        assert_eq!(
            authenticate(&cfg(None), &store, Some("anything"), 0),
            Ok(Principal::Anonymous)
        );
    }

    #[test]
    fn constant_time_eq_is_eq() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(!constant_time_eq(b"a", b""));
        assert!(constant_time_eq(b"", b""));
    }
}
