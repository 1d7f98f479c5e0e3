//! ISO-8601 timestamps for key API responses, without a date library.

/// Formats unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn iso8601(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's algorithm, which
/// counts in 400-year eras starting on March 1st so leap days fall at era ends.
pub(crate) fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        for (secs, want) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (951_868_799, "2000-02-29T23:59:59Z"),
            (1_709_251_199, "2024-02-29T23:59:59Z"),
            (1_735_689_600, "2025-01-01T00:00:00Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
        ] {
            assert_eq!(iso8601(secs), want, "{secs}");
        }
    }

    #[test]
    fn every_day_follows_the_previous() {
        let mut prev = civil_from_days(0);
        for day in 1..200_000 {
            let cur = civil_from_days(day);
            let next_month = cur.2 == 1 && (cur.1 == prev.1 + 1 || (cur.1 == 1 && prev.1 == 12));
            assert!(
                (cur.0 == prev.0 && cur.1 == prev.1 && cur.2 == prev.2 + 1) || next_month,
                "{prev:?} -> {cur:?}"
            );
            prev = cur;
        }
    }
}
