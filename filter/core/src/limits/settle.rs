//! Settlement at the end of a request: the parallel slot goes back, tpm windows learn
//! the real token count, the budget reservation becomes real spend.

use super::budget;
use super::counter::{window_adjust, Busy};
use super::keystate::{self, signed, Settlement};
use super::Admission;
use crate::keys::KeyStore;

/// Releases the parallel slot, corrects tpm windows with the real token count (actual - estimate, in the window the request was admitted in, if still current), moves the budget reservation to real spend. Idempotence is the caller's job (call once). Returns the key's spend in its current period in micros after settlement (0 for no key).
pub fn settle(
    store: &dyn KeyStore,
    adm: &Admission,
    actual_tokens: Option<u64>,
    cost_micros: u64,
    now: u64,
) -> u64 {
    // A window that has passed is restarted by its next user, so correcting it is moot.
    let delta = match (actual_tokens, now / 60 == adm.minute) {
        (Some(actual), true) => Some(signed(actual).saturating_sub(signed(adm.est_tokens))),
        _ => None,
    };
    if let Some(delta) = delta {
        for counter in &adm.tpm_counters {
            warn(window_adjust(store, counter, adm.minute, delta));
        }
    }
    let Some(t) = adm.key_token.as_deref() else {
        return 0;
    };
    let what = Settlement {
        slot: adm.parallel_slot,
        tpm: delta.filter(|_| adm.key_tpm).map(|d| (adm.minute, d)),
        reserved: adm.reserved_micros,
        cost: cost_micros,
    };
    match keystate::settle(store, t, &what, now) {
        Ok(spent) => spent,
        Err(e) => {
            log::warn!("settlement of a request failed, its key's spend or limits are off: {e:?}");
            budget::read_state(store, t).spent
        }
    }
}

fn warn(done: Result<(), Busy>) {
    if let Err(e) = done {
        log::warn!("rate limit settlement failed, a counter is off: {e:?}");
    }
}
