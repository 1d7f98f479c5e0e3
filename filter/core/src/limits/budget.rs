//! Per-key spend and budget reservations, kept in the key's limits record
//! ([`super::keystate`]).
//!
//! The state holds the current period (start, next reset, the duration it was cut
//! with), the real spend in it, the worst-case cost reserved by requests in flight,
//! and lifetime spend. Reservations belong to in-flight requests, not to a period:
//! a period rollover resets the spend but keeps them, because those requests will be
//! charged to the period they finish in.

use super::keystate;
use super::period::period;
use super::KeySpend;
use crate::error::ApiError;
use crate::keys::{KeyRecord, KeyStore};

/// The stored budget state of one key. Period 0/0 means the spend never resets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BudgetState {
    /// Start of the current period (unix secs), 0 when the spend never resets.
    pub period_start: u64,
    /// When the current period ends, 0 when never.
    pub period_end: u64,
    /// Real spend in the current period, micro-USD.
    pub spent: u64,
    /// Worst-case cost reserved by requests in flight, micro-USD.
    pub reserved: u64,
    /// Lifetime spend, micro-USD.
    pub total: u64,
    /// The budget_duration the period was cut with.
    pub duration: Option<String>,
}

impl BudgetState {
    /// Parses `start:end:spent:reserved:total:duration`; a corrupt value starts over.
    pub(super) fn decode(text: &str) -> BudgetState {
        let mut parts = text.splitn(6, ':');
        let mut num = || parts.next().and_then(|p| p.parse::<u64>().ok());
        let (Some(period_start), Some(period_end), Some(spent), Some(reserved), Some(total)) =
            (num(), num(), num(), num(), num())
        else {
            return BudgetState::default();
        };
        let duration = parts.next().filter(|d| !d.is_empty()).map(str::to_string);
        BudgetState {
            period_start,
            period_end,
            spent,
            reserved,
            total,
            duration,
        }
    }

    pub(super) fn encode(&self) -> String {
        format!(
            "{}:{}:{}:{}:{}:{}",
            self.period_start,
            self.period_end,
            self.spent,
            self.reserved,
            self.total,
            self.duration.as_deref().unwrap_or("")
        )
    }

    /// Moves to the period `duration` puts `now` in (an unparsable duration counts
    /// as none). Spend resets whenever the period start changes, including when the
    /// duration itself changed; returns whether anything changed.
    fn sync(&mut self, duration: Option<&str>, now: u64) -> bool {
        let cut = duration.and_then(|d| Some((d, period(d, now)?)));
        let (duration, (start, end)) = match cut {
            Some((d, p)) => (Some(d), p),
            None => (None, (0, 0)),
        };
        if self.period_start == start
            && self.period_end == end
            && self.duration.as_deref() == duration
        {
            return false;
        }
        if self.period_start != start {
            self.spent = 0;
        }
        self.period_start = start;
        self.period_end = end;
        self.duration = duration.map(str::to_string);
        true
    }

    /// Spend committed in the period: real spend plus reservations in flight.
    fn committed(&self) -> u64 {
        self.spent.saturating_add(self.reserved)
    }
}

/// The key's budget state as stored, without moving it to the current period.
pub fn read_state(store: &dyn KeyStore, token: &str) -> BudgetState {
    keystate::read(store, token).budget
}

/// USD as integer micro-USD; negative and non-finite amounts are 0.
pub fn micros(usd: f64) -> u64 {
    if usd.is_finite() && usd > 0.0 {
        // `as` saturates at u64::MAX for amounts too large to represent.
        (usd * 1_000_000.0).round() as u64
    } else {
        0
    }
}

/// Micro-USD as a decimal USD amount with up to six decimals ("0.0015", "2.0").
pub fn usd(micros: u64) -> String {
    let frac = format!("{:06}", micros % 1_000_000);
    let frac = frac.trim_end_matches('0');
    format!(
        "{}.{}",
        micros / 1_000_000,
        if frac.is_empty() { "0" } else { frac }
    )
}

/// What a budget reservation took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reserved {
    /// Micro-USD reserved.
    pub micros: u64,
    /// Period the reservation was made in.
    pub period_start: u64,
    /// Committed spend reached the key's soft_budget.
    pub soft_exceeded: bool,
}

/// Reserves `worst` micro-USD against the key's max_budget in the current period
/// of `state`: Ok(what was taken, whether the state changed), or the refusal (400
/// budget_exceeded) when nothing is left or `worst` does not fit.
pub(super) fn reserve(
    state: &mut BudgetState,
    key: &KeyRecord,
    worst: u64,
    now: u64,
) -> Result<(Reserved, bool), ApiError> {
    let changed = state.sync(key.budget_duration.as_deref(), now);
    let mut taken = 0;
    if let Some(max) = key.max_budget.map(micros) {
        let committed = state.committed();
        if committed >= max || committed.saturating_add(worst) > max {
            return Err(exceeded(committed, worst, max));
        }
        taken = worst;
        state.reserved = state.reserved.saturating_add(worst);
    }
    let reserved = Reserved {
        micros: taken,
        period_start: state.period_start,
        soft_exceeded: key
            .soft_budget
            .map(micros)
            .is_some_and(|s| state.committed() >= s),
    };
    Ok((reserved, changed || taken > 0))
}

/// Returns a reservation without charging anything (a later check refused the request).
pub(super) fn release(state: &mut BudgetState, micros: u64) -> bool {
    state.reserved = state.reserved.saturating_sub(micros);
    micros > 0
}

/// Releases a reservation and charges the real cost to the current period (the one
/// the stored duration puts `now` in); returns whether the state changed.
pub(super) fn charge(state: &mut BudgetState, reserved: u64, cost: u64, now: u64) -> bool {
    let duration = state.duration.clone();
    let changed = state.sync(duration.as_deref(), now);
    state.reserved = state.reserved.saturating_sub(reserved);
    state.spent = state.spent.saturating_add(cost);
    state.total = state.total.saturating_add(cost);
    changed || reserved > 0 || cost > 0
}

/// The key's spend so far: (spend in the current budget period in micros, next reset
/// time unix secs if budget_duration is set), plus lifetime spend.
pub fn key_spend(store: &dyn KeyStore, key: &KeyRecord, now: u64) -> KeySpend {
    let mut state = read_state(store, &key.token);
    state.sync(key.budget_duration.as_deref(), now);
    KeySpend {
        period_micros: state.spent,
        total_micros: state.total,
        reset_at: (state.period_end > 0).then_some(state.period_end),
        reserved_micros: state.reserved,
    }
}

/// LiteLLM's budget error: 400, type `budget_exceeded`.
fn exceeded(committed: u64, worst: u64, max: u64) -> ApiError {
    let mut message = format!(
        "Budget has been exceeded! Current cost: {}, Max budget: {}",
        usd(committed),
        usd(max)
    );
    if committed < max {
        // Otherwise the numbers alone would not explain the refusal.
        message.push_str(&format!(
            " (this request may cost up to {}, more than the {} left)",
            usd(worst),
            usd(max - committed)
        ));
    }
    ApiError::bad_request(message)
        .with_kind("budget_exceeded")
        .with_code("400")
        .with_limit("budget")
}
