//! Budget periods: calendar alignment and multiples of the unit since the epoch.

use crate::keys::time::iso8601;
use crate::limits::period;

/// Unix seconds of a `YYYY-MM-DDTHH:MM:SSZ` instant, by search over whole days
/// (independent of the code under test).
fn at(iso: &str) -> u64 {
    let (date, time) = iso.trim_end_matches('Z').split_once('T').unwrap();
    let day = (0..200_000u64)
        .find(|d| iso8601(d * 86_400).starts_with(date))
        .unwrap();
    let hms: Vec<u64> = time.split(':').map(|p| p.parse().unwrap()).collect();
    day * 86_400 + hms[0] * 3_600 + hms[1] * 60 + hms[2]
}

#[test]
fn calendar_alignment() {
    // (duration, now, start, next reset)
    let cases = [
        (
            "1d",
            "2025-01-01T12:00:00Z",
            "2025-01-01T00:00:00Z",
            "2025-01-02T00:00:00Z",
        ),
        (
            "1d",
            "2025-01-01T00:00:00Z",
            "2025-01-01T00:00:00Z",
            "2025-01-02T00:00:00Z",
        ),
        (
            "1d",
            "2024-12-31T23:59:59Z",
            "2024-12-31T00:00:00Z",
            "2025-01-01T00:00:00Z",
        ),
        // 2025-01-01 is a Wednesday.
        (
            "1w",
            "2025-01-01T12:00:00Z",
            "2024-12-30T00:00:00Z",
            "2025-01-06T00:00:00Z",
        ),
        (
            "1w",
            "2025-01-06T00:00:00Z",
            "2025-01-06T00:00:00Z",
            "2025-01-13T00:00:00Z",
        ),
        (
            "1w",
            "2025-01-05T23:59:59Z",
            "2024-12-30T00:00:00Z",
            "2025-01-06T00:00:00Z",
        ),
        (
            "1mo",
            "2025-01-15T08:00:00Z",
            "2025-01-01T00:00:00Z",
            "2025-02-01T00:00:00Z",
        ),
        (
            "1mo",
            "2024-12-31T23:59:59Z",
            "2024-12-01T00:00:00Z",
            "2025-01-01T00:00:00Z",
        ),
        (
            "1mo",
            "2025-01-01T00:00:00Z",
            "2025-01-01T00:00:00Z",
            "2025-02-01T00:00:00Z",
        ),
        (
            "1mo",
            "2024-02-29T12:00:00Z",
            "2024-02-01T00:00:00Z",
            "2024-03-01T00:00:00Z",
        ),
        (
            "1mo",
            "2023-02-28T12:00:00Z",
            "2023-02-01T00:00:00Z",
            "2023-03-01T00:00:00Z",
        ),
        (
            "1mo",
            "2000-02-29T23:59:59Z",
            "2000-02-01T00:00:00Z",
            "2000-03-01T00:00:00Z",
        ),
        (
            "1mo",
            "2100-02-28T23:59:59Z",
            "2100-02-01T00:00:00Z",
            "2100-03-01T00:00:00Z",
        ),
        (
            "1mo",
            "2024-03-01T00:00:00Z",
            "2024-03-01T00:00:00Z",
            "2024-04-01T00:00:00Z",
        ),
        // Months counted from January 1970: quarters and halves of the calendar year.
        (
            "3mo",
            "2025-05-10T00:00:00Z",
            "2025-04-01T00:00:00Z",
            "2025-07-01T00:00:00Z",
        ),
        (
            "6mo",
            "2024-12-31T00:00:00Z",
            "2024-07-01T00:00:00Z",
            "2025-01-01T00:00:00Z",
        ),
        (
            "1y",
            "2024-07-01T00:00:00Z",
            "2024-01-01T00:00:00Z",
            "2025-01-01T00:00:00Z",
        ),
        (
            "1y",
            "2024-12-31T23:59:59Z",
            "2024-01-01T00:00:00Z",
            "2025-01-01T00:00:00Z",
        ),
        (
            "2y",
            "2025-06-01T00:00:00Z",
            "2024-01-01T00:00:00Z",
            "2026-01-01T00:00:00Z",
        ),
        (
            "30d",
            "2025-01-01T12:00:00Z",
            "2024-12-13T00:00:00Z",
            "2025-01-12T00:00:00Z",
        ),
        (
            "7d",
            "2025-01-01T12:00:00Z",
            "2024-12-26T00:00:00Z",
            "2025-01-02T00:00:00Z",
        ),
        (
            "1h",
            "2025-01-01T12:34:56Z",
            "2025-01-01T12:00:00Z",
            "2025-01-01T13:00:00Z",
        ),
        (
            "2h",
            "2025-01-01T13:34:56Z",
            "2025-01-01T12:00:00Z",
            "2025-01-01T14:00:00Z",
        ),
        (
            "15m",
            "2025-01-01T12:34:56Z",
            "2025-01-01T12:30:00Z",
            "2025-01-01T12:45:00Z",
        ),
        (
            "30s",
            "2025-01-01T12:34:56Z",
            "2025-01-01T12:34:30Z",
            "2025-01-01T12:35:00Z",
        ),
    ];
    for (duration, now, start, next) in cases {
        let got = period(duration, at(now)).unwrap();
        assert_eq!(
            (iso8601(got.0), iso8601(got.1)),
            (start.to_string(), next.to_string()),
            "{duration} at {now}"
        );
    }
}

#[test]
fn multiples_of_the_unit_since_the_epoch() {
    for (duration, len) in [
        ("30d", 30 * 86_400),
        ("2h", 7_200),
        ("45m", 2_700),
        ("1d", 86_400),
    ] {
        for now in (1_700_000_000..1_800_000_000).step_by(9_876_543) {
            let (start, next) = period(duration, now).unwrap();
            assert_eq!(start % len, 0, "{duration} {now}");
            assert_eq!(next - start, len);
            assert!(start <= now && now < next);
        }
    }
}

#[test]
fn periods_tile_time() {
    for duration in ["1d", "1w", "1mo", "3mo", "1y", "30d", "1h", "2w"] {
        let mut now = at("2023-11-20T05:00:00Z");
        for _ in 0..30 {
            let (start, next) = period(duration, now).unwrap();
            assert!(start <= now && now < next, "{duration} {}", iso8601(now));
            assert_eq!(period(duration, start), Some((start, next)));
            assert_eq!(period(duration, next - 1), Some((start, next)));
            now = next;
        }
    }
    // Weeks start on Monday 00:00 UTC.
    let (start, _) = period("1w", at("2024-02-29T10:00:00Z")).unwrap();
    assert_eq!(iso8601(start), "2024-02-26T00:00:00Z");
}

#[test]
fn unparsable_durations() {
    for bad in [
        "",
        "d",
        "0d",
        "5x",
        "-1d",
        "1.5d",
        "mo",
        "1 d",
        "99999999999999999999d",
    ] {
        assert_eq!(period(bad, 1_735_732_800), None, "{bad:?}");
    }
    assert_eq!(
        period(" 1d ", 86_400 * 3 + 5),
        Some((86_400 * 3, 86_400 * 4))
    );
    assert_eq!(
        period("1w", 0),
        Some((0, 4 * 86_400)),
        "the epoch is a Thursday"
    );
}
