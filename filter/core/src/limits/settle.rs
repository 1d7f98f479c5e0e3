//! Settlement at the end of a request: the parallel slot goes back, tpm windows learn
//! the real token count, the budget reservation becomes real spend.

use super::budget;
use super::counter::{slot_release, window_adjust, Busy};
use super::{parallel_key, Admission};
use crate::keys::KeyStore;

/// Releases the parallel slot, corrects tpm windows with the real token count (actual - estimate, in the window the request was admitted in, if still current), moves the budget reservation to real spend. Idempotence is the caller's job (call once). Returns the key's spend in its current period in micros after settlement (0 for no key).
pub fn settle(
    store: &dyn KeyStore,
    adm: &Admission,
    actual_tokens: Option<u64>,
    cost_micros: u64,
    now: u64,
) -> u64 {
    let token = adm.key_token.as_deref();
    if let (true, Some(t)) = (adm.parallel_slot, token) {
        warn(slot_release(store, &parallel_key(t)));
    }
    // A window that has passed is restarted by its next user, so correcting it is moot.
    if let (Some(actual), true) = (actual_tokens, now / 60 == adm.minute) {
        let delta = signed(actual).saturating_sub(signed(adm.est_tokens));
        for counter in &adm.tpm_counters {
            warn(window_adjust(store, counter, adm.minute, delta));
        }
    }
    let Some(t) = token else {
        return 0;
    };
    match budget::charge(store, t, adm.reserved_micros, cost_micros, now) {
        Ok(spent) => spent,
        Err(e) => {
            log::warn!("spend of a request was not recorded: {e:?}");
            budget::read_state(store, t).spent
        }
    }
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn warn(done: Result<(), Busy>) {
    if let Err(e) = done {
        log::warn!("rate limit settlement failed, a counter is off: {e:?}");
    }
}
