use super::*;
use chrono::TimeZone;

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap()
}

fn key(account: &str, app: &str, model: &str) -> SeriesKey {
    SeriesKey { account: account.into(), app: app.into(), model: model.into() }
}

fn usd(text: &str) -> Decimal {
    money::parse(text).unwrap()
}

/// Bucket 10s; `now` = 1_000_000 sits at the start of bucket 100_000.
const NOW: i64 = 1_000_000;

fn rates() -> BurnRates {
    BurnRates::new(&BurnConfig::default())
}

#[test]
fn rates_per_window_per_series_and_account() {
    let mut burn = rates();
    let opus = key("personal", "claude-code", "claude-opus-4-5");
    let sonnet = key("personal", "aider", "claude-sonnet-4-5");
    assert!(burn.record(at(NOW), &opus, at(NOW - 30), usd("1.25")));
    assert!(burn.record(at(NOW), &opus, at(NOW - 600), usd("3.75")));
    assert!(burn.record(at(NOW), &sonnet, at(NOW - 120), usd("0.5")));
    let snap = burn.rates(at(NOW));
    // 5m: $1.25 in 5 minutes = $15/h; 1h: $5 in an hour.
    assert_eq!(snap.series_rate(&opus, WINDOW_5M), 15.0);
    assert_eq!(snap.series_rate(&opus, WINDOW_1H), 5.0);
    assert_eq!(snap.series_rate(&sonnet, WINDOW_5M), 6.0);
    assert_eq!(snap.account_rate("personal", WINDOW_5M), 21.0);
    assert_eq!(snap.account_rate("personal", WINDOW_1H), 5.5);
    assert_eq!(snap.account_rate("work", WINDOW_1H), 0.0);
    assert_eq!(snap.windows.iter().map(|w| w.label.as_str()).collect::<Vec<_>>(), ["5m", "1h"]);
    assert_eq!(snap.exported, 2);
}

#[test]
fn window_edges_are_whole_buckets() {
    let mut burn = rates();
    let k = key("a", "app", "m");
    // The 5m window at NOW is the 30 buckets 99_971..=100_000, so it starts
    // at NOW - 290 s.
    burn.record(at(NOW), &k, at(NOW - 290), usd("1"));
    burn.record(at(NOW), &k, at(NOW - 291), usd("10"));
    let snap = burn.rates(at(NOW));
    assert_eq!(snap.series_rate(&k, WINDOW_5M), 12.0);
    assert_eq!(snap.series_rate(&k, WINDOW_1H), 11.0);
}

#[test]
fn backfill_is_ignored_and_future_counts_as_now() {
    let mut burn = rates();
    let k = key("a", "app", "m");
    assert!(!burn.record(at(NOW), &k, at(NOW - 3600), usd("100")));
    assert!(!burn.record(at(NOW), &k, at(NOW - 86400), usd("100")));
    assert!(!burn.record(at(NOW), &k, at(NOW), Decimal::ZERO));
    assert_eq!(burn.series_count(), 0);
    assert!(burn.record(at(NOW), &k, at(NOW + 7200), usd("0.25")));
    let snap = burn.rates(at(NOW));
    assert_eq!(snap.series_rate(&k, WINDOW_5M), 3.0);
    // Still there 4m50s later, gone from 5m after 5m, from 1h after 1h.
    assert_eq!(burn.rates(at(NOW + 299)).series_rate(&k, WINDOW_5M), 3.0);
    assert_eq!(burn.rates(at(NOW + 300)).series_rate(&k, WINDOW_5M), 0.0);
    assert_eq!(burn.rates(at(NOW + 3599)).series_rate(&k, WINDOW_1H), 0.25);
    assert_eq!(burn.series_count(), 1);
    assert_eq!(burn.rates(at(NOW + 3600)).series.len(), 0);
    assert_eq!(burn.series_count(), 0);
}

#[test]
fn memory_is_bounded_by_buckets_not_events() {
    let mut burn = rates();
    let k = key("a", "app", "m");
    // One event a second for two hours: 7_200 events.
    for s in 0..7200 {
        burn.record(at(NOW + s), &k, at(NOW + s), usd("0.001"));
    }
    let now = at(NOW + 7199);
    assert_eq!(burn.series[&k].len(), 360);
    let snap = burn.rates(now);
    // The last 360 buckets hold 3_600 events: $3.6 in the last hour.
    assert_eq!(snap.series_rate(&k, WINDOW_1H), 3.6);
    // The 5m window: 29 full buckets + 10 events of the current = 300 events.
    assert_eq!(snap.series_rate(&k, WINDOW_5M), 3.6);
}

#[test]
fn configured_windows_are_exported_and_5m_1h_always_kept() {
    let config = BurnConfig { windows: vec![BurnWindow::new("15m", Duration::from_secs(900))], bucket: Duration::from_secs(60) };
    config.validate("burn_rate").unwrap();
    let mut burn = BurnRates::new(&config);
    let k = key("a", "app", "m");
    burn.record(at(NOW), &k, at(NOW - 600), usd("2"));
    let snap = burn.rates(at(NOW));
    assert_eq!(snap.exported, 1);
    assert_eq!(snap.windows.iter().map(|w| w.label.as_str()).collect::<Vec<_>>(), ["15m", "5m", "1h"]);
    assert_eq!(snap.series_rate(&k, Duration::from_secs(900)), 8.0);
    assert_eq!(snap.series_rate(&k, WINDOW_5M), 0.0);
    let bad = BurnConfig { windows: vec![BurnWindow::new("90s", Duration::from_secs(90))], bucket: Duration::from_secs(60) };
    assert_eq!(bad.validate("burn_rate").unwrap_err().0, "burn_rate.windows[0]");
}

#[test]
fn runway_table() {
    let amount = |threshold: &str, amount: &str, cap: &str| {
        Some(ReloadRunway { threshold: usd(threshold), refill: Refill::Amount(usd(amount)), remaining_cap: usd(cap) })
    };
    let target = |threshold: &str, target: &str, cap: &str| {
        Some(ReloadRunway { threshold: usd(threshold), refill: Refill::Target(usd(target)), remaining_cap: usd(cap) })
    };
    let cases: Vec<(&str, f64, Option<ReloadRunway>, f64)> = vec![
        ("50", 10.0, None, 18_000.0),
        ("50", 0.0, None, f64::INFINITY),
        ("0", 10.0, None, 0.0),
        ("-3", 10.0, None, 0.0),
        ("0", 0.0, None, 0.0),
        // $50 + five $20 reloads under a $100 cap = $150 at $10/h.
        ("50", 10.0, amount("5", "20", "100"), 54_000.0),
        // No partial reload: $30 left of the cap allows one, $19.99 none.
        ("50", 10.0, amount("5", "20", "30"), 25_200.0),
        ("50", 10.0, amount("5", "20", "19.99"), 18_000.0),
        // Reload to $25 from $5: $20 each.
        ("50", 10.0, target("5", "25", "100"), 54_000.0),
        // Already under the threshold: first reload $23, then one of $20.
        ("2", 10.0, target("5", "25", "50"), 16_200.0),
        // Exhausted but a reload is still allowed: -1 + 20.
        ("-1", 10.0, amount("5", "20", "20"), 6_840.0),
        ("-1", 10.0, amount("5", "20", "0"), 0.0),
        // A negative threshold is only crossed after zero.
        ("10", 10.0, amount("-5", "20", "100"), 3_600.0),
        ("50", 0.0, amount("5", "20", "100"), f64::INFINITY),
    ];
    for (balance, rate, reload, want) in cases {
        assert_eq!(runway_seconds(usd(balance), rate, reload), want, "balance {balance} rate {rate} reload {reload:?}");
    }
}

#[test]
fn reload_runway_from_config() {
    let config = crate::ledger::config::AutoReloadConfig {
        threshold_usd: usd("5"),
        amount_usd: Some(usd("20")),
        target_usd: None,
        monthly_cap_usd: usd("100"),
    };
    let r = ReloadRunway::from_config(&config, usd("60"));
    assert_eq!(r, ReloadRunway { threshold: usd("5"), refill: Refill::Amount(usd("20")), remaining_cap: usd("40") });
    // $50 + two reloads = $90 at $10/h.
    assert_eq!(runway_seconds(usd("50"), 10.0, Some(r)), 32_400.0);
    let to_target = crate::ledger::config::AutoReloadConfig { amount_usd: None, target_usd: Some(usd("25")), ..config };
    assert_eq!(ReloadRunway::from_config(&to_target, usd("120")).remaining_cap, Decimal::ZERO);
    assert_eq!(ReloadRunway::from_config(&to_target, usd("0")).refill, Refill::Target(usd("25")));
}
