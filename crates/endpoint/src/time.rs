//! Timestamps in the formats AWS answers with: ISO 8601 (`2026-12-04T05:49:26.123Z`)
//! in bodies and the HTTP date (`Fri, 04 Dec 2026 05:49:26 GMT`) in headers.

/// (year, month, day, hour, minute, second, millisecond, weekday 0 = Sunday).
fn civil(ms: u64) -> (i64, i64, i64, u64, u64, u64, u64, u64) {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // 1970-01-01 was a Thursday.
    let weekday = ((days + 4).rem_euclid(7)) as u64;
    (
        year,
        month,
        day,
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        ms % 1000,
        weekday,
    )
}

/// `2026-12-04T05:49:26.123Z`.
pub fn iso8601(ms: u64) -> String {
    let (y, mo, d, h, mi, s, milli, _) = civil(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// `Fri, 04 Dec 2026 05:49:26 GMT`.
pub fn http_date(ms: u64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, mo, d, h, mi, s, _, wd) = civil(ms);
    format!(
        "{}, {d:02} {} {y:04} {h:02}:{mi:02}:{s:02} GMT",
        DAYS[wd as usize],
        MONTHS[(mo - 1) as usize]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_796_363_366_123), "2026-12-04T05:49:26.123Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(
            http_date(1_796_363_366_123),
            "Fri, 04 Dec 2026 05:49:26 GMT"
        );
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }
}
