use chrono::NaiveDate;

use super::*;
use crate::providers::api::example;

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn usd(line: &SpendLine) -> String {
    line.usd.to_string()
}

#[test]
fn documented_cost_report_is_cents_per_model_and_token_type() {
    let page = cost_report(&example("anthropic/cost_report.docs-example.json")).unwrap();
    assert_eq!(page.days, [day("2025-08-01")]);
    assert_eq!(page.lines.len(), 1);
    let line = &page.lines[0];
    // "123.78912" cents.
    assert_eq!(usd(line), "1.2378912");
    assert_eq!(line.model, "claude-opus-4-6");
    assert_eq!(line.kind, "uncached_input_tokens");
    assert_eq!(line.scope_id.as_deref(), Some("wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ"));
    assert_eq!(page.next_page.as_deref(), Some("page_MjAyNS0wNS0xNFQwMDowMDowMFo="));
}

#[test]
fn observed_cost_report_with_five_decimals_of_a_cent_is_exact() {
    let page = cost_report(&example("anthropic/cost_report.observed-unattributed.json")).unwrap();
    assert_eq!(page.days, [day("2025-09-17")]);
    let line = &page.lines[0];
    assert_eq!(usd(line), "833.9152823");
    assert_eq!((line.model.as_str(), line.kind.as_str(), line.scope_id.as_deref()), ("", "", None));
    assert_eq!(page.next_page.as_deref(), Some("page_MjAyNS0wOS0yNFQwMDowMDowMFo="));
}

#[test]
fn an_empty_bucket_is_a_day_with_nothing_spent() {
    let body = example("anthropic/usage_report_empty_bucket.observed-mecris.json");
    let page = cost_report(&body).unwrap();
    assert_eq!((page.days, page.lines.len(), page.next_page), (vec![day("2024-07-29")], 0, None));
    let usage = messages_usage(&body).unwrap();
    assert_eq!(usage.buckets.len(), 1);
    assert!(usage.buckets[0].rows.is_empty());
    assert_eq!(usage.next_page, None);
}

#[test]
fn documented_usage_report_splits_cache_writes_by_duration() {
    let page = messages_usage(&example("anthropic/usage_report_messages.docs-example.json")).unwrap();
    let row = &page.buckets[0].rows[0];
    assert_eq!(row.model, "claude-opus-4-6");
    assert_eq!(row.tokens, Tokens { input: 1500, output: 500, cache_write_5m: 500, cache_write_1h: 1000, cache_read: 200 });
    assert_eq!(row.web_searches, 10);
    assert_eq!(row.api_key_id.as_deref(), Some("apikey_01Rj2N8SVvo6BePZj99NhmiT"));
    assert_eq!(page.buckets[0].starting_at.to_rfc3339(), "2025-08-01T00:00:00+00:00");
    assert_eq!(page.next_page.as_deref(), Some("page_MjAyNS0wNS0xNFQwMDowMDowMFo="));
}

#[test]
fn observed_usage_reports_read_as_published() {
    // Published without has_more/next_page: one page.
    let page = messages_usage(&example("anthropic/usage_report_messages.observed-unattributed.json")).unwrap();
    let row = &page.buckets[0].rows[0];
    assert_eq!(row.tokens, Tokens { input: 56047359, output: 2724851, cache_write_5m: 2777906, cache_write_1h: 0, cache_read: 51056717 });
    assert_eq!((row.model.as_str(), row.web_searches, page.next_page), ("", 0, None));

    // A bare result row, as published: put into a bucket of its own.
    let row = String::from_utf8(example("anthropic/usage_report_messages.result-row.observed-mecris.json")).unwrap();
    let body = format!(
        r#"{{"data":[{{"starting_at":"2025-07-01T00:00:00Z","ending_at":"2025-07-02T00:00:00Z","results":[{row}]}}],"has_more":false,"next_page":null}}"#
    );
    let page = messages_usage(body.as_bytes()).unwrap();
    assert_eq!(
        page.buckets[0].rows[0].tokens,
        Tokens { input: 107, output: 448, cache_write_5m: 17355, cache_write_1h: 0, cache_read: 16549 }
    );
}

#[test]
fn bad_answers_are_errors_that_say_why() {
    let full = example("anthropic/cost_report.docs-example.json");
    let err = cost_report(&full[..full.len() / 2]).unwrap_err().to_string();
    assert_eq!(err, format!("anthropic cost_report: truncated answer: it ends after {} bytes, inside the JSON", full.len() / 2));

    let bucket = |results: &str| {
        format!(
            r#"{{"data":[{{"starting_at":"2025-08-01T00:00:00Z","ending_at":"2025-08-02T00:00:00Z","results":[{results}]}}],"has_more":false,"next_page":null}}"#
        )
    };
    let cost_err = |body: &str| cost_report(body.as_bytes()).unwrap_err().to_string();
    assert_eq!(
        cost_err(&bucket(r#"{"amount":"12.5 cents","currency":"USD"}"#)),
        "anthropic cost_report: data[0].results[0].amount: `12.5 cents` is not a decimal amount"
    );
    assert_eq!(
        cost_err(&bucket(r#"{"amount":"100","currency":"EUR"}"#)),
        "anthropic cost_report: data[0].results[0].currency: `EUR`; the cost report is documented in USD cents"
    );
    assert_eq!(
        cost_err(r#"{"type":"error","error":{"type":"not_found_error","message":"Not found"}}"#),
        "anthropic cost_report: unexpected answer: missing field `data`"
    );
    assert_eq!(cost_err(r#"{"data":{"results":[]}}"#), "anthropic cost_report: data: invalid type: map, expected a sequence");
    assert_eq!(
        cost_err(r#"{"data":[],"has_more":true,"next_page":null}"#),
        "anthropic cost_report: has_more is true but next_page is empty: the next page cannot be asked for"
    );
    // A number where the docs have a string is still exact; a string where a count belongs is not read.
    let page = cost_report(bucket(r#"{"amount":250.5,"currency":"USD","model":"claude-x"}"#).as_bytes()).unwrap();
    assert_eq!(usd(&page.lines[0]), "2.505");
    let usage_err = messages_usage(bucket(r#"{"output_tokens":"448"}"#).as_bytes()).unwrap_err().to_string();
    assert_eq!(usage_err, "anthropic usage_report/messages: data[0].results[0].output_tokens: invalid type: string \"448\", expected u64");
}

#[test]
fn the_query_asks_per_description_and_keeps_its_parameters_across_pages() {
    let (start, end) = ("2026-11-01T00:00:00Z".parse().unwrap(), "2026-12-03T00:00:00Z".parse().unwrap());
    let text = |q: &[(&str, String)]| q.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let first = cost_report_query(start, end, false, None);
    assert_eq!(
        text(&first),
        "starting_at=2026-11-01T00:00:00Z&ending_at=2026-12-03T00:00:00Z&bucket_width=1d&group_by[]=description&limit=31"
    );
    let next = cost_report_query(start, end, true, Some("page_MjAyNS0wNS0xNFQwMDowMDowMFo="));
    assert_eq!(
        text(&next),
        "starting_at=2026-11-01T00:00:00Z&ending_at=2026-12-03T00:00:00Z&bucket_width=1d&group_by[]=description&group_by[]=workspace_id&limit=31&page=page_MjAyNS0wNS0xNFQwMDowMDowMFo="
    );
}
