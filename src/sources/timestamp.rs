//! Timestamps as logs write them: RFC 3339, with a fast path for the UTC
//! form nearly every log uses.

use chrono::{DateTime, Utc};

use crate::sources::LineError;

/// Parses an RFC 3339 timestamp field.
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, LineError> {
    if let Some(t) = utc_timestamp(text.as_bytes()) {
        return Ok(t);
    }
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|e| LineError::new(format!("timestamp `{text}`: {e}")))
}

/// The form nearly every log writes, `YYYY-MM-DDTHH:MM:SS[.f]Z` (1 to 9
/// fraction digits), read without chrono's general RFC 3339 parser, which
/// costs a line more than the rest of its fields. Anything else (offsets,
/// a leap second, lowercase, a bad date) is `None` and goes to chrono, so
/// the result is always chrono's.
fn utc_timestamp(b: &[u8]) -> Option<DateTime<Utc>> {
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        b.get(range)?.iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b.last() != Some(&b'Z') {
        return None;
    }
    let nanos = match &b[19..b.len() - 1] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            digits(20..b.len() - 1)? * 10u32.pow(9 - u32::try_from(fraction.len()).ok()?)
        }
        _ => return None,
    };
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if second > 59 {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(digits(0..4)?).ok()?, digits(5..7)?, digits(8..10)?)?;
    Some(date.and_hms_nano_opt(hour, minute, second, nanos)?.and_utc())
}

#[cfg(test)]
#[path = "timestamp_tests.rs"]
mod tests;
