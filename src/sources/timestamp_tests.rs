use super::*;

/// The fast path gives chrono's answer or none at all.
#[test]
fn the_fast_path_agrees_with_chrono() {
    let texts = [
        "2026-10-01T00:00:13Z",
        "2026-09-02T08:20:15.000Z",
        "2026-09-02T08:20:15.1Z",
        "2026-09-02T08:20:15.123456789Z",
        "2024-02-29T23:59:59.999Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
    ];
    for text in texts {
        let chrono = DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc);
        assert_eq!(utc_timestamp(text.as_bytes()), Some(chrono), "{text}");
        assert_eq!(parse_timestamp(text).unwrap(), chrono, "{text}");
    }
    // Left to chrono: its answer (or its error) either way.
    let others = [
        "2026-10-01T00:00:13+02:00",
        "2026-10-01t00:00:13z",
        "2026-10-01 00:00:13Z",
        "2016-12-31T23:59:60Z",
        "2026-10-01T00:00:13.1234567891Z",
        "2025-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-10-01T24:00:00Z",
        "2026-10-01T00:60:00Z",
        "2026-1a-01T00:00:00Z",
        "2026-10-01T00:00:13.Z",
        "+2026-10-01T00:00:13Z",
        "2026-10-01T00:00:13",
        "",
    ];
    for text in others {
        assert_eq!(utc_timestamp(text.as_bytes()), None, "{text}");
        let chrono = DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).ok();
        assert_eq!(parse_timestamp(text).ok(), chrono, "{text}");
    }
}
