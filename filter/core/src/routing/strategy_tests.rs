use super::*;
use crate::config::Config;
use crate::routing::Rng;
use std::collections::BTreeMap;

/// Injected load per deployment id.
#[derive(Default)]
struct Fixed {
    busy: BTreeMap<&'static str, u64>,
    latency: BTreeMap<&'static str, f64>,
    tpm: BTreeMap<&'static str, u64>,
}

impl Load for Fixed {
    fn in_flight(&self, d: &Deployment) -> u64 {
        self.busy.get(d.id.as_str()).copied().unwrap_or(0)
    }
    fn latency_ms(&self, d: &Deployment) -> Option<f64> {
        self.latency.get(d.id.as_str()).copied()
    }
    fn tpm_used(&self, d: &Deployment) -> u64 {
        self.tpm.get(d.id.as_str()).copied().unwrap_or(0)
    }
}

/// Three deployments a, b, c; b is heavily weighted so weights visibly don't matter
/// to the load-based strategies.
fn three() -> Config {
    let mut text = String::from("model_list:\n");
    for (id, w) in [("a", 1), ("b", 50), ("c", 1)] {
        text.push_str(&format!(
            "  - {{model_name: g, litellm_params: {{model: openai/{id}, weight: {w}}}, model_info: {{id: {id}}}}}\n"
        ));
    }
    Config::load(&text, &|_| None).unwrap()
}

/// How often each deployment is chosen over many random draws.
fn shares(strategy: Strategy, buffer: f64, load: &Fixed) -> BTreeMap<String, u32> {
    let cfg = three();
    let tier: Vec<&Deployment> = cfg.deployments.iter().collect();
    let routing = Routing {
        strategy,
        lowest_latency_buffer: buffer,
        ..Routing::default()
    };
    let mut rng = Rng::new(7);
    let mut out = BTreeMap::new();
    for _ in 0..3_000 {
        let d = choose(&routing, &tier, rng.next_u64(), load).unwrap();
        *out.entry(d.id.clone()).or_insert(0) += 1;
    }
    out
}

fn only(n: &BTreeMap<String, u32>) -> Vec<&str> {
    n.keys().map(String::as_str).collect()
}

#[test]
fn least_busy_takes_the_fewest_in_flight() {
    let load = Fixed {
        busy: [("a", 3), ("b", 5), ("c", 1)].into(),
        ..Fixed::default()
    };
    assert_eq!(only(&shares(Strategy::LeastBusy, 0.0, &load)), ["c"]);
}

#[test]
fn least_busy_breaks_ties_randomly() {
    let load = Fixed {
        busy: [("a", 2), ("b", 2), ("c", 4)].into(),
        ..Fixed::default()
    };
    let n = shares(Strategy::LeastBusy, 0.0, &load);
    assert_eq!(only(&n), ["a", "b"]);
    assert!(
        n["a"] > 1_200 && n["b"] > 1_200,
        "even, not weighted: {n:?}"
    );
}

#[test]
fn latency_takes_the_fastest_without_a_buffer() {
    let load = Fixed {
        latency: [("a", 120.0), ("b", 80.0), ("c", 300.0)].into(),
        ..Fixed::default()
    };
    assert_eq!(only(&shares(Strategy::LatencyBased, 0.0, &load)), ["b"]);
}

#[test]
fn latency_buffer_spreads_over_the_near_fastest() {
    let load = Fixed {
        latency: [("a", 140.0), ("b", 100.0), ("c", 151.0)].into(),
        ..Fixed::default()
    };
    let n = shares(Strategy::LatencyBased, 0.5, &load);
    assert_eq!(only(&n), ["a", "b"], "c is beyond 1.5 × 100 ms");
    assert!(n["a"] > 1_200 && n["b"] > 1_200, "{n:?}");
    let edge = Fixed {
        latency: [("a", 140.0), ("b", 100.0), ("c", 150.0)].into(),
        ..Fixed::default()
    };
    let n = shares(Strategy::LatencyBased, 0.5, &edge);
    assert_eq!(only(&n), ["a", "b", "c"], "the bound is inclusive");
}

#[test]
fn latency_tries_unmeasured_deployments_first() {
    let load = Fixed {
        latency: [("a", 5.0)].into(),
        ..Fixed::default()
    };
    let n = shares(Strategy::LatencyBased, 10.0, &load);
    assert_eq!(only(&n), ["b", "c"], "{n:?}");
    let none = shares(Strategy::LatencyBased, 0.0, &Fixed::default());
    assert_eq!(only(&none), ["a", "b", "c"], "nothing measured: uniform");
}

#[test]
fn usage_takes_the_lowest_tpm_this_minute() {
    let load = Fixed {
        tpm: [("a", 900), ("b", 100), ("c", 100_000)].into(),
        ..Fixed::default()
    };
    assert_eq!(only(&shares(Strategy::UsageBased, 0.0, &load)), ["b"]);
    let tied = Fixed {
        tpm: [("a", 10), ("b", 50), ("c", 10)].into(),
        ..Fixed::default()
    };
    assert_eq!(only(&shares(Strategy::UsageBased, 0.0, &tied)), ["a", "c"]);
}

#[test]
fn simple_shuffle_ignores_load() {
    let load = Fixed {
        busy: [("b", 100)].into(),
        latency: [("b", 1e6)].into(),
        tpm: [("b", 1_000_000)].into(),
    };
    let n = shares(Strategy::SimpleShuffle, 0.0, &load);
    assert!(n["b"] > 2_700, "weight 50 of 52: {n:?}");
}

#[test]
fn an_empty_tier_chooses_nothing() {
    for s in [
        Strategy::SimpleShuffle,
        Strategy::LeastBusy,
        Strategy::LatencyBased,
        Strategy::UsageBased,
    ] {
        let routing = Routing {
            strategy: s,
            ..Routing::default()
        };
        assert!(choose(&routing, &[], 3, &NoLoad).is_none(), "{s:?}");
    }
}

#[test]
fn names_round_trip() {
    for (name, s) in NAMES {
        assert_eq!(Strategy::parse(name), Some(*s));
        assert_eq!(Strategy::parse(s.name()), Some(*s));
    }
    assert_eq!(Strategy::parse("least_busy"), None);
    assert!((alpha_for_window(10) - 2.0 / 11.0).abs() < 1e-12);
    assert_eq!(alpha_for_window(1), 1.0);
}
