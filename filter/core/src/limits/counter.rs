//! Compare-and-swap primitives over the flat store: one-minute window counters and
//! the parallel-request gauge. Every change is a versioned read-modify-write, retried
//! on conflict, so concurrent workers never lose an increment.

use crate::error::ApiError;
use crate::keys::{KeyStore, StoreError};

/// Read-modify-write attempts before a contended counter gives up.
pub const MAX_ATTEMPTS: usize = 64;

/// Envoy treats a missing version as "write unconditionally" and accepts any version
/// for an absent key, so the first write of a counter names a version no write is
/// ever given: two workers creating the same counter cannot both win.
const ABSENT: u32 = u32::MAX;

/// Why a read-modify-write did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Busy {
    /// Every attempt lost a race.
    Contended,
    /// The store refused the write.
    Unavailable(String),
}

impl Busy {
    /// The 503 answered when admission cannot read-modify-write its counters.
    pub fn into_error(self) -> ApiError {
        match self {
            Busy::Contended => ApiError::internal(
                503,
                "The rate limit store is busy with concurrent requests; retry the request.",
            ),
            Busy::Unavailable(m) => {
                ApiError::internal(503, format!("The rate limit store refused the write: {m}"))
            }
        }
    }
}

/// What one read-modify-write step decided: bytes to write (None leaves the value
/// alone) and the step's result.
pub type Decision<R> = (Option<Vec<u8>>, R);

/// Versioned read-modify-write of `key`. `change` sees the current bytes (None when
/// absent) and returns the bytes to write (None to leave the value alone) and a
/// result; it runs again on every retry, so it must start over from what it is given.
pub fn rmw<R>(
    store: &dyn KeyStore,
    key: &str,
    change: &mut dyn FnMut(Option<&[u8]>) -> Decision<R>,
) -> Result<R, Busy> {
    for _ in 0..MAX_ATTEMPTS {
        let (current, version) = match store.get(key) {
            Some((bytes, version)) => (Some(bytes), version),
            None => (None, ABSENT),
        };
        let (write, out) = change(current.as_deref());
        let Some(bytes) = write else {
            return Ok(out);
        };
        match store.set(key, &bytes, Some(version)) {
            Ok(()) => return Ok(out),
            Err(StoreError::Conflict) => continue,
            Err(StoreError::Unavailable(m)) => return Err(Busy::Unavailable(m)),
        }
    }
    Err(Busy::Contended)
}

/// A one-minute window: the unix minute it counts and its count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Unix minute counted (0: never used).
    pub minute: u64,
    /// Count in that minute.
    pub count: u64,
}

impl Window {
    /// The count at `minute`. A stored window ahead of `minute` (a caller whose
    /// clock read is older) stays authoritative so no count is dropped.
    pub fn used(&self, minute: u64) -> u64 {
        if self.minute >= minute {
            self.count
        } else {
            0
        }
    }

    /// Adds `amount` in the window `minute` falls in (restarting a passed one);
    /// returns the window's minute.
    pub(super) fn add(&mut self, minute: u64, amount: u64) -> u64 {
        if self.minute < minute {
            *self = Window { minute, count: 0 };
        }
        self.count = self.count.saturating_add(amount);
        self.minute
    }

    /// Adds `delta` only while `minute` is still the stored window; never below zero.
    pub(super) fn adjust(&mut self, minute: u64, delta: i64) -> bool {
        if self.minute != minute || delta == 0 {
            return false;
        }
        self.count = if delta < 0 {
            self.count.saturating_sub(delta.unsigned_abs())
        } else {
            self.count.saturating_add(delta.unsigned_abs())
        };
        true
    }

    /// `minute:count`, as stored.
    pub(super) fn encode(&self) -> String {
        format!("{}:{}", self.minute, self.count)
    }

    pub(super) fn parse(text: &str) -> Option<Window> {
        let (minute, count) = text.split_once(':')?;
        Some(Window {
            minute: minute.parse().ok()?,
            count: count.parse().ok()?,
        })
    }
}

/// A window counter's stored value (None when absent or unreadable).
fn parse_window(bytes: Option<&[u8]>) -> Option<Window> {
    Window::parse(std::str::from_utf8(bytes?).ok()?)
}

/// Outcome of adding to a window counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Counted: the window it went into and the count after it.
    Yes {
        /// Unix minute of the window.
        minute: u64,
        /// Count including this addition.
        used: u64,
    },
    /// Refused by the limit; nothing was written.
    Refused {
        /// Count before this addition.
        used: u64,
    },
}

/// Adds `amount` to the counter's window for `minute`, refusing when the counter is
/// already at `limit` or `amount` would take it past `limit`.
pub fn window_add(
    store: &dyn KeyStore,
    key: &str,
    minute: u64,
    amount: u64,
    limit: Option<u64>,
) -> Result<Added, Busy> {
    rmw(store, key, &mut |bytes| {
        let mut w = parse_window(bytes).unwrap_or_default();
        let used = w.used(minute);
        let after = used.saturating_add(amount);
        if limit.is_some_and(|l| used >= l || after > l) {
            return (None, Added::Refused { used });
        }
        let window = w.add(minute, amount);
        let out = Added::Yes {
            minute: window,
            used: after,
        };
        // A zero addition to a stale window changes nothing a reader would see.
        let write = (amount > 0).then(|| w.encode().into_bytes());
        (write, out)
    })
}

/// Adds `delta` (possibly negative) to the count of window `minute`, only while that
/// window is still the stored one; counts never go below zero.
pub fn window_adjust(store: &dyn KeyStore, key: &str, minute: u64, delta: i64) -> Result<(), Busy> {
    if delta == 0 {
        return Ok(());
    }
    rmw(store, key, &mut |bytes| {
        let Some(mut w) = parse_window(bytes) else {
            return (None, ());
        };
        let write = w.adjust(minute, delta).then(|| w.encode().into_bytes());
        (write, ())
    })
}

/// The counter's count in the window for `minute` (0 once the window has passed).
pub fn window_used(store: &dyn KeyStore, key: &str, minute: u64) -> u64 {
    let stored = store.get(key);
    parse_window(stored.as_ref().map(|(b, _)| b.as_slice()))
        .unwrap_or_default()
        .used(minute)
}

fn parse_gauge(bytes: Option<&[u8]>) -> u64 {
    bytes
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

/// Takes one slot of a gauge capped at `max`: Ok(count after) or Err(count now) when full.
pub fn slot_take(store: &dyn KeyStore, key: &str, max: u64) -> Result<Result<u64, u64>, Busy> {
    rmw(store, key, &mut |bytes| {
        let held = parse_gauge(bytes);
        if held >= max {
            return (None, Err(held));
        }
        let after = held.saturating_add(1);
        (Some(after.to_string().into_bytes()), Ok(after))
    })
}

/// Releases one slot of a gauge; never below zero.
pub fn slot_release(store: &dyn KeyStore, key: &str) -> Result<(), Busy> {
    rmw(store, key, &mut |bytes| {
        let held = parse_gauge(bytes);
        if held == 0 {
            return (None, ());
        }
        (Some((held - 1).to_string().into_bytes()), ())
    })
}

/// Slots of a gauge currently held.
pub fn slot_held(store: &dyn KeyStore, key: &str) -> u64 {
    parse_gauge(store.get(key).as_ref().map(|(b, _)| b.as_slice()))
}
