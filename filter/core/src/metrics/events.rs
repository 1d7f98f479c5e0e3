//! What moves when: each gateway event as the metric updates it makes.

use super::{series, status_class, Metric, Type};
use crate::spend::SpendRecord;

/// One change to one series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// Envoy stat name ([`series`]).
    pub name: String,
    /// Metric type (decides the host call).
    pub kind: Type,
    /// Counter: amount to add (0 only defines the series); gauge: the value;
    /// histogram: the sample.
    pub value: u64,
}

impl Update {
    /// An update of `metric`'s series for `values`.
    pub fn of(metric: &Metric, values: &[&str], value: u64) -> Update {
        Update {
            name: series(metric, values),
            kind: metric.kind,
            value,
        }
    }
}

/// A request that reached a deployment, at its end.
#[derive(Debug, Clone, Copy)]
pub struct Settled<'a> {
    /// Its spend record (labels, tokens, cost, status).
    pub record: &'a SpendRecord,
    /// The `key` label value (already capped).
    pub key: &'a str,
    /// Admission to end, ms.
    pub duration_ms: u64,
    /// Time to the first body byte of a stream, ms.
    pub ttft_ms: Option<u64>,
    /// Retries made.
    pub retries: u32,
    /// Fallback groups moved to.
    pub fallbacks: u32,
}

/// The updates for a settled request.
pub fn settled(s: &Settled<'_>) -> Vec<Update> {
    let r = s.record;
    let (group, dep) = (r.model_group.as_str(), r.model_id.as_str());
    let labels = [group, dep, r.provider.as_str(), s.key];
    let mut out = vec![Update::of(
        &super::REQUESTS,
        &[group, dep, &r.provider, status_class(r.status), s.key],
        1,
    )];
    for (metric, value) in [
        (&super::PROMPT_TOKENS, r.prompt_tokens),
        (&super::COMPLETION_TOKENS, r.completion_tokens),
        (&super::CACHED_TOKENS, r.cached_tokens),
        (&super::REASONING_TOKENS, r.reasoning_tokens),
        (&super::COST, r.spend_micros),
    ] {
        out.push(Update::of(metric, &labels, value));
    }
    out.push(Update::of(&super::DURATION, &[group, dep], s.duration_ms));
    if let Some(t) = s.ttft_ms {
        out.push(Update::of(&super::TTFT, &[group, dep], t));
    }
    out.push(Update::of(&super::RETRIES, &[group], u64::from(s.retries)));
    out.push(Update::of(
        &super::FALLBACKS,
        &[group],
        u64::from(s.fallbacks),
    ));
    out
}

/// The values of [`settled`]'s updates, in the same order, without naming the
/// series: the filter names them once per label set and caches their ids.
pub fn settled_values(s: &Settled<'_>) -> Vec<u64> {
    let r = s.record;
    let mut out = vec![
        1,
        r.prompt_tokens,
        r.completion_tokens,
        r.cached_tokens,
        r.reasoning_tokens,
        r.spend_micros,
        s.duration_ms,
    ];
    out.extend(s.ttft_ms);
    out.extend([u64::from(s.retries), u64::from(s.fallbacks)]);
    out
}

/// What identifies [`settled`]'s series: equal for two requests exactly when
/// their updates name the same series.
pub fn settled_labels(s: &Settled<'_>) -> String {
    let r = s.record;
    [
        r.model_group.as_str(),
        &r.model_id,
        &r.provider,
        super::status_class(r.status),
        s.key,
        if s.ttft_ms.is_some() { "ttft" } else { "" },
    ]
    .join("\u{0}")
}

/// The `reason` label of a limit or budget refusal, from the error's marker
/// ([`crate::ApiError::limit`]).
pub fn rejection(key: &str, reason: &str) -> Update {
    Update::of(&super::REJECTIONS, &[key, reason], 1)
}
