use super::*;

const CAPTURED: &str = "../shared/real/provider-examples/anthropic/oauth_usage.observed-2026-07-18.json";

fn now() -> DateTime<Utc> {
    "2026-07-18T22:00:00Z".parse().unwrap()
}

fn read(body: &str) -> Result<Observation, ReadError> {
    read_usage(body.as_bytes(), now())
}

/// `name percent resets_at` per window.
fn windows(o: &Observation) -> Vec<String> {
    o.windows.iter().map(|w| format!("{} {} {}", w.name, w.used_percent, w.resets_at.to_rfc3339())).collect()
}

fn extra(o: &Observation) -> String {
    match &o.extra_usage {
        Some(e) => format!(
            "{} {} limit {} enabled {}",
            e.spent.amount,
            e.spent.currency,
            e.limit.as_ref().map(|l| l.amount.to_string()).unwrap_or("none".into()),
            e.enabled
        ),
        None => "none".into(),
    }
}

#[test]
fn the_captured_answer_reads_limits_and_spend() {
    let body = std::fs::read(CAPTURED).unwrap();
    let o = read_usage(&body, now()).unwrap();
    assert_eq!(
        windows(&o),
        ["five_hour 15 2026-07-19T03:39:59+00:00", "seven_day 48 2026-07-23T14:59:59+00:00", "weekly_fable 81 2026-07-23T14:59:59+00:00",]
    );
    assert_eq!(extra(&o), "408.43 USD limit none enabled true");
    assert!(o.balances.is_empty());
    assert_eq!(o.at, now());
}

#[test]
fn the_flat_form_keeps_every_window_including_unknown_names() {
    let body = r#"{"five_hour":{"utilization":42.0,"resets_at":"2026-07-19T03:00:00+00:00"},
        "seven_day":{"utilization":12.5,"resets_at":"2026-07-23T15:00:00Z"},
        "seven_day_opus":null,"seven_day_sonnet":{"utilization":3,"resets_at":null},
        "seven_day_oauth_apps":{"utilization":null,"resets_at":null},
        "nimbus_quill":{"utilization":7,"resets_at":"2026-07-20T00:00:00Z","new_field":[1,2]},
        "extra_usage":{"is_enabled":true,"monthly_limit":5000,"used_credits":1234.0,"utilization":24.68},
        "member_dashboard_available":false,"note":"ignored"}"#;
    let o = read(body).unwrap();
    assert_eq!(
        windows(&o),
        [
            "five_hour 42.0 2026-07-19T03:00:00+00:00",
            "nimbus_quill 7 2026-07-20T00:00:00+00:00",
            "seven_day 12.5 2026-07-23T15:00:00+00:00",
        ]
    );
    assert_eq!(extra(&o), "12.34 USD limit 50 enabled true");
}

#[test]
fn limits_only_and_unknown_kinds() {
    let body = r#"{"limits":[
        {"kind":"session","percent":100,"resets_at":"2026-07-19T03:00:00Z","scope":null,"is_active":true},
        {"kind":"weekly_scoped","percent":5.5,"resets_at":"2026-07-23T15:00:00Z","scope":{"model":{"id":null,"display_name":"Claude Opus 5"}}},
        {"kind":"monthly_all","percent":1,"resets_at":"2026-08-01T00:00:00Z"},
        {"kind":"weekly_all","percent":null,"resets_at":null}]}"#;
    let o = read(body).unwrap();
    assert_eq!(
        windows(&o),
        [
            "five_hour 100 2026-07-19T03:00:00+00:00",
            "weekly_claude_opus_5 5.5 2026-07-23T15:00:00+00:00",
            "monthly_all 1 2026-08-01T00:00:00+00:00",
        ]
    );
    assert_eq!(extra(&o), "none");
}

#[test]
fn every_window_null_is_an_observation_of_nothing() {
    let o = read(r#"{"five_hour":null,"seven_day":null,"seven_day_opus":null,"extra_usage":null,"limits":null,"spend":null}"#).unwrap();
    assert!(o.windows.is_empty() && o.extra_usage.is_none() && o.balances.is_empty());
}

#[test]
fn used_credits_convert_with_their_decimal_places() {
    let cases = [("0", "40843 USD"), ("2", "408.43 USD"), ("3", "40.843 USD")];
    for (places, want) in cases {
        let body = format!(
            r#"{{"extra_usage":{{"is_enabled":true,"monthly_limit":null,"used_credits":40843.0,"currency":"USD","decimal_places":{places}}}}}"#
        );
        assert_eq!(extra(&read(&body).unwrap()), format!("{want} limit none enabled true"), "decimal_places {places}");
    }
    let eur = r#"{"extra_usage":{"is_enabled":false,"monthly_limit":2000,"used_credits":1999,"currency":"eur","decimal_places":2}}"#;
    assert_eq!(extra(&read(eur).unwrap()), "19.99 EUR limit 20 enabled false");
}

#[test]
fn spend_is_preferred_and_states_limit_and_balance() {
    let body = r#"{"extra_usage":{"is_enabled":true,"used_credits":1,"decimal_places":2},
        "spend":{"used":{"amount_minor":123456,"currency":"USD","exponent":3},"limit":{"amount_minor":20000,"currency":"USD","exponent":2},
                 "balance":{"amount_minor":4117,"currency":"USD","exponent":2},"cap":null,"auto_reload":null,"enabled":true}}"#;
    let o = read(body).unwrap();
    assert_eq!(extra(&o), "123.456 USD limit 200 enabled true");
    assert_eq!(o.balance_usd().map(|b| b.to_string()).as_deref(), Some("41.17"));
}

#[test]
fn answers_that_do_not_hold_together_are_refused_whole() {
    let cases = [
        ("not json", "not a JSON object: expected ident at line 1 column 2"),
        ("[1,2]", "not a JSON object: invalid type: sequence, expected a map at line 1 column 0"),
        (r#"{"five_hour":{"utilization":"15","resets_at":"2026-07-19T03:00:00Z"}}"#, "`five_hour.utilization`: \"15\" is not a number"),
        (r#"{"five_hour":{"utilization":15,"resets_at":"tomorrow"}}"#, "`five_hour.resets_at`: `tomorrow` is not a time"),
        (r#"{"five_hour":{"utilization":-1,"resets_at":"2026-07-19T03:00:00Z"}}"#, "`five_hour.utilization`: -1 is not a percentage"),
        (
            r#"{"limits":[{"kind":"session","percent":"15","resets_at":"2026-07-19T03:00:00Z"}]}"#,
            "`limits[0].percent`: \"15\" is not a number",
        ),
        (r#"{"limits":{"kind":"session"}}"#, "`limits`: invalid type: map, expected a sequence at line 1 column 0"),
        (
            r#"{"extra_usage":{"is_enabled":true,"used_credits":"40843","decimal_places":2}}"#,
            "`extra_usage.used_credits`: \"40843\" is not a number",
        ),
        (
            r#"{"extra_usage":{"is_enabled":"yes","used_credits":1}}"#,
            "`extra_usage`: invalid type: string \"yes\", expected a boolean at line 1 column 19",
        ),
        (
            r#"{"extra_usage":{"used_credits":1,"decimal_places":-2}}"#,
            "`extra_usage`: invalid value: integer `-2`, expected u32 at line 1 column 37",
        ),
        (r#"{"spend":{"used":{"amount_minor":5,"currency":"USD","exponent":12}}}"#, "`spend.used`: exponent 12 out of range"),
        (r#"{"spend":{"used":{"amount_minor":-5,"currency":"USD","exponent":2}}}"#, "a negative extra-usage amount"),
        (
            r#"{"spend":{"used":{"amount_minor":5,"currency":"US Dollar","exponent":2}}}"#,
            "`spend.used`: currency `US Dollar` is not a currency code",
        ),
        (
            r#"{"spend":{"used":{"amount_minor":5,"currency":"USD","exponent":2},"limit":{"amount_minor":5,"currency":"EUR","exponent":2}}}"#,
            "extra usage spent in USD but limited in EUR",
        ),
        (
            r#"{"limits":[{"kind":"session","percent":1,"resets_at":"2026-07-19T03:00:00Z"},{"kind":"session","percent":2,"resets_at":"2026-07-19T03:00:00Z"}]}"#,
            "`limits[1]`: window `five_hour` twice",
        ),
    ];
    for (body, want) in cases {
        assert_eq!(read(body).map(|o| format!("{o:?}")), Err(ReadError::new(want)), "{body}");
    }
}

#[test]
fn window_names_from_limits() {
    let cases = [
        ("session", None, Some("five_hour")),
        ("weekly_all", None, Some("seven_day")),
        ("weekly_scoped", Some("Fable"), Some("weekly_fable")),
        ("weekly_scoped", Some("  Claude  Sonnet-5.5 "), Some("weekly_claude_sonnet_5_5")),
        ("weekly_scoped", None, None),
        ("Daily All", Some("Fable"), Some("daily_all_fable")),
    ];
    for (kind, model, want) in cases {
        assert_eq!(limit_window_name(kind, model).as_deref(), want, "{kind} {model:?}");
    }
}

#[test]
fn the_request_carries_the_beta_header_and_is_one_per_poll() {
    let r = ClaudeOauth.next_request(now(), &[]).unwrap();
    assert_eq!(r.path, "/api/oauth/usage");
    assert_eq!(r.headers[0], ("anthropic-beta", "oauth-2025-04-20".to_string()));
    assert_eq!(ClaudeOauth.next_request(now(), &[b"{}".to_vec()]), None);
}
