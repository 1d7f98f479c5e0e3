//! Calendar days (UTC) for report filters, without a date library.

/// Milliseconds per day.
pub const DAY_MS: u64 = 86_400_000;

/// Parses a strict `YYYY-MM-DD` (1970 or later, a real calendar date) to days since 1970-01-01.
pub fn parse_day(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u64> {
        let part = s.get(range)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if y < 1970 || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Formats days since 1970-01-01 as `YYYY-MM-DD`.
pub fn format_day(day: u64) -> String {
    let iso = crate::keys::time::iso8601(day.saturating_mul(86_400));
    iso.get(..10).unwrap_or(&iso).to_string()
}

/// The UTC day of a unix-milliseconds instant.
pub fn day_of_ms(ms: u64) -> u64 {
    ms / DAY_MS
}

fn days_in_month(y: u64, m: u64) -> u64 {
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's days_from_civil, for years from 1970 (so no negative eras).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        for (s, day) in [
            ("1970-01-01", 0),
            ("2000-02-29", 11_016),
            ("2024-02-29", 19_782),
            ("2025-01-01", 20_089),
        ] {
            assert_eq!(parse_day(s), Some(day), "{s}");
            assert_eq!(format_day(day), s);
        }
        for bad in [
            "",
            "2025-1-01",
            "2025-13-01",
            "2025-02-29",
            "2100-02-29",
            "2025-04-31",
            "2025-00-10",
            "2025-01-00",
            "1969-12-31",
            "2025/01/01",
            "+025-01-01",
            "2025-01-0a",
            "２０２５-01-01",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trips_every_day_for_centuries() {
        for day in 0..80_000 {
            assert_eq!(parse_day(&format_day(day)), Some(day));
        }
        assert_eq!(day_of_ms(DAY_MS - 1), 0);
        assert_eq!(day_of_ms(DAY_MS), 1);
    }
}
