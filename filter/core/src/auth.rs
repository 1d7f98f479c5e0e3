//! Who is calling. Virtual keys slot in as another [`Principal`] variant.

use crate::config::Config;
use crate::error::ApiError;

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The master key: full access.
    Master,
    /// No master key is configured, so the gateway is open (LiteLLM's behaviour).
    Anonymous,
}

/// Extracts the bearer token from an Authorization header value.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Authenticates a request from its Authorization header.
pub fn authenticate(cfg: &Config, authorization: Option<&str>) -> Result<Principal, ApiError> {
    let Some(master) = cfg.master_key.as_deref() else {
        return Ok(Principal::Anonymous);
    };
    let Some(header) = authorization else {
        return Err(ApiError::unauthorized(
            "Missing API key. Send it as 'Authorization: Bearer <key>'.",
        ));
    };
    let Some(token) = bearer(header) else {
        return Err(ApiError::unauthorized(
            "Malformed Authorization header; expected 'Bearer <key>'.",
        ));
    };
    if constant_time_eq(token.as_bytes(), master.as_bytes()) {
        Ok(Principal::Master)
    } else {
        Err(ApiError::unauthorized("Invalid API key."))
    }
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

    #[test]
    fn master_key_checks() {
        let c = cfg(Some("sk-master"));
        assert_eq!(
            authenticate(&c, Some("Bearer sk-master")),
            Ok(Principal::Master)
        );
        assert_eq!(
            authenticate(&c, Some("bearer  sk-master ")),
            Ok(Principal::Master)
        );
        for bad in [
            None,
            Some("sk-master"),
            Some("Bearer "),
            Some("Bearer sk-maste"),
            Some("Bearer sk-masterx"),
            Some("Basic sk-master"),
        ] {
            let e = authenticate(&c, bad).unwrap_err();
            assert_eq!(e.status, 401, "{bad:?}");
        }
    }

    #[test]
    fn open_without_master_key() {
        assert_eq!(authenticate(&cfg(None), None), Ok(Principal::Anonymous));
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
