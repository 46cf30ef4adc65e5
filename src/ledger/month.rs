//! Calendar months in the configured time zone: the one place the ledger's
//! month boundary is computed.
//!
//! Auto-reload caps, month spend and plan allowances are all per calendar
//! month *in the configured IANA zone*, and the month of a booking is the
//! month of the usage event that caused it (not of the wall clock), so a
//! backfill lands in the right month. A `Month` is written `2026-09`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A calendar month; orders chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    /// 1..=12
    month: u32,
}

impl Month {
    /// `None` when `month` is not 1..=12.
    pub fn new(year: i32, month: u32) -> Option<Month> {
        (1..=12).contains(&month).then_some(Month { year, month })
    }

    /// The month `at` falls in, on the calendar of `tz`.
    pub fn of(at: DateTime<Utc>, tz: Tz) -> Month {
        let local = at.with_timezone(&tz);
        Month { year: local.year(), month: local.month() }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    /// Months since year 0, so that month arithmetic is integer arithmetic.
    fn index(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }

    /// Whether `self` is at least `n` months before `later`.
    pub fn is_months_before(self, later: Month, n: i64) -> bool {
        later.index() - self.index() >= n
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = String;
    fn from_str(s: &str) -> Result<Month, String> {
        let bad = || format!("`{s}` is not a month like 2026-09");
        // rsplit: a year before 0 carries its own leading `-`.
        let (year, month) = s.rsplit_once('-').ok_or_else(bad)?;
        let year = year.parse().map_err(|_| bad())?;
        let month = month.parse().map_err(|_| bad())?;
        Month::new(year, month).ok_or_else(bad)
    }
}

impl Serialize for Month {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Month, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// serde for a `Tz` as its IANA name (chrono-tz's own serde feature is off).
pub(crate) mod tz_name {
    use chrono_tz::Tz;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(tz.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(|_| serde::de::Error::custom(format!("unknown time zone `{name}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_is_taken_on_the_configured_calendar() {
        let la: Tz = "America/Los_Angeles".parse().unwrap();
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        let cases = [
            // 2026-10-31T23:30-07:00 is still October in Los Angeles.
            ("2026-11-01T06:30:00Z", la, "2026-10"),
            ("2026-11-01T06:30:00Z", chrono_tz::UTC, "2026-11"),
            ("2026-11-30T15:00:00Z", tokyo, "2026-12"),
            ("2026-12-31T23:59:59Z", chrono_tz::UTC, "2026-12"),
        ];
        for (at, tz, want) in cases {
            let at: DateTime<Utc> = at.parse().unwrap();
            assert_eq!(Month::of(at, tz).to_string(), want, "{at} in {tz}");
        }
    }

    #[test]
    fn text_round_trips_and_bad_text_is_refused() {
        for text in ["2026-09", "0001-01", "-001-12"] {
            assert_eq!(text.parse::<Month>().unwrap().to_string(), text);
        }
        for bad in ["2026-13", "2026-00", "2026", "x-01", ""] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
        let m: Month = serde_json::from_str("\"2026-02\"").unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"2026-02\"");
    }

    #[test]
    fn months_before_counts_across_years() {
        let jan: Month = "2027-01".parse().unwrap();
        let dec: Month = "2025-12".parse().unwrap();
        assert!(dec.is_months_before(jan, 13));
        assert!(!dec.is_months_before(jan, 14));
    }
}
