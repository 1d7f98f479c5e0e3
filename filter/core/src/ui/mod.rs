//! The spend dashboard at `GET /ui`: one self-contained HTML page (inline CSS and
//! JS, no external assets) that reads the admin API with a key the user enters.
//!
//! The page itself is public: it holds no data. Every figure comes from the
//! existing admin routes (`/global/spend/report`, `/spend/logs`, `/key/list`,
//! `/key/info`, `/health`), which need the master key or a `proxy_admin` key.
//! The Content-Security-Policy allows exactly the page's one inline script and
//! one inline style (by hash), and network access to this origin only.

use crate::gateway::LocalReply;
use sha2::{Digest, Sha256};

/// The page, embedded in the filter.
pub const PAGE: &str = include_str!("ui.html");

/// The answer to `GET /ui`.
pub fn reply() -> LocalReply {
    LocalReply {
        status: 200,
        headers: vec![
            ("content-type", "text/html; charset=utf-8".to_string()),
            ("content-security-policy", csp(PAGE)),
            ("cache-control", "no-store".to_string()),
            ("x-content-type-options", "nosniff".to_string()),
            ("x-frame-options", "DENY".to_string()),
            ("referrer-policy", "no-referrer".to_string()),
        ],
        body: PAGE.as_bytes().to_vec(),
        limit: None,
    }
}

/// A policy that allows the page's inline `<script>` and `<style>` by hash,
/// `fetch` to its own origin, and nothing else.
pub fn csp(page: &str) -> String {
    let hash = |tag: &str| {
        inline(page, tag)
            .map(|body| format!(" 'sha256-{}'", base64(&Sha256::digest(body.as_bytes()))))
            .unwrap_or_default()
    };
    format!(
        "default-src 'none'; script-src{}; style-src{}; img-src 'self' data:; \
         connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        hash("script"),
        hash("style"),
    )
}

/// The text between `<tag>` and `</tag>` (the first such element).
fn inline<'a>(page: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = page.find(&open)? + open.len();
    let len = page.get(start..)?.find(&format!("</{tag}>"))?;
    page.get(start..start + len)
}

/// Standard base64 with padding (CSP hash sources).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
