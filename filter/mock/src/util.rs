//! Small helpers shared by every provider face: ids, hashing, text splitting.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Returns a fresh pseudo-random number (not cryptographic; ids only need to be unique).
pub fn rand_u64() -> u64 {
    static STATE: OnceLock<AtomicU64> = OnceLock::new();
    // RandomState is seeded per process, so two mocks started together still differ.
    let state = STATE.get_or_init(|| AtomicU64::new(RandomState::new().hash_one(now_secs())));
    splitmix64(state.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed))
}

/// One step of SplitMix64; also used to expand a hash into a deterministic sequence.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A random string of `len` ASCII letters and digits.
pub fn rand_alnum(len: usize) -> String {
    (0..len)
        .map(|_| char::from(ALNUM[(rand_u64() % ALNUM.len() as u64) as usize]))
        .collect()
}

/// A random lower-case hex string of `len` digits.
pub fn rand_hex(len: usize) -> String {
    (0..len)
        .map(|_| char::from(b"0123456789abcdef"[(rand_u64() % 16) as usize]))
        .collect()
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// FNV-1a: stable across runs and platforms, unlike the std hasher.
pub fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The first `max` characters of `s` (by char, never splitting a code point).
pub fn truncate_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((idx, _)) => &s[..idx],
        None => s,
    }
}

/// Splits text into word pieces that keep their leading whitespace (" capital"),
/// so concatenating the pieces gives back the text, as streamed deltas do.
pub fn word_pieces(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut in_word = false;
    for (idx, ch) in text.char_indices() {
        if ch.is_whitespace() {
            if in_word {
                pieces.push(&text[start..idx]);
                start = idx;
                in_word = false;
            }
        } else {
            in_word = true;
        }
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

/// Standard base64 with padding (OpenAI's `encoding_format: "base64"`).
pub fn base64(data: &[u8]) -> String {
    const TABLE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_keep_leading_space_and_rejoin() {
        let text = "[m] The capital  of\nthe UK";
        let pieces = word_pieces(text);
        assert_eq!(
            pieces,
            vec!["[m]", " The", " capital", "  of", "\nthe", " UK"]
        );
        assert_eq!(pieces.concat(), text);
        assert!(word_pieces("").is_empty());
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("hi", 5), "hi");
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn random_ids_differ() {
        assert_ne!(rand_alnum(24), rand_alnum(24));
        assert_eq!(rand_hex(32).len(), 32);
    }
}
