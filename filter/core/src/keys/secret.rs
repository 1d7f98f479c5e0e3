//! Key secrets: generating them, checking caller-chosen ones, and naming keys
//! without ever echoing a plaintext.

use super::record::{hash_key, mask_key};
use crate::error::ApiError;

/// Random bytes in a generated key: 256 bits.
const SECRET_BYTES: usize = 32;
/// Longest accepted caller-chosen key; keys travel in headers.
const MAX_KEY_LEN: usize = 256;
const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A fresh `sk-` key: 32 random bytes, base64url without padding.
pub fn generate(random: &mut dyn FnMut(&mut [u8])) -> Result<String, ApiError> {
    let mut buf = [0u8; SECRET_BYTES];
    random(&mut buf);
    // A random source that failed silently leaves zeros; such a key would be guessable.
    if buf.iter().all(|b| *b == 0) {
        return Err(ApiError::internal(
            500,
            "No secure random bytes available to generate a key.",
        ));
    }
    Ok(format!("sk-{}", base64url(&buf)))
}

fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 2);
    let (mut acc, mut bits) = (0u32, 0u32);
    let emit = |sextet: u32, out: &mut String| {
        let c = BASE64URL.get(sextet as usize & 63).copied().unwrap_or(b'A');
        out.push(char::from(c));
    };
    for b in bytes {
        acc = (acc << 8) | u32::from(*b);
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            emit(acc >> bits, &mut out);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        emit(acc << (6 - bits), &mut out);
    }
    out
}

/// Checks a caller-chosen key (`field` is `key` or `new_key`).
pub fn check_chosen(key: &str, field: &'static str) -> Result<(), ApiError> {
    let ok = key.starts_with("sk-")
        && key.len() >= 8
        && key.len() <= MAX_KEY_LEN
        && key.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "Invalid '{field}': must start with sk- and be 8 to {MAX_KEY_LEN} printable \
             ASCII characters without spaces."
        ))
        .with_param(field))
    }
}

/// The token a `key` argument names: a plaintext `sk-` key is hashed, anything
/// else is taken as a token (LiteLLM accepts both).
pub fn token_of(arg: &str) -> String {
    let arg = arg.trim();
    if arg.starts_with("sk-") {
        hash_key(arg)
    } else {
        arg.to_ascii_lowercase()
    }
}

/// A path safe to put in an error message: segments that look like keys are masked.
pub fn display_path(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with("sk-") {
                mask_key(seg)
            } else {
                seg.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_long_and_url_safe() {
        let mut n = 0u8;
        let mut random = |buf: &mut [u8]| {
            for b in buf.iter_mut() {
                n = n.wrapping_add(37);
                *b = n;
            }
        };
        let key = generate(&mut random).unwrap();
        assert!(key.starts_with("sk-"));
        assert_eq!(key.len(), 3 + 43, "{key}");
        assert!(key[3..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        check_chosen(&key, "key").unwrap();
        assert_ne!(generate(&mut random).unwrap(), key);
        assert_eq!(
            generate(&mut |b: &mut [u8]| b.fill(0)).unwrap_err().status,
            500
        );
    }

    #[test]
    fn base64url_matches_rfc4648() {
        for (input, want) in [
            (&b""[..], ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (b"\xfb\xff", "-_8"),
        ] {
            assert_eq!(base64url(input), want);
        }
    }

    #[test]
    fn chosen_keys() {
        for good in ["sk-12345", "sk-my-team-key_01"] {
            check_chosen(good, "key").unwrap();
        }
        for bad in [
            "sk-1234",
            "pk-12345678",
            "sk-1234 5678",
            "sk-1234\n5678",
            "",
        ] {
            let e = check_chosen(bad, "new_key").unwrap_err();
            assert_eq!((e.status, e.param), (400, Some("new_key")));
            assert!(!e.message.contains(bad) || bad.is_empty());
        }
        check_chosen(&format!("sk-{}", "a".repeat(300)), "key").unwrap_err();
    }

    #[test]
    fn tokens_and_paths() {
        assert_eq!(token_of("sk-1234"), hash_key("sk-1234"));
        assert_eq!(token_of("ABCdef"), "abcdef");
        assert_eq!(
            display_path("/key/sk-secret-value/regenerate"),
            "/key/sk-...alue/regenerate"
        );
    }
}
