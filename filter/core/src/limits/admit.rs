//! Admission: checks and reserves every limit of one request in a fixed order, and
//! gives back what it took when a later check refuses.

use super::counter::{window_add, window_adjust, window_used, Added, Busy};
use super::keystate::{self, Refused, Taken};
use super::reject::{rate_headers, rate_limited, tightest, Limit, Usage};
use super::{deployment_counter, model_counter};
use super::{Admission, LimitRequest};
use crate::config::Deployment;
use crate::error::ApiError;
use crate::keys::{KeyRecord, KeyStore};

/// Something admission took and must give back if the request is refused.
enum Undo {
    /// What the key's own record gave.
    Key(Taken),
    /// Counter, window minute, amount.
    Window(String, u64, u64),
}

/// Why admission stopped.
enum Stop<'a> {
    Limit(Limit<'a>),
    Error(ApiError),
}

impl From<Busy> for Stop<'_> {
    fn from(b: Busy) -> Self {
        Stop::Error(b.into_error())
    }
}

/// Checks and reserves everything for one request, atomically per counter, rolling back what it took if a later check fails.
///
/// Order: key budget, max_parallel_requests, rpm, tpm (these four in one write of the
/// key's record, all or none), model rpm, model tpm, then the
/// deployment's rpm/tpm are counted (never refused here: routing skips full
/// deployments with [`deployment_full`]; tpm is also counted without a limit when
/// `count_deployment_tokens` asks for it).
pub fn admit(store: &dyn KeyStore, req: &LimitRequest) -> Result<Admission, ApiError> {
    let mut adm = Admission {
        key_token: req.key.map(|k| k.token.clone()),
        group: req.group.to_string(),
        deployment_id: req.deployment.id.clone(),
        minute: req.now / 60,
        est_tokens: req.est_tokens,
        ..Admission::default()
    };
    let mut undo = Vec::new();
    let stop = match admit_all(store, req, &mut adm, &mut undo) {
        Ok(()) => return Ok(adm),
        Err(stop) => stop,
    };
    rollback(store, adm.key_token.as_deref(), undo);
    Err(match (stop, req.key) {
        (Stop::Limit(limit), Some(key)) => {
            let headers = snapshot(store, key, req.group, req.now);
            rate_limited(key, &limit, headers, req.now)
        }
        (Stop::Limit(_), None) => ApiError::internal(500, "a key limit applied without a key"),
        (Stop::Error(e), _) => e,
    })
}

fn admit_all<'r>(
    store: &dyn KeyStore,
    req: &LimitRequest<'r>,
    adm: &mut Admission,
    undo: &mut Vec<Undo>,
) -> Result<(), Stop<'r>> {
    if let Some(key) = req.key {
        admit_key(store, key, req, adm, undo)?;
    }
    let dep = req.deployment;
    // Counted without a limit, so never refused: routing enforces deployment limits.
    if dep.rpm.is_some() {
        let _ = count(
            store,
            deployment_counter(&dep.id, "rpm"),
            adm.minute,
            1,
            None,
            undo,
        )?;
    }
    if dep.tpm.is_some() || req.count_deployment_tokens {
        let est = req.est_tokens;
        let counter = deployment_counter(&dep.id, "tpm");
        let _ = count(store, counter.clone(), adm.minute, est, None, undo)?;
        adm.tpm_counters.push(counter);
    }
    Ok(())
}

fn admit_key<'r>(
    store: &dyn KeyStore,
    key: &'r KeyRecord,
    req: &LimitRequest<'r>,
    adm: &mut Admission,
    undo: &mut Vec<Undo>,
) -> Result<(), Stop<'r>> {
    let token = &key.token;
    let (minute, est) = (adm.minute, req.est_tokens);
    let mut requests = None;
    let mut tokens = None;
    if keystate::limited(key) {
        let taken = match keystate::admit(store, key, req.worst_cost_micros, est, req.now)? {
            Ok(t) => t,
            Err(Refused::Budget(e)) => return Err(Stop::Error(e)),
            Err(Refused::Parallel(max)) => return Err(Stop::Limit(Limit::Parallel(max))),
            Err(Refused::Rpm(limit)) => return Err(Stop::Limit(Limit::Rpm(limit))),
            Err(Refused::Tpm(limit, used, est)) => {
                return Err(Stop::Limit(Limit::Tpm(limit, used, est)))
            }
        };
        adm.reserved_micros = taken.reserved.micros;
        adm.period_start = taken.reserved.period_start;
        adm.soft_budget_exceeded = taken.reserved.soft_exceeded;
        adm.parallel_slot = taken.slot;
        adm.key_tpm = taken.tpm.is_some();
        requests = taken.rpm.map(|(_, u)| u);
        tokens = taken.tpm.map(|(_, _, u)| u);
        undo.push(Undo::Key(taken));
    }
    let group = req.group;
    if let Some(&limit) = key.model_rpm_limit.get(group) {
        let counter = model_counter(token, group, "rpm");
        let used = count(store, counter, minute, 1, Some(limit), undo)?
            .map_err(|_| Stop::Limit(Limit::ModelRpm(group, limit)))?;
        requests = tightest(requests, Some(Usage { limit, used }));
    }
    if let Some(&limit) = key.model_tpm_limit.get(group) {
        let counter = model_counter(token, group, "tpm");
        let used = count(store, counter.clone(), minute, est, Some(limit), undo)?
            .map_err(|used| Stop::Limit(Limit::ModelTpm(group, limit, used, est)))?;
        adm.tpm_counters.push(counter);
        tokens = tightest(tokens, Some(Usage { limit, used }));
    }
    adm.headers = rate_headers(requests, tokens, req.now);
    Ok(())
}

/// Adds `amount` to a window counter: Ok(Ok(count after)), or Ok(Err(count before))
/// when `limit` refuses it. What was added is remembered for rollback.
fn count(
    store: &dyn KeyStore,
    counter: String,
    minute: u64,
    amount: u64,
    limit: Option<u64>,
    undo: &mut Vec<Undo>,
) -> Result<Result<u64, u64>, Busy> {
    Ok(match window_add(store, &counter, minute, amount, limit)? {
        Added::Yes { minute, used } => {
            if amount > 0 {
                undo.push(Undo::Window(counter, minute, amount));
            }
            Ok(used)
        }
        Added::Refused { used } => Err(used),
    })
}

/// Gives back what a refused admission took, newest first.
fn rollback(store: &dyn KeyStore, token: Option<&str>, undo: Vec<Undo>) {
    for step in undo.into_iter().rev() {
        let done = match (&step, token) {
            (Undo::Key(taken), Some(t)) => keystate::rollback(store, t, taken),
            (Undo::Window(counter, minute, amount), _) => {
                let delta = i64::try_from(*amount).unwrap_or(i64::MAX);
                window_adjust(store, counter, *minute, -delta)
            }
            (_, None) => Ok(()),
        };
        if let Err(e) = done {
            log::warn!("rate limit rollback failed, a counter stays high: {e:?}");
        }
    }
}

/// The key's rate limit headers as the counters stand (for a refused request).
fn snapshot(
    store: &dyn KeyStore,
    key: &KeyRecord,
    group: &str,
    now: u64,
) -> Vec<(&'static str, String)> {
    let minute = now / 60;
    let read = |counter: String, limit: Option<u64>| {
        limit.map(|limit| Usage {
            limit,
            used: window_used(store, &counter, minute),
        })
    };
    let t = &key.token;
    let own = keystate::read(store, t);
    let requests = tightest(
        key.rpm_limit.map(|limit| Usage {
            limit,
            used: own.rpm.used(minute),
        }),
        read(
            model_counter(t, group, "rpm"),
            key.model_rpm_limit.get(group).copied(),
        ),
    );
    let tokens = tightest(
        key.tpm_limit.map(|limit| Usage {
            limit,
            used: own.tpm.used(minute),
        }),
        read(
            model_counter(t, group, "tpm"),
            key.model_tpm_limit.get(group).copied(),
        ),
    );
    rate_headers(requests, tokens, now)
}

/// True when the deployment is at its own rpm or tpm this minute (routing skips it instead of failing).
pub fn deployment_full(store: &dyn KeyStore, dep: &Deployment, now: u64) -> bool {
    let minute = now / 60;
    let at = |what: &str, limit: Option<u64>| {
        limit.is_some_and(|l| window_used(store, &deployment_counter(&dep.id, what), minute) >= l)
    };
    at("rpm", dep.rpm) || at("tpm", dep.tpm)
}
