//! Calendar-aligned budget periods for LiteLLM durations.

use crate::keys::time::civil_from_days;

const DAY: u64 = 86_400;
/// 1969-12-29, the Monday before the epoch, is this many days before it.
const MONDAY_BEFORE_EPOCH: u64 = 3;
const EPOCH_YEAR: u64 = 1970;

/// Calendar-aligned budget period start for a LiteLLM duration (s, m, h, d, w, mo, y):
/// 1d resets at midnight UTC, 1w on Monday 00:00 UTC, 1mo on the 1st 00:00 UTC, 1y on
/// Jan 1; Nd/Nh etc. align to multiples of N units since the epoch (weeks since the
/// Monday before it, months since January 1970). Returns (start, next_reset).
pub fn period(duration: &str, now: u64) -> Option<(u64, u64)> {
    let d = duration.trim();
    let split = d.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = d.split_at(split);
    let n: u64 = num.parse().ok().filter(|n| *n > 0)?;
    match unit {
        "s" => aligned(now, n, 0),
        "m" => aligned(now, n.checked_mul(60)?, 0),
        "h" => aligned(now, n.checked_mul(3_600)?, 0),
        "d" => aligned(now, n.checked_mul(DAY)?, 0),
        "w" => aligned(now, n.checked_mul(7 * DAY)?, MONDAY_BEFORE_EPOCH * DAY),
        "mo" => months(now, n),
        "y" => years(now, n),
        _ => None,
    }
}

/// Multiples of `len` seconds counted from `offset` seconds before the epoch.
fn aligned(now: u64, len: u64, offset: u64) -> Option<(u64, u64)> {
    let shifted = now.checked_add(offset)?;
    let start = shifted - shifted % len;
    let next = start.checked_add(len)?.checked_sub(offset)?;
    Some((start.saturating_sub(offset), next))
}

/// Multiples of `n` calendar months since January 1970.
fn months(now: u64, n: u64) -> Option<(u64, u64)> {
    let (y, m, _) = civil_from_days(now / DAY);
    let index = (y - EPOCH_YEAR) * 12 + (m - 1);
    let start = index - index % n;
    let month_start = |i: u64| days_from_civil(EPOCH_YEAR.checked_add(i / 12)?, i % 12 + 1, 1);
    Some((
        month_start(start)?.checked_mul(DAY)?,
        month_start(start.checked_add(n)?)?.checked_mul(DAY)?,
    ))
}

/// Multiples of `n` years since 1970.
fn years(now: u64, n: u64) -> Option<(u64, u64)> {
    let (y, _, _) = civil_from_days(now / DAY);
    let index = y - EPOCH_YEAR;
    let start = EPOCH_YEAR + (index - index % n);
    Some((
        days_from_civil(start, 1, 1)?.checked_mul(DAY)?,
        days_from_civil(start.checked_add(n)?, 1, 1)?.checked_mul(DAY)?,
    ))
}

/// Days since 1970-01-01 of a date in or after 1970 (Howard Hinnant's algorithm: years
/// start on March 1st so the leap day ends each year, in 400-year eras).
fn days_from_civil(y: u64, m: u64, d: u64) -> Option<u64> {
    let y = if m <= 2 { y.checked_sub(1)? } else { y };
    let era = y / 400;
    let yoe = y % 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era.checked_mul(146_097)?
        .checked_add(doe)?
        .checked_sub(719_468)
}
