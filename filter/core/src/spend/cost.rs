//! What a request costs, in whole micro-dollars, and the upper bound reserved
//! before it runs.
//!
//! Prices are USD per token as f64 (that is how config and price pages state
//! them), but the arithmetic is integer: each price is rounded once to
//! pico-dollars per token (exact for every published price, which has at most
//! six decimals per million tokens), multiplied by token counts in u128 with
//! saturation, and the total rounded up to whole micro-dollars.

use super::prices::{self, Price};
use crate::config::Deployment;
use crate::translate::Usage;
use serde_json::Value;

/// Pico-dollars per micro-dollar.
const PICO_PER_MICRO: u128 = 1_000_000;

/// The prices that apply to a deployment: model_info's non-zero prices override
/// the built-in table (looked up by model_info.base_model, else the provider
/// model id). An overridden input price scales the table's cache prices by the
/// same ratio; without a table entry cache tokens cost the input price.
pub fn effective_price(dep: &Deployment) -> Price {
    let model = dep.base_model.as_deref().unwrap_or(&dep.model);
    let table = prices::lookup(dep.provider, model);
    let set = |v: f64| (v > 0.0 && v.is_finite()).then_some(v);
    let t = table.unwrap_or_default();
    let input_override = set(dep.input_cost_per_token);
    let input = input_override.unwrap_or(t.input);
    let cache = |table_price: f64| match (table, input_override) {
        (Some(t), Some(i)) if t.input > 0.0 => i * (table_price / t.input),
        (Some(_), None) => table_price,
        _ => input,
    };
    Price {
        input,
        output: set(dep.output_cost_per_token).unwrap_or(t.output),
        cache_read: set(dep.cache_read_input_token_cost).unwrap_or_else(|| cache(t.cache_read)),
        cache_write: set(dep.cache_creation_input_token_cost)
            .unwrap_or_else(|| cache(t.cache_write)),
    }
}

/// Cost of a finished request in micro-dollars, rounded up.
///
/// Uncached prompt tokens (prompt - cached - cache_creation, never below 0) at
/// the input price, cached at the cache-read price, cache-creation at the
/// cache-write price, completion (reasoning included) at the output price.
pub fn cost_micros(dep: &Deployment, usage: &Usage) -> u64 {
    let p = effective_price(dep);
    let plain = usage
        .prompt_tokens
        .saturating_sub(usage.cached_tokens)
        .saturating_sub(usage.cache_creation_tokens);
    micros(&[
        (plain, p.input),
        (usage.cached_tokens, p.cache_read),
        (usage.cache_creation_tokens, p.cache_write),
        (usage.completion_tokens, p.output),
    ])
}

/// Most a request can cost: every prompt token at the dearest prompt price
/// (a cache write costs more than plain input) and every allowed output token.
pub fn worst_case_micros(dep: &Deployment, prompt_tokens: u64, max_output_tokens: u64) -> u64 {
    let p = effective_price(dep);
    let prompt_price = p.input.max(p.cache_read).max(p.cache_write);
    micros(&[(prompt_tokens, prompt_price), (max_output_tokens, p.output)])
}

/// Prompt size guessed from the request body before the provider counts it:
/// four bytes per token, rounded up, at least 1. JSON syntax makes this an
/// overestimate for text, which is the safe side for budget reservations.
pub fn estimate_prompt_tokens(body: &[u8]) -> u64 {
    let len = u64::try_from(body.len()).unwrap_or(u64::MAX);
    len.div_ceil(4).max(1)
}

/// The output cap the client asked for: the largest positive value among
/// `max_tokens`, `max_completion_tokens`, `max_output_tokens` and Gemini's
/// `generationConfig.maxOutputTokens`; `default` when none is given.
pub fn max_output_tokens(body: &Value, default: u64) -> u64 {
    [
        "/max_tokens",
        "/max_completion_tokens",
        "/max_output_tokens",
        "/generationConfig/maxOutputTokens",
        "/generation_config/max_output_tokens",
    ]
    .iter()
    .filter_map(|p| body.pointer(p).and_then(Value::as_u64))
    .filter(|n| *n > 0)
    .max()
    .unwrap_or(default)
}

/// Sum of tokens x price, rounded up to micro-dollars, saturating at u64::MAX.
fn micros(terms: &[(u64, f64)]) -> u64 {
    let pico = terms.iter().fold(0u128, |acc, (tokens, price)| {
        acc.saturating_add(u128::from(*tokens).saturating_mul(pico_per_token(*price)))
    });
    let micros = pico / PICO_PER_MICRO + u128::from(pico % PICO_PER_MICRO != 0);
    u64::try_from(micros).unwrap_or(u64::MAX)
}

/// A per-token USD price in pico-dollars; negative, NaN and infinite prices are 0
/// (config validation refuses them; this keeps the arithmetic total anyway).
fn pico_per_token(price: f64) -> u128 {
    if price.is_finite() && price > 0.0 {
        // Float-to-int `as` saturates, so absurd prices cannot wrap.
        (price * 1e12).round() as u128
    } else {
        0
    }
}

#[cfg(test)]
#[path = "cost_tests.rs"]
mod tests;
