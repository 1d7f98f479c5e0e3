//! Built-in list prices, so spend is tracked without any pricing in config.
//!
//! Standard (non-batch, non-priority) USD list prices per million tokens, as
//! published by the providers on their pricing pages (platform.openai.com /
//! developers.openai.com model pages, platform.claude.com "Pricing",
//! ai.google.dev "Gemini Developer API pricing"), checked 2026-06. Long-context
//! surcharges (Gemini prompts over 128k/200k tokens, Claude 1M-context beta) and
//! Anthropic's 1-hour cache writes are not modelled: the base tier is used, and
//! deployments needing exact numbers set them in model_info.

use crate::provider::Provider;

/// USD per token for each kind of token a provider bills.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Price {
    /// Prompt tokens neither read from nor written to a cache.
    pub input: f64,
    /// Completion tokens (reasoning included).
    pub output: f64,
    /// Prompt tokens served from cache.
    pub cache_read: f64,
    /// Prompt tokens written to cache (Anthropic's 5-minute cache write).
    pub cache_write: f64,
}

/// One table row, in the per-million-token units the price pages use.
struct Row {
    base: &'static str,
    input: f64,
    output: f64,
    cache_read: f64,
    cache_write: f64,
}

const fn row(base: &'static str, input: f64, output: f64, read: f64, write: f64) -> Row {
    Row {
        base,
        input,
        output,
        cache_read: read,
        cache_write: write,
    }
}

// OpenAI bills no cache-write premium and reports no cache writes: write = input.
const OPENAI: &[Row] = &[
    row("gpt-4o", 2.50, 10.00, 1.25, 2.50),
    row("gpt-4o-mini", 0.15, 0.60, 0.075, 0.15),
    row("gpt-4.1", 2.00, 8.00, 0.50, 2.00),
    row("gpt-4.1-mini", 0.40, 1.60, 0.10, 0.40),
    row("gpt-4.1-nano", 0.10, 0.40, 0.025, 0.10),
    row("o1", 15.00, 60.00, 7.50, 15.00),
    row("o3", 2.00, 8.00, 0.50, 2.00),
    row("o3-mini", 1.10, 4.40, 0.55, 1.10),
    row("o4-mini", 1.10, 4.40, 0.275, 1.10),
    row("gpt-5", 1.25, 10.00, 0.125, 1.25),
    row("gpt-5-mini", 0.25, 2.00, 0.025, 0.25),
    row("gpt-5-nano", 0.05, 0.40, 0.005, 0.05),
    row("text-embedding-3-small", 0.02, 0.0, 0.02, 0.02),
    row("text-embedding-3-large", 0.13, 0.0, 0.13, 0.13),
    row("text-embedding-ada-002", 0.10, 0.0, 0.10, 0.10),
];

// Cache reads are 0.1x input, 5-minute cache writes 1.25x input.
const ANTHROPIC: &[Row] = &[
    row("claude-3-haiku", 0.25, 1.25, 0.03, 0.30),
    row("claude-3-opus", 15.00, 75.00, 1.50, 18.75),
    row("claude-3-5-haiku", 0.80, 4.00, 0.08, 1.00),
    row("claude-3-5-sonnet", 3.00, 15.00, 0.30, 3.75),
    row("claude-3-7-sonnet", 3.00, 15.00, 0.30, 3.75),
    row("claude-sonnet-4", 3.00, 15.00, 0.30, 3.75),
    row("claude-sonnet-4-0", 3.00, 15.00, 0.30, 3.75),
    row("claude-sonnet-4-5", 3.00, 15.00, 0.30, 3.75),
    row("claude-opus-4", 15.00, 75.00, 1.50, 18.75),
    row("claude-opus-4-0", 15.00, 75.00, 1.50, 18.75),
    row("claude-opus-4-1", 15.00, 75.00, 1.50, 18.75),
    // Opus 4.5 dropped to a third of Opus 4's price; listed so it never falls back to it.
    row("claude-opus-4-5", 5.00, 25.00, 0.50, 6.25),
    row("claude-haiku-4-5", 1.00, 5.00, 0.10, 1.25),
];

// Gemini bills cache storage per hour, not cache writes, and reports none: write = input.
// Models without context caching read cached tokens at the input price.
const GEMINI: &[Row] = &[
    row("gemini-1.5-flash", 0.075, 0.30, 0.01875, 0.075),
    row("gemini-1.5-pro", 1.25, 5.00, 0.3125, 1.25),
    row("gemini-2.0-flash", 0.10, 0.40, 0.025, 0.10),
    row("gemini-2.0-flash-lite", 0.075, 0.30, 0.075, 0.075),
    row("gemini-2.5-flash", 0.30, 2.50, 0.03, 0.30),
    row("gemini-2.5-flash-lite", 0.10, 0.40, 0.01, 0.10),
    row("gemini-2.5-pro", 1.25, 10.00, 0.125, 1.25),
    // Free of charge on the Gemini API.
    row("text-embedding-004", 0.0, 0.0, 0.0, 0.0),
    row("gemini-embedding-001", 0.15, 0.0, 0.15, 0.15),
];

/// The list price of a provider model id, or None when it is not in the table.
///
/// Any path before the last `/` is dropped (`models/gemini-2.5-flash`,
/// `azure/gpt-4o`). A table entry matches the id itself or the id with a
/// version suffix (see [`is_version_suffix`]); the longest matching entry wins,
/// so `gpt-4o-mini-2024-07-18` is gpt-4o-mini, not gpt-4o. Other suffixes
/// (`o3-pro`, `gpt-4o-audio-preview`, `gemini-1.5-flash-8b`) are different
/// products at different prices and are deliberately not matched. The
/// provider's own table is searched first, then the others, so OpenAI-compatible
/// endpoints serving another vendor's models are still priced.
pub fn lookup(provider: Provider, model: &str) -> Option<Price> {
    let id = model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    let own = table(provider);
    let others = [OPENAI, ANTHROPIC, GEMINI]
        .into_iter()
        .filter(|t| !std::ptr::eq(*t, own));
    std::iter::once(own)
        .chain(others)
        .find_map(|t| best_match(t, &id))
        .map(|r| Price {
            input: r.input / 1e6,
            output: r.output / 1e6,
            cache_read: r.cache_read / 1e6,
            cache_write: r.cache_write / 1e6,
        })
}

fn table(provider: Provider) -> &'static [Row] {
    match provider {
        Provider::OpenAi | Provider::Azure => OPENAI,
        Provider::Anthropic => ANTHROPIC,
        Provider::Gemini => GEMINI,
    }
}

fn best_match<'t>(table: &'t [Row], id: &str) -> Option<&'t Row> {
    table
        .iter()
        .filter(|r| id.strip_prefix(r.base).is_some_and(is_version_suffix))
        .max_by_key(|r| r.base.len())
}

/// True for what providers append to name a snapshot of the same model:
/// nothing, or `-`/`@` then segments that are each 2+ digits (`2024-08-06`,
/// `20250219`, `001`, `05-20`), `v<digits>`, `latest`, `preview` or `exp`.
///
/// Single digits are refused because they are minor versions (`claude-opus-4-5`
/// is not `claude-opus-4`), which carry their own prices.
fn is_version_suffix(rest: &str) -> bool {
    let Some(tail) = rest.strip_prefix('-').or_else(|| rest.strip_prefix('@')) else {
        return rest.is_empty();
    };
    tail.split(['-', '@']).all(|seg| {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        (seg.len() >= 2 && digits(seg))
            || seg.strip_prefix('v').is_some_and(digits)
            || matches!(seg, "latest" | "preview" | "exp")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base_of(provider: Provider, model: &str) -> Option<(f64, f64)> {
        lookup(provider, model).map(|p| (p.input * 1e6, p.output * 1e6))
    }

    #[test]
    fn exact_and_snapshot_ids() {
        use Provider::*;
        for (p, id, want) in [
            (OpenAi, "gpt-4o", (2.5, 10.0)),
            (OpenAi, "gpt-4o-2024-08-06", (2.5, 10.0)),
            (OpenAi, "gpt-4o-mini-2024-07-18", (0.15, 0.6)),
            (Azure, "gpt-4.1-nano-2025-04-14", (0.1, 0.4)),
            (OpenAi, "o1-preview", (15.0, 60.0)),
            (OpenAi, "o3-mini-2025-01-31", (1.1, 4.4)),
            (OpenAi, "gpt-5-nano-2025-08-07", (0.05, 0.4)),
            (OpenAi, "text-embedding-3-small", (0.02, 0.0)),
            (Anthropic, "claude-3-7-sonnet-20250219", (3.0, 15.0)),
            (Anthropic, "claude-3-5-sonnet-latest", (3.0, 15.0)),
            (Anthropic, "claude-3-5-sonnet-v2@20241022", (3.0, 15.0)),
            (Anthropic, "claude-sonnet-4-5-20250929", (3.0, 15.0)),
            (Anthropic, "claude-opus-4-1-20250805", (15.0, 75.0)),
            (Anthropic, "claude-opus-4-20250514", (15.0, 75.0)),
            (Anthropic, "claude-opus-4-5-20251101", (5.0, 25.0)),
            (Anthropic, "claude-haiku-4-5-20251001", (1.0, 5.0)),
            (Gemini, "models/gemini-2.5-flash", (0.3, 2.5)),
            (Gemini, "gemini-2.5-flash-lite-preview-06-17", (0.1, 0.4)),
            (Gemini, "gemini-2.5-flash-preview-09-2025", (0.3, 2.5)),
            (Gemini, "gemini-1.5-pro-002", (1.25, 5.0)),
            (Gemini, "gemini-2.0-flash-exp", (0.1, 0.4)),
            (Gemini, "GEMINI-2.0-FLASH-LITE", (0.075, 0.3)),
            (Gemini, "models/gemini-embedding-001", (0.15, 0.0)),
            (Gemini, "text-embedding-004", (0.0, 0.0)),
        ] {
            assert_eq!(base_of(p, id), Some(want), "{p} {id}");
        }
    }

    #[test]
    fn other_products_are_not_priced_as_their_prefix() {
        for id in [
            "o3-pro",
            "o1-mini",
            "gpt-4o-audio-preview",
            "gpt-4o-mini-search-preview",
            "gpt-5-codex",
            "gpt-5.1",
            "claude-opus-4-6",
            "gemini-1.5-flash-8b",
            "gemini-2.5-flash-image",
            "ft:gpt-4o-mini-2024-07-18:org::abc",
            "llama-3-70b",
            "",
        ] {
            assert_eq!(lookup(Provider::OpenAi, id), None, "{id}");
            assert_eq!(lookup(Provider::Anthropic, id), None, "{id}");
        }
    }

    #[test]
    fn other_vendors_models_are_found_across_tables() {
        // Gemini's OpenAI-compatible endpoint, configured as openai/gemini-2.5-pro.
        assert_eq!(
            base_of(Provider::OpenAi, "gemini-2.5-pro"),
            Some((1.25, 10.0))
        );
        assert_eq!(
            base_of(Provider::Gemini, "claude-3-5-haiku-20241022"),
            Some((0.8, 4.0))
        );
    }

    #[test]
    fn cache_prices() {
        let p = lookup(Provider::Anthropic, "claude-sonnet-4-20250514").unwrap();
        assert!((p.cache_read * 1e6 - 0.3).abs() < 1e-12);
        assert!((p.cache_write * 1e6 - 3.75).abs() < 1e-12);
        let p = lookup(Provider::OpenAi, "gpt-4.1").unwrap();
        assert!((p.cache_read * 1e6 - 0.5).abs() < 1e-12);
        assert_eq!(p.cache_write, p.input);
    }

    #[test]
    fn every_row_is_sane() {
        for t in [OPENAI, ANTHROPIC, GEMINI] {
            for r in t {
                assert!(r.input >= 0.0 && r.output >= 0.0, "{}", r.base);
                assert!(r.cache_read <= r.input, "{}", r.base);
                assert!(r.cache_write >= r.input, "{}", r.base);
                assert_eq!(best_match(t, r.base).map(|m| m.base), Some(r.base));
            }
        }
    }
}
