//! Picking a deployment within a model group.
//!
//! [`pick`] filters the group by `eligible`, keeps the lowest `order` tier that has
//! a deployment left, and lets the configured [`Strategy`] choose within it from a
//! [`Load`] view ([`stats::StoreLoad`] in the filter, injected values in tests).

pub mod settings;
pub mod stats;
pub mod strategy;

pub use stats::StoreLoad;
pub use strategy::{Load, NoLoad, Routing, Strategy};

use crate::config::{Config, Deployment};

/// Picks a deployment of `group` among those `eligible` accepts, with the
/// configured strategy (`cfg.routing`).
///
/// Only the lowest `order` present among eligible deployments is considered (higher
/// orders are standby, used when the whole lower tier is ineligible). `rand` is any
/// uniformly random u64; callers own the RNG so the choice is testable.
pub fn pick<'a>(
    cfg: &'a Config,
    group: &str,
    rand: u64,
    load: &dyn Load,
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
    strategy::choose(&cfg.routing, &tier, rand, load)
}

#[cfg(test)]
mod flow_tests;

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
            let d = pick(c, group, rng.next_u64(), &NoLoad, |_| true).unwrap();
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
        let d = pick(&c, "g", 7, &NoLoad, |d| d.id != "b").unwrap();
        assert_eq!(d.id, "a");
        assert!(pick(&c, "g", 7, &NoLoad, |_| false).is_none());
        assert!(pick(&c, "nope", 7, &NoLoad, |_| true).is_none());
    }

    /// Loads deployment "a" as badly as each strategy can see.
    struct Swamped;

    impl Load for Swamped {
        fn in_flight(&self, d: &Deployment) -> u64 {
            if d.id == "a" {
                100
            } else {
                0
            }
        }
        fn latency_ms(&self, d: &Deployment) -> Option<f64> {
            Some(if d.id == "a" { 1e6 } else { 1.0 })
        }
        fn tpm_used(&self, d: &Deployment) -> u64 {
            if d.id == "a" {
                1_000_000
            } else {
                0
            }
        }
    }

    #[test]
    fn order_tiers_come_first_for_every_strategy() {
        let base = cfg("model_list:\n  - {model_name: g, litellm_params: {model: openai/a, order: 1}, model_info: {id: a}}\n  - {model_name: g, litellm_params: {model: openai/b, order: 2}, model_info: {id: b}}\n  - {model_name: g, litellm_params: {model: openai/c}, model_info: {id: c}}\n");
        for (_, strategy) in strategy::NAMES {
            let mut c = base.clone();
            c.routing.strategy = *strategy;
            for rand in 0..8 {
                let id = |eligible: &dyn Fn(&Deployment) -> bool| {
                    pick(&c, "g", rand, &Swamped, eligible).map(|d| d.id.clone())
                };
                assert_eq!(id(&|_| true).as_deref(), Some("a"), "{strategy:?}");
                assert_eq!(id(&|d| d.id != "a").as_deref(), Some("b"), "{strategy:?}");
                assert_eq!(id(&|d| d.id == "c").as_deref(), Some("c"), "{strategy:?}");
            }
        }
    }

    #[test]
    fn zero_weights_still_route() {
        let c =
            cfg("model_list:\n  - {model_name: g, litellm_params: {model: openai/a, weight: 0}}\n");
        assert!(pick(&c, "g", 1, &NoLoad, |_| true).is_some());
    }
}
