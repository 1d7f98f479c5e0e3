//! Picking a deployment within a model group (LiteLLM's simple-shuffle).

use crate::config::{Config, Deployment};

/// Picks a deployment of `group` among those `eligible` accepts.
///
/// Only the lowest `order` present is considered (higher orders are standby). Within
/// it, LiteLLM's simple-shuffle: weight if any candidate sets one, else rpm, else tpm,
/// else uniform. `rand` is any uniformly random u64; callers own the RNG so the
/// choice is testable.
pub fn pick<'a>(
    cfg: &'a Config,
    group: &str,
    rand: u64,
    eligible: impl Fn(&Deployment) -> bool,
) -> Option<&'a Deployment> {
    let candidates: Vec<&Deployment> = cfg
        .groups
        .get(group)?
        .iter()
        .filter_map(|&i| cfg.deployments.get(i))
        .filter(|d| eligible(d))
        .collect();
    let best_order = candidates.iter().map(|d| d.order).min()?;
    let tier: Vec<&Deployment> = candidates
        .into_iter()
        .filter(|d| d.order == best_order)
        .collect();
    let weights: Vec<f64> = if tier.iter().any(|d| d.weight.is_some()) {
        tier.iter().map(|d| d.weight.unwrap_or(0.0)).collect()
    } else if tier.iter().any(|d| d.rpm.is_some()) {
        tier.iter().map(|d| d.rpm.unwrap_or(0) as f64).collect()
    } else if tier.iter().any(|d| d.tpm.is_some()) {
        tier.iter().map(|d| d.tpm.unwrap_or(0) as f64).collect()
    } else {
        vec![1.0; tier.len()]
    };
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        // All-zero weights still route rather than failing the group.
        return tier.get((rand % tier.len() as u64) as usize).copied();
    }
    // 53 random bits give a uniform f64 in [0, 1).
    let mut point = (rand >> 11) as f64 / (1u64 << 53) as f64 * total;
    for (d, w) in tier.iter().zip(&weights) {
        if point < *w {
            return Some(d);
        }
        point -= w;
    }
    tier.last().copied()
}

/// A small xorshift generator for the shim, seeded per worker.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeds the generator; a zero seed is replaced since xorshift would stay at zero.
    pub fn new(seed: u64) -> Self {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// Next pseudo-random value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        Config::load(text, &|_| None).unwrap()
    }

    fn counts(c: &Config, group: &str) -> std::collections::BTreeMap<String, u32> {
        let mut rng = Rng::new(42);
        let mut out = std::collections::BTreeMap::new();
        for _ in 0..40_000 {
            let d = pick(c, group, rng.next_u64(), |_| true).unwrap();
            *out.entry(d.id.clone()).or_insert(0) += 1;
        }
        out
    }

    #[test]
    fn weights_split_traffic() {
        let c = cfg("model_list:\n  - {model_name: g, litellm_params: {model: openai/a, weight: 3}, model_info: {id: a}}\n  - {model_name: g, litellm_params: {model: openai/b, weight: 1}, model_info: {id: b}}\n");
        let n = counts(&c, "g");
        let share = f64::from(n["a"]) / 40_000.0;
        assert!((share - 0.75).abs() < 0.02, "{n:?}");
    }

    #[test]
    fn rpm_is_the_weight_when_no_weight() {
        let c = cfg("model_list:\n  - {model_name: g, litellm_params: {model: openai/a, rpm: 100}, model_info: {id: a}}\n  - {model_name: g, litellm_params: {model: openai/b, rpm: 900}, model_info: {id: b}}\n");
        let n = counts(&c, "g");
        let share = f64::from(n["b"]) / 40_000.0;
        assert!((share - 0.9).abs() < 0.02, "{n:?}");
    }

    #[test]
    fn lowest_order_wins_and_eligibility_filters() {
        let c = cfg("model_list:\n  - {model_name: g, litellm_params: {model: openai/a, order: 2}, model_info: {id: a}}\n  - {model_name: g, litellm_params: {model: openai/b, order: 1}, model_info: {id: b}}\n");
        assert_eq!(counts(&c, "g").keys().collect::<Vec<_>>(), vec!["b"]);
        let d = pick(&c, "g", 7, |d| d.id != "b").unwrap();
        assert_eq!(d.id, "a");
        assert!(pick(&c, "g", 7, |_| false).is_none());
        assert!(pick(&c, "nope", 7, |_| true).is_none());
    }

    #[test]
    fn zero_weights_still_route() {
        let c =
            cfg("model_list:\n  - {model_name: g, litellm_params: {model: openai/a, weight: 0}}\n");
        assert!(pick(&c, "g", 1, |_| true).is_some());
    }
}
