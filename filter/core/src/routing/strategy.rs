//! The routing strategies (LiteLLM's `router_settings.routing_strategy`) and how
//! each one chooses within a priority tier, given a [`Load`] view of the deployments.

use crate::config::Deployment;

/// How a deployment is chosen within a model group's tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Weighted random: weight, else rpm, else tpm, else uniform.
    #[default]
    SimpleShuffle,
    /// Fewest requests in flight.
    LeastBusy,
    /// Lowest moving-average latency (within `lowest_latency_buffer`).
    LatencyBased,
    /// Lowest tokens used this minute.
    UsageBased,
}

/// Accepted `routing_strategy` values; `usage-based-routing-v2` and
/// `usage-based-routing` behave the same here.
pub const NAMES: &[(&str, Strategy)] = &[
    ("simple-shuffle", Strategy::SimpleShuffle),
    ("least-busy", Strategy::LeastBusy),
    ("latency-based-routing", Strategy::LatencyBased),
    ("usage-based-routing", Strategy::UsageBased),
    ("usage-based-routing-v2", Strategy::UsageBased),
];

impl Strategy {
    /// The strategy a `routing_strategy` value names.
    pub fn parse(name: &str) -> Option<Strategy> {
        NAMES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
    }

    /// Canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::SimpleShuffle => "simple-shuffle",
            Strategy::LeastBusy => "least-busy",
            Strategy::LatencyBased => "latency-based-routing",
            Strategy::UsageBased => "usage-based-routing-v2",
        }
    }
}

/// Latency samples older than this are forgotten (LiteLLM's default ttl, 1 h).
pub const DEFAULT_LATENCY_TTL_SECS: u64 = 3_600;
/// LiteLLM averages the last 10 latencies; an EWMA with alpha 2/(N+1) has the same
/// center of mass.
pub const DEFAULT_LATENCY_WINDOW: u32 = 10;

/// The configured strategy and its arguments (`routing_strategy_args`).
#[derive(Debug, Clone, PartialEq)]
pub struct Routing {
    /// The strategy.
    pub strategy: Strategy,
    /// latency-based: candidates are those within (1 + buffer) × the lowest average.
    pub lowest_latency_buffer: f64,
    /// latency-based: a deployment not measured for this long counts as unmeasured again.
    pub latency_ttl_secs: u64,
    /// latency-based: weight of a new sample in the moving average (0 < alpha <= 1).
    pub latency_alpha: f64,
}

impl Default for Routing {
    fn default() -> Self {
        Routing {
            strategy: Strategy::SimpleShuffle,
            lowest_latency_buffer: 0.0,
            latency_ttl_secs: DEFAULT_LATENCY_TTL_SECS,
            latency_alpha: alpha_for_window(DEFAULT_LATENCY_WINDOW),
        }
    }
}

/// EWMA weight equivalent to averaging the last `n` samples.
pub fn alpha_for_window(n: u32) -> f64 {
    2.0 / (f64::from(n.max(1)) + 1.0)
}

/// What the strategies know about deployments' current load. The filter reads the
/// shared store ([`super::stats::StoreLoad`]); tests inject values.
pub trait Load {
    /// Requests forwarded to the deployment and not yet ended.
    fn in_flight(&self, dep: &Deployment) -> u64;
    /// Moving-average latency in ms; None when unmeasured (or the sample expired).
    fn latency_ms(&self, dep: &Deployment) -> Option<f64>;
    /// Tokens counted against the deployment in the current minute.
    fn tpm_used(&self, dep: &Deployment) -> u64;
}

/// Every deployment idle, unmeasured and unused (simple-shuffle needs nothing more).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLoad;

impl Load for NoLoad {
    fn in_flight(&self, _: &Deployment) -> u64 {
        0
    }
    fn latency_ms(&self, _: &Deployment) -> Option<f64> {
        None
    }
    fn tpm_used(&self, _: &Deployment) -> u64 {
        0
    }
}

/// Chooses one deployment of a tier. `rand` is uniformly random; ties (and the
/// latency buffer's candidates) are broken with it.
pub fn choose<'a>(
    routing: &Routing,
    tier: &[&'a Deployment],
    rand: u64,
    load: &dyn Load,
) -> Option<&'a Deployment> {
    let scores: Vec<Option<f64>> = match routing.strategy {
        Strategy::SimpleShuffle => return shuffle(tier, rand),
        Strategy::LeastBusy => tier
            .iter()
            .map(|d| Some(load.in_flight(d) as f64))
            .collect(),
        Strategy::UsageBased => tier.iter().map(|d| Some(load.tpm_used(d) as f64)).collect(),
        Strategy::LatencyBased => tier.iter().map(|d| load.latency_ms(d)).collect(),
    };
    if routing.strategy != Strategy::LatencyBased {
        return within(tier, &scores, rand, 0.0);
    }
    // Unmeasured deployments go first so they get a sample.
    let unmeasured: Vec<&'a Deployment> = tier
        .iter()
        .zip(&scores)
        .filter(|(_, s)| s.is_none())
        .map(|(d, _)| *d)
        .collect();
    if !unmeasured.is_empty() {
        return random(&unmeasured, rand);
    }
    within(tier, &scores, rand, routing.lowest_latency_buffer)
}

/// A random member of those whose score is within (1 + buffer) × the lowest
/// score; unscored members never qualify.
fn within<'a>(
    tier: &[&'a Deployment],
    scores: &[Option<f64>],
    rand: u64,
    buffer: f64,
) -> Option<&'a Deployment> {
    let lowest = scores.iter().flatten().copied().reduce(f64::min)?;
    let limit = lowest * (1.0 + buffer);
    let best: Vec<&'a Deployment> = tier
        .iter()
        .zip(scores)
        .filter(|(_, s)| s.is_some_and(|s| s <= limit))
        .map(|(d, _)| *d)
        .collect();
    random(&best, rand)
}

fn random<'a>(among: &[&'a Deployment], rand: u64) -> Option<&'a Deployment> {
    if among.is_empty() {
        return None;
    }
    among.get((rand % among.len() as u64) as usize).copied()
}

/// LiteLLM's simple-shuffle: weight if any candidate sets one, else rpm, else tpm,
/// else uniform.
fn shuffle<'a>(tier: &[&'a Deployment], rand: u64) -> Option<&'a Deployment> {
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
        return random(tier, rand);
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

#[cfg(test)]
#[path = "strategy_tests.rs"]
mod tests;
