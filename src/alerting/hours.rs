//! Working hours: the days and the daily span in which spending is expected.
//!
//! Times are wall-clock times in the configured time zone, so a DST change
//! moves the span in UTC with the clocks, as people expect. A span whose end
//! is before its start (`22:00`-`06:00`) is a night shift: it starts on a
//! listed day and runs past midnight into the next one. `start == end` means
//! the whole day.

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `working_hours: { days: "mon-fri", start: "08:00", end: "19:00" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawWorkingHours")]
pub struct WorkingHours {
    /// Monday first.
    days: [bool; 7],
    /// Minutes after local midnight; `end` may be 1440 (`24:00`).
    start: u16,
    end: u16,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkingHours {
    days: String,
    start: String,
    end: String,
}

impl TryFrom<RawWorkingHours> for WorkingHours {
    type Error = String;
    fn try_from(raw: RawWorkingHours) -> Result<WorkingHours, String> {
        WorkingHours::parse(&raw.days, &raw.start, &raw.end)
    }
}

impl WorkingHours {
    /// `days` like `mon-fri`, `sat,sun`, `mon-wed,fri`; times like `08:00`.
    pub fn parse(days: &str, start: &str, end: &str) -> Result<WorkingHours, String> {
        let start = parse_time(start, false).map_err(|m| format!("start: {m}"))?;
        let end = parse_time(end, true).map_err(|m| format!("end: {m}"))?;
        Ok(WorkingHours { days: parse_days(days)?, start, end })
    }

    /// Whether `now` falls inside working hours in `tz`.
    pub fn contains(&self, now: DateTime<Utc>, tz: Tz) -> bool {
        let local = now.with_timezone(&tz);
        let minute = (local.hour() * 60 + local.minute()) as u16;
        let today = local.weekday().num_days_from_monday() as usize;
        let yesterday = local.weekday().pred().num_days_from_monday() as usize;
        if self.start == self.end {
            self.days[today]
        } else if self.start < self.end {
            self.days[today] && (self.start..self.end).contains(&minute)
        } else {
            (self.days[today] && minute >= self.start) || (self.days[yesterday] && minute < self.end)
        }
    }
}

/// `mon` or `monday`, any case.
fn parse_day(name: &str) -> Result<usize, String> {
    const FULL: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    let n = name.trim().to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .zip(FULL)
        .position(|(short, full)| n == *short || n == full)
        .ok_or_else(|| format!("`{}` is not a day (mon, tue, wed, thu, fri, sat, sun)", name.trim()))
}

fn parse_days(text: &str) -> Result<[bool; 7], String> {
    let mut days = [false; 7];
    for part in text.split(',') {
        match part.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (parse_day(from)?, parse_day(to)?);
                // `fri-mon` wraps over the weekend.
                let mut d = from;
                loop {
                    days[d] = true;
                    if d == to {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days[parse_day(part)?] = true,
        }
    }
    Ok(days)
}

/// `HH:MM` as minutes after midnight; `24:00` only where `allow_24`.
fn parse_time(text: &str, allow_24: bool) -> Result<u16, String> {
    let bad = || format!("`{text}` is not a time like 08:00");
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h > 24 || (h == 24 && (m != 0 || !allow_24)) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn parses_days_and_times() {
        let w = WorkingHours::parse("mon-fri", "08:00", "19:00").unwrap();
        assert_eq!(w.days, [true, true, true, true, true, false, false]);
        assert_eq!((w.start, w.end), (480, 1140));
        assert_eq!(WorkingHours::parse("sat,sun", "0:00", "24:00").unwrap().days, [false, false, false, false, false, true, true]);
        assert_eq!(WorkingHours::parse("fri-mon", "08:00", "12:00").unwrap().days, [true, false, false, false, true, true, true]);
        assert_eq!(WorkingHours::parse("Monday,wed", "08:00", "12:00").unwrap().days, [true, false, true, false, false, false, false]);
        for (days, start, end, want) in [
            ("mon-fry", "08:00", "19:00", "`fry` is not a day"),
            ("monk", "08:00", "19:00", "`monk` is not a day"),
            ("mon", "8", "19:00", "start: `8` is not a time"),
            ("mon", "08:00", "19:60", "end: `19:60` is not a time"),
            ("mon", "24:00", "19:00", "start: `24:00` is not a time"),
        ] {
            let err = WorkingHours::parse(days, start, end).unwrap_err();
            assert!(err.starts_with(want), "{days} {start} {end}: {err}");
        }
    }

    #[test]
    fn day_span_in_utc() {
        let w = WorkingHours::parse("mon-fri", "08:00", "19:00").unwrap();
        // 2026-11-25 is a Wednesday.
        for (t, want) in [
            ("2026-11-25T07:59:59Z", false),
            ("2026-11-25T08:00:00Z", true),
            ("2026-11-25T18:59:59Z", true),
            ("2026-11-25T19:00:00Z", false),
            ("2026-11-28T12:00:00Z", false),
        ] {
            assert_eq!(w.contains(utc(t), chrono_tz::UTC), want, "{t}");
        }
    }

    #[test]
    fn night_span_runs_past_midnight_into_the_next_day() {
        // A night shift starting Monday to Friday evenings.
        let w = WorkingHours::parse("mon-fri", "22:00", "06:00").unwrap();
        for (t, want) in [
            ("2026-11-23T21:59:00Z", false), // Mon 21:59
            ("2026-11-23T22:00:00Z", true),  // Mon 22:00
            ("2026-11-24T05:59:00Z", true),  // Tue 05:59, Monday's shift
            ("2026-11-24T06:00:00Z", false),
            ("2026-11-28T05:00:00Z", true),  // Sat 05:00, Friday's shift
            ("2026-11-28T22:30:00Z", false), // Sat evening: no shift
            ("2026-11-23T03:00:00Z", false), // Mon 03:00: Sunday had no shift
        ] {
            assert_eq!(w.contains(utc(t), chrono_tz::UTC), want, "{t}");
        }
    }

    #[test]
    fn spans_follow_the_wall_clock_across_dst_changes() {
        let berlin = chrono_tz::Europe::Berlin;
        let w = WorkingHours::parse("mon-sun", "08:00", "19:00").unwrap();
        // Saturday 2026-03-28 is still CET (UTC+1): 08:00 local = 07:00 UTC.
        assert!(!w.contains(utc("2026-03-28T06:59:00Z"), berlin));
        assert!(w.contains(utc("2026-03-28T07:00:00Z"), berlin));
        // Sunday 2026-03-29, clocks jump 02:00 -> 03:00 (CEST, UTC+2): 08:00 local = 06:00 UTC.
        assert!(!w.contains(utc("2026-03-29T05:59:00Z"), berlin));
        assert!(w.contains(utc("2026-03-29T06:00:00Z"), berlin));
        assert!(w.contains(utc("2026-03-29T16:59:00Z"), berlin));
        assert!(!w.contains(utc("2026-03-29T17:00:00Z"), berlin));
        // Sunday 2026-10-25, clocks go back 03:00 -> 02:00 (CET): 08:00 local = 07:00 UTC.
        assert!(!w.contains(utc("2026-10-25T06:30:00Z"), berlin));
        assert!(w.contains(utc("2026-10-25T07:00:00Z"), berlin));
        assert!(!w.contains(utc("2026-10-25T18:00:00Z"), berlin));
        // A night span through the skipped and the repeated hour.
        let night = WorkingHours::parse("sat", "22:00", "06:00").unwrap();
        assert!(night.contains(berlin.with_ymd_and_hms(2026, 3, 29, 3, 30, 0).unwrap().with_timezone(&Utc), berlin));
        assert!(night.contains(utc("2026-03-29T03:59:00Z"), berlin)); // 05:59 CEST
        assert!(!night.contains(utc("2026-03-29T04:00:00Z"), berlin)); // 06:00 CEST
        assert!(night.contains(utc("2026-10-25T04:59:00Z"), berlin)); // 05:59 CET
        assert!(!night.contains(utc("2026-10-25T05:00:00Z"), berlin)); // 06:00 CET
    }
}
