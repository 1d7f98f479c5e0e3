//! `router_settings.routing_strategy` and `routing_strategy_args`, validated.

use super::strategy::{alpha_for_window, Routing, Strategy, NAMES};
use crate::config::raw::RouterSettings;
use crate::config::ConfigError;

const STRATEGY: &str = "router_settings.routing_strategy";
const ARGS: &str = "router_settings.routing_strategy_args";

/// Longest latency ttl accepted: a week.
const MAX_TTL_SECS: f64 = 7.0 * 86_400.0;

fn error(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        path: path.into(),
        message: message.into(),
    }
}

/// The routing configuration `router_settings` asks for.
pub fn from_settings(rs: &RouterSettings) -> Result<Routing, ConfigError> {
    let mut routing = Routing::default();
    if let Some(name) = &rs.routing_strategy {
        routing.strategy = Strategy::parse(name).ok_or_else(|| {
            let known: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
            error(
                STRATEGY,
                format!(
                    "{name:?} is not supported (supported: {})",
                    known.join(", ")
                ),
            )
        })?;
    }
    let Some(args) = &rs.routing_strategy_args else {
        return Ok(routing);
    };
    if let Some(b) = args.lowest_latency_buffer {
        if !(b >= 0.0 && b.is_finite()) {
            return Err(error(
                format!("{ARGS}.lowest_latency_buffer"),
                format!("{b} must be a number >= 0"),
            ));
        }
        routing.lowest_latency_buffer = b;
    }
    if let Some(t) = args.ttl {
        if !(t > 0.0 && t <= MAX_TTL_SECS) {
            return Err(error(
                format!("{ARGS}.ttl"),
                format!("{t} is out of range (0 < seconds <= {MAX_TTL_SECS})"),
            ));
        }
        routing.latency_ttl_secs = t.ceil() as u64;
    }
    if let Some(n) = args.max_latency_list_size {
        if n == 0 {
            return Err(error(
                format!("{ARGS}.max_latency_list_size"),
                "must be at least 1",
            ));
        }
        routing.latency_alpha = alpha_for_window(n);
    }
    Ok(routing)
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::routing::Strategy;

    const MODELS: &str = "model_list:\n  - {model_name: g, litellm_params: {model: openai/a}}\n";

    fn load(router: &str) -> Result<Config, crate::ConfigError> {
        Config::load(&format!("{MODELS}router_settings: {router}\n"), &|_| None)
    }

    #[test]
    fn every_litellm_name_is_accepted() {
        for (name, want) in [
            ("simple-shuffle", Strategy::SimpleShuffle),
            ("least-busy", Strategy::LeastBusy),
            ("latency-based-routing", Strategy::LatencyBased),
            ("usage-based-routing", Strategy::UsageBased),
            ("usage-based-routing-v2", Strategy::UsageBased),
        ] {
            let c = load(&format!("{{routing_strategy: {name}}}")).unwrap();
            assert_eq!(c.routing.strategy, want, "{name}");
        }
        let c = Config::load(MODELS, &|_| None).unwrap();
        assert_eq!(c.routing.strategy, Strategy::SimpleShuffle, "the default");
    }

    #[test]
    fn unknown_strategies_are_refused_with_the_field_path() {
        for name in ["cost-based-routing", "round-robin", "Least-Busy"] {
            let e = load(&format!("{{routing_strategy: {name}}}")).unwrap_err();
            assert_eq!(e.path, "router_settings.routing_strategy", "{name}");
            assert!(e.message.contains(name), "{e}");
            assert!(e.message.contains("least-busy"), "{e}");
        }
    }

    #[test]
    fn strategy_args_are_read() {
        let c = load(
            "{routing_strategy: latency-based-routing, routing_strategy_args: \
             {lowest_latency_buffer: 0.5, ttl: 120, max_latency_list_size: 3}}",
        )
        .unwrap();
        assert_eq!(c.routing.lowest_latency_buffer, 0.5);
        assert_eq!(c.routing.latency_ttl_secs, 120);
        assert!((c.routing.latency_alpha - 0.5).abs() < 1e-9);
        let d = load("{routing_strategy: latency-based-routing}").unwrap();
        assert_eq!(d.routing.lowest_latency_buffer, 0.0);
        assert_eq!(d.routing.latency_ttl_secs, 3_600);
    }

    #[test]
    fn bad_strategy_args_are_refused_with_the_field_path() {
        for (args, path) in [
            (
                "{lowest_latency_buffer: -0.1}",
                "router_settings.routing_strategy_args.lowest_latency_buffer",
            ),
            (
                "{lowest_latency_buffer: .inf}",
                "router_settings.routing_strategy_args.lowest_latency_buffer",
            ),
            ("{ttl: 0}", "router_settings.routing_strategy_args.ttl"),
            (
                "{max_latency_list_size: 0}",
                "router_settings.routing_strategy_args.max_latency_list_size",
            ),
            (
                "{lowest_latency_bufer: 0.1}",
                "router_settings.routing_strategy_args.lowest_latency_bufer",
            ),
            (
                "{lowest_latency_buffer: fast}",
                "router_settings.routing_strategy_args.lowest_latency_buffer",
            ),
        ] {
            let e = load(&format!("{{routing_strategy_args: {args}}}")).unwrap_err();
            assert_eq!(e.path, path, "{args}: {e}");
        }
        let e = load("{routing_strategy_args: [1]}").unwrap_err();
        assert_eq!(e.path, "router_settings.routing_strategy_args", "{e}");
    }
}
