use super::*;
use crate::providers::api::anthropic_admin;

fn t(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn d(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn line(day: &str, model: &str, usd: &str, scope: Option<&str>, key: Option<&str>) -> SpendLine {
    SpendLine {
        day: d(day),
        model: model.into(),
        usd: usd.parse().unwrap(),
        kind: String::new(),
        scope_id: scope.map(String::from),
        api_key_id: key.map(String::from),
    }
}

#[test]
fn the_window_is_the_closed_days_of_this_month_and_the_last() {
    assert_eq!(window(t("2026-12-03T09:30:00Z")), (t("2026-11-01T00:00:00Z"), t("2026-12-03T00:00:00Z")));
    assert_eq!(window(t("2026-03-01T00:00:00Z")), (t("2026-02-01T00:00:00Z"), t("2026-03-01T00:00:00Z")));
    assert_eq!(window(t("2027-01-15T23:59:59Z")), (t("2026-12-01T00:00:00Z"), t("2027-01-15T00:00:00Z")));
}

#[test]
fn filters_keep_what_the_account_pays_for() {
    let lines = [
        line("2026-11-01", "a", "1", Some("wrkspc_team"), None),
        line("2026-11-01", "a", "2", Some("wrkspc_other"), None),
        line("2026-11-01", "a", "4", None, None),
        line("2026-11-01", "a", "8", Some("proj_x"), Some("key_1")),
        line("2026-11-01", "a", "16", Some("proj_x"), Some("key_2")),
    ];
    let kept = |filters: Filters| {
        let mut report = SpendReport::default();
        report.add_page(SpendPage { lines: lines.to_vec(), days: vec![d("2026-11-01")], next_page: None }, &filters);
        report.lines.iter().map(|l| l.usd).sum::<Decimal>().to_string()
    };
    let f = |w: &[&str], p: &[&str], k: &[&str]| Filters {
        workspace_ids: w.iter().map(|s| s.to_string()).collect(),
        project_ids: p.iter().map(|s| s.to_string()).collect(),
        api_key_ids: k.iter().map(|s| s.to_string()).collect(),
    };
    assert_eq!(kept(Filters::default()), "31");
    assert_eq!(kept(f(&["wrkspc_team"], &[], &[])), "1");
    assert_eq!(kept(f(&["wrkspc_team", "default"], &[], &[])), "5");
    assert_eq!(kept(f(&[], &["proj_x"], &[])), "24");
    assert_eq!(kept(f(&[], &["proj_x"], &["key_2"])), "16");
}

#[test]
fn month_figures_and_unseen_spend_from_pages() {
    let page = |body: &str| anthropic_admin::cost_report(body.as_bytes()).unwrap();
    let bucket = |day: &str, next: &str, results: &str| {
        format!(
            r#"{{"data":[{{"starting_at":"{day}T00:00:00Z","ending_at":"{day}T23:59:59Z","results":[{results}]}}],"has_more":{},"next_page":{}}}"#,
            !next.is_empty(),
            if next.is_empty() { "null".to_string() } else { format!("\"{next}\"") }
        )
    };
    let mut report = SpendReport::default();
    report
        .add_page(page(&bucket("2026-10-31", "p2", r#"{"amount":"500","currency":"USD","model":"claude-opus-4-6"}"#)), &Filters::default());
    report.add_page(page(&bucket("2026-11-01", "p3", r#"{"amount":"83391.52823","currency":"USD","model":"claude-opus-4-6"},{"amount":"12.5","currency":"USD","model":"claude-haiku-4-5"}"#)), &Filters::default());
    report.add_page(page(&bucket("2026-11-02", "", "")), &Filters::default());
    let now = t("2026-11-03T08:00:00Z");
    assert_eq!(report.month_to_date(now).to_string(), "834.0402823");
    assert_eq!(report.days.len(), 3);

    let ours = vec![
        (d("2026-10-31"), "claude-opus-4-6-20260205".to_string(), "5.00".parse().unwrap()),
        (d("2026-11-01"), "claude-opus-4-6-20260205".to_string(), "800.00".parse().unwrap()),
        (d("2026-11-01"), "claude-haiku-4-5".to_string(), "0.200".parse().unwrap()),
        (d("2026-11-02"), "claude-haiku-4-5".to_string(), "0.10".parse().unwrap()),
        (d("2026-11-03"), "claude-haiku-4-5".to_string(), "7".parse().unwrap()),
    ];
    let audit = compare(&report, &ours);
    // Nov 1: opus 33.9152823 unseen, haiku -0.075; Nov 2: -0.10 (we saw more).
    let nothing_booked = |_: NaiveDate, _: &str| Decimal::ZERO;
    assert_eq!(unseen_this_month(&audit, now, None, nothing_booked).to_string(), "33.7402823");
    // Opened during Nov 1: only Nov 2 counts, and there we saw more.
    assert_eq!(unseen_this_month(&audit, now, Some(t("2026-11-01T10:00:00Z")), nothing_booked).to_string(), "0");
    // What reconcile booked for a day and model is creditwatch's too.
    let opus_booked = |day: NaiveDate, model: &str| {
        if (day, model) == (d("2026-11-01"), "claude-opus-4-6") {
            "30".parse().unwrap()
        } else {
            Decimal::ZERO
        }
    };
    assert_eq!(unseen_this_month(&audit, now, None, opus_booked).to_string(), "3.7402823");

    let bookings = unseen_bookings("anthropic", &audit, now, None);
    let got: Vec<_> = bookings.iter().map(|b| (b.day.to_string(), b.model.as_str(), b.unseen.to_string(), b.at().to_rfc3339())).collect();
    assert_eq!(got, [("2026-11-01".to_string(), "claude-opus-4-6", "33.9152823".to_string(), "2026-11-01T12:00:00+00:00".to_string())]);
    // The id is the provider's, the day's and the model's, whatever the amount.
    assert_eq!(bookings[0].id, EventId::from_parts("provider-unseen", &["anthropic", "2026-11-01", "claude-opus-4-6"]));
    // Too old to book (past RECONCILE_DAYS): nothing.
    assert!(unseen_bookings("anthropic", &audit, t("2026-12-10T00:00:00Z"), None).is_empty());
}
