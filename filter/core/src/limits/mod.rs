//! Admission control for virtual keys and deployments, exact under concurrency.
//!
//! Every counter lives under a fixed store key (shared data never expires entries):
//! one-minute windows store `minute:count` and restart when their minute has passed.
//! A key's own parallel gauge, rpm and tpm windows and budget state share one record
//! ([`keystate`]), so a request reads and writes it once to be admitted and once to
//! be settled; per-model and per-deployment windows have their own. All changes are versioned read-modify-writes retried on conflict, so no
//! worker loses another's increment. See docs/limits.md for the rules.

mod admit;
pub mod budget;
pub mod counter;
pub mod keystate;
mod period;
pub mod reject;
mod settle;

pub use admit::{admit, deployment_full};
pub use budget::key_spend;
pub use period::period;
pub use settle::settle;

use crate::config::Deployment;
use crate::keys::KeyRecord;

/// What admission took; settle() returns or charges it. Cloneable plain data (the shim keeps it until the request ends).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Admission {
    /// The key's token; None for master/anonymous callers, where only deployment counters apply.
    pub key_token: Option<String>,
    /// Model group (for model_rpm/tpm limits).
    pub group: String,
    /// Deployment the request was counted against.
    pub deployment_id: String,
    /// Unix minute the request was counted in.
    pub minute: u64,
    /// Tokens reserved against tpm windows.
    pub est_tokens: u64,
    /// Budget reservation, micro-USD.
    pub reserved_micros: u64,
    /// Budget period the request was admitted in (0 when the key's spend never resets or it has no budget).
    pub period_start: u64,
    /// A max_parallel_requests slot is held.
    pub parallel_slot: bool,
    /// The key's own tpm window counted the estimate (settlement corrects it).
    pub key_tpm: bool,
    /// The tpm window counters this request was counted in (settlement corrects
    /// exactly these, and reads no counter it never touched).
    pub tpm_counters: Vec<String>,
    /// x-ratelimit-* headers for the response.
    pub headers: Vec<(&'static str, String)>,
    /// The key's committed spend reached its soft_budget.
    pub soft_budget_exceeded: bool,
}

/// One request as admission sees it.
pub struct LimitRequest<'a> {
    /// The caller's key; None for master/anonymous callers.
    pub key: Option<&'a KeyRecord>,
    /// Model group requested.
    pub group: &'a str,
    /// Deployment routing chose.
    pub deployment: &'a Deployment,
    /// Prompt estimate + expected output, counted against tpm at admission.
    pub est_tokens: u64,
    /// Worst-case cost reserved against the budget, micro-USD.
    pub worst_cost_micros: u64,
    /// Unix seconds.
    pub now: u64,
    /// Count the deployment's tpm window even without a tpm limit (usage-based
    /// routing reads it).
    pub count_deployment_tokens: bool,
}

/// A key's spend, micro-USD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeySpend {
    /// Real spend in the current budget period.
    pub period_micros: u64,
    /// Lifetime spend.
    pub total_micros: u64,
    /// When the period resets (unix secs), if budget_duration is set.
    pub reset_at: Option<u64>,
    /// Worst-case cost reserved by requests in flight.
    pub reserved_micros: u64,
}

/// Store key of a key's per-model-group rpm or tpm window.
pub fn model_counter(token: &str, group: &str, what: &str) -> String {
    format!("tollgate/rl/key/{token}/model/{group}/{what}")
}

/// Store key of a deployment's rpm or tpm window.
pub fn deployment_counter(id: &str, what: &str) -> String {
    format!("tollgate/rl/dep/{id}/{what}")
}

#[cfg(test)]
mod tests;
