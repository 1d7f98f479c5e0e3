//! Gateway metrics as Envoy stats: what each metric is called, which labels it
//! carries, and how one label set is spelled as an Envoy stat name.
//!
//! proxy-wasm metrics have no labels, so a series is one stat whose name carries
//! its labels: `model_group=gpt-4o;deployment=d1;tollgate_requests_total`. Envoy
//! prefixes it with `wasmcustom.`; the bootstrap's `stats_config.stats_tags`
//! ([`stats_tags`]) cut every `label=value;` out of the name again, so the tag
//! extracted name is `wasmcustom.tollgate_requests_total` and `/stats/prometheus`
//! shows `tollgate_requests_total{model_group="gpt-4o",deployment="d1"}` (Envoy
//! drops its custom stat namespace there and adds no `envoy_` prefix).
//!
//! Label values are sanitised ([`sanitize`]) so they cannot contain `;`, `=` or
//! `.` and break the extraction; the metric name always comes last, so Envoy's own
//! `$`-anchored tag extractors (`_rq_200`) never match a label value. The shim
//! defines each series once per VM and caches its id.

mod events;
mod labels;

pub use events::{rejection, settled, settled_labels, settled_values, Settled, Update};
pub use labels::{KeyLabel, KeyValues, Settings, OTHER};

/// Envoy's metric type for a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// Only goes up (increment_metric).
    Counter,
    /// Set to a value (record_metric).
    Gauge,
    /// Each value recorded is a sample (record_metric); Envoy renders the buckets.
    Histogram,
}

/// One metric: its Prometheus name and its labels, in the order values are given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// The name as Prometheus shows it.
    pub name: &'static str,
    /// Envoy metric type.
    pub kind: Type,
    /// Label names.
    pub labels: &'static [&'static str],
}

const DEP: &[&str] = &["model_group", "deployment", "provider", "key"];

/// Requests that reached a deployment, by the status sent to the client.
pub const REQUESTS: Metric = Metric {
    name: "tollgate_requests_total",
    kind: Type::Counter,
    labels: &[
        "model_group",
        "deployment",
        "provider",
        "status_class",
        "key",
    ],
};
/// Prompt tokens (cached ones included), as the provider reported them.
pub const PROMPT_TOKENS: Metric = Metric {
    name: "tollgate_prompt_tokens_total",
    kind: Type::Counter,
    labels: DEP,
};
/// Completion tokens (reasoning included).
pub const COMPLETION_TOKENS: Metric = Metric {
    name: "tollgate_completion_tokens_total",
    kind: Type::Counter,
    labels: DEP,
};
/// Prompt tokens read from the provider's cache.
pub const CACHED_TOKENS: Metric = Metric {
    name: "tollgate_cached_tokens_total",
    kind: Type::Counter,
    labels: DEP,
};
/// Reasoning tokens within the completion.
pub const REASONING_TOKENS: Metric = Metric {
    name: "tollgate_reasoning_tokens_total",
    kind: Type::Counter,
    labels: DEP,
};
/// Cost in micro-USD (1 USD = 1,000,000), the spend records' `spend_micros`.
pub const COST: Metric = Metric {
    name: "tollgate_cost_micro_usd_total",
    kind: Type::Counter,
    labels: DEP,
};
/// Time from the request's admission to the end of the answer, ms.
pub const DURATION: Metric = Metric {
    name: "tollgate_request_duration_milliseconds",
    kind: Type::Histogram,
    labels: &["model_group", "deployment"],
};
/// Time from sending a streamed request upstream to its first body byte, ms.
pub const TTFT: Metric = Metric {
    name: "tollgate_time_to_first_token_milliseconds",
    kind: Type::Histogram,
    labels: &["model_group", "deployment"],
};
/// Failed upstream attempts by failure class.
pub const UPSTREAM_ERRORS: Metric = Metric {
    name: "tollgate_upstream_errors_total",
    kind: Type::Counter,
    labels: &["model_group", "deployment", "error_class"],
};
/// Retries of another (or Envoy's retry of the same) deployment of a group.
pub const RETRIES: Metric = Metric {
    name: "tollgate_retries_total",
    kind: Type::Counter,
    labels: &["model_group"],
};
/// Moves to a fallback model group.
pub const FALLBACKS: Metric = Metric {
    name: "tollgate_fallbacks_total",
    kind: Type::Counter,
    labels: &["model_group"],
};
/// Times a deployment's circuit breaker opened (it entered cooldown).
pub const COOLDOWNS: Metric = Metric {
    name: "tollgate_cooldowns_total",
    kind: Type::Counter,
    labels: &["model_group", "deployment"],
};
/// 1 while a deployment is cooling down (or its half-open probe is in flight).
pub const COOLING_DOWN: Metric = Metric {
    name: "tollgate_deployment_cooling_down",
    kind: Type::Gauge,
    labels: &["model_group", "deployment"],
};
/// Requests refused by a key's rate limits or budget.
pub const REJECTIONS: Metric = Metric {
    name: "tollgate_rejections_total",
    kind: Type::Counter,
    labels: &["key", "reason"],
};

/// Every metric, in the order docs/metrics.md lists them.
pub const ALL: [Metric; 14] = [
    REQUESTS,
    PROMPT_TOKENS,
    COMPLETION_TOKENS,
    CACHED_TOKENS,
    REASONING_TOKENS,
    COST,
    DURATION,
    TTFT,
    UPSTREAM_ERRORS,
    RETRIES,
    FALLBACKS,
    COOLDOWNS,
    COOLING_DOWN,
    REJECTIONS,
];

/// Longest label value kept (longer ones are cut).
pub const MAX_VALUE_LEN: usize = 64;

/// A label value safe inside a stat name: ASCII letters, digits, `_` and `-`
/// kept, everything else (`.`, `;`, `=`, `/`, spaces, non-ASCII) becomes `_`;
/// at most [`MAX_VALUE_LEN`] bytes; empty becomes `none`.
pub fn sanitize(value: &str) -> String {
    if value.is_empty() {
        return "none".into();
    }
    value
        .chars()
        .take(MAX_VALUE_LEN)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The Envoy stat name of one series of `metric`; `values` pair with its labels
/// (missing ones read `none`) and are sanitised here.
pub fn series(metric: &Metric, values: &[&str]) -> String {
    let mut out = String::with_capacity(metric.name.len() + 24 * metric.labels.len());
    for (i, label) in metric.labels.iter().enumerate() {
        out.push_str(label);
        out.push('=');
        out.push_str(&sanitize(values.get(i).copied().unwrap_or("")));
        out.push(';');
    }
    out.push_str(metric.name);
    out
}

/// `2xx`, `4xx`, `5xx`... for a status; `other` outside 100..=599.
pub fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        5 => "5xx",
        _ => "other",
    }
}

/// Every label name any metric uses, each once, in first-use order.
pub fn label_names() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for m in ALL {
        for l in m.labels {
            if !out.contains(l) {
                out.push(l);
            }
        }
    }
    out
}

/// The Envoy `stats_config.stats_tags` entries (tag name, regex) that turn the
/// `label=value;` parts of our stat names into tags. The first capture group is
/// cut from the name, the second is the value.
pub fn stats_tags() -> Vec<(&'static str, String)> {
    label_names()
        .into_iter()
        .map(|l| (l, format!("(?:^|[.;])({l}=([^;]*);)")))
        .collect()
}

#[cfg(test)]
mod tests;
