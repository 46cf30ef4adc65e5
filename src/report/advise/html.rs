//! `advise --html FILE`: one self-contained page (no script, no outside
//! resource) with inline SVG charts: spend by model over time, context growth
//! of the top sessions, cache-read share per app. Floats appear only as
//! drawing coordinates; every figure printed on the page is the exact
//! decimal rounded to the cent.

use std::fmt::Write as _;

use rust_decimal::Decimal;

use super::output::share;
use super::Advice;
use crate::charts;
use crate::usage::money;

const WIDTH: u32 = 860;
const TOP: f64 = 20.0;

fn esc(text: &str) -> String {
    charts::escape(text)
}

fn f(d: Decimal) -> f64 {
    money::to_f64(d)
}

fn svg_open(title: &str, height: f64) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{}" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}">"#,
        esc(title)
    )
}

/// Stacked bars, one per day from the first to the last, one colour per
/// model (the shared chart code: 12 colours, then "other").
fn spend_chart(a: &Advice) -> String {
    let points: Vec<charts::DayAmount> = a
        .daily
        .iter()
        .filter_map(|(day, by)| day.parse::<chrono::NaiveDate>().ok().map(|d| (d, by)))
        .flat_map(|(day, by)| by.iter().map(move |(model, cost)| charts::DayAmount { day, series: model.clone(), amount: *cost }))
        .collect();
    let (Some(from), Some(to)) = (points.iter().map(|p| p.day).min(), points.iter().map(|p| p.day).max()) else {
        return String::new();
    };
    charts::stacked_days(&charts::StackedDays { title: "Spend by model over time", from, to, points: &points, width: WIDTH })
}

/// One line per top session: prompt tokens by request number.
fn context_chart(a: &Advice) -> String {
    let lines: Vec<charts::Line> = a
        .context
        .top
        .iter()
        .map(|s| charts::Line {
            name: format!("{} ${}", s.project, money::cents(s.avoidable)),
            values: s.points.iter().map(|p| p.prompt_tokens as f64).collect(),
        })
        .collect();
    charts::lines("Context growth of the top sessions", &lines, "request number in the session", WIDTH, (1000.0, "k"))
}

/// Horizontal bars: cache-read share of prompt tokens per app.
fn cache_chart(a: &Advice) -> String {
    let rows: Vec<_> = std::iter::once(&a.cache.total).chain(a.cache.by_app.iter()).collect();
    let height = TOP + 30.0 * rows.len() as f64 + 30.0;
    let mut out = svg_open("Cache-read share of prompt tokens", height);
    let label_w = 200.0;
    let bar_w = f64::from(WIDTH) - label_w - 180.0;
    for (i, u) in rows.iter().enumerate() {
        let y = TOP + 30.0 * i as f64;
        let part = share(Decimal::from(u.cache_read), Decimal::from(u.prompt_tokens));
        let w = bar_w * f(part);
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end" fill="#333">{}</text>"##,
            label_w - 8.0,
            y + 14.0,
            esc(&u.key)
        );
        let _ = write!(out, r##"<rect x="{label_w}" y="{y:.1}" width="{bar_w:.1}" height="18" fill="#eee"/>"##);
        let _ = write!(out, r##"<rect x="{label_w}" y="{y:.1}" width="{w:.1}" height="18" fill="#59a14f"/>"##);
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" fill="#333">{}% read, saved ${}</text>"##,
            label_w + bar_w + 8.0,
            y + 14.0,
            (part * Decimal::ONE_HUNDRED).round_dp(1),
            money::cents(u.saved)
        );
    }
    out.push_str("</svg>");
    out
}

/// The whole page.
pub fn write_html(a: &Advice) -> String {
    let mut page = String::with_capacity(64 * 1024);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>creditwatch advise</title>");
    page.push_str("<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:900px}h2{margin-top:1.6em}table{border-collapse:collapse}td,th{padding:2px 10px;text-align:left}td.n,th.n{text-align:right}.big{font-size:1.3em}</style></head><body>");
    let _ = write!(page, "<h1>Where the money goes</h1><p class=\"big\">{} requests, ${} spent", a.requests, money::cents(a.cost));
    if let (Some(first), Some(last)) = (a.first, a.last) {
        let _ = write!(page, ", {} to {}", first.format("%Y-%m-%d"), last.format("%Y-%m-%d"));
    }
    page.push_str("</p>");
    if a.requests == 0 {
        page.push_str("<p>No requests found: nothing to advise on.</p></body></html>\n");
        return page;
    }
    let m = &a.models;
    let _ = write!(
        page,
        "<h2>Spend by model over time</h2><p>One tier down, the same tokens would have cost ${} instead of ${} (saving ${}).</p>{}",
        money::cents(m.tier_down.what_if),
        money::cents(m.tier_down.actual),
        money::cents(m.tier_down.actual - m.tier_down.what_if),
        spend_chart(a)
    );
    if let Some(w) = &m.what_if {
        let _ = write!(page, "<p>All on {}: ${}.</p>", esc(w.target.as_deref().unwrap_or("")), money::cents(w.what_if));
    }
    let c = &a.context;
    let _ = write!(
        page,
        "<h2>Context growth of the top sessions</h2><p>${} of ${} was history re-sent above a fresh start.</p>{}",
        money::cents(c.avoidable),
        money::cents(c.cost),
        context_chart(a)
    );
    page.push_str("<table><tr><th>session</th><th>project</th><th class=\"n\">requests</th><th class=\"n\">avoidable</th></tr>");
    for s in &c.top {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">${}</td></tr>",
            esc(&s.session),
            esc(&s.project),
            s.points.len(),
            money::cents(s.avoidable)
        );
    }
    page.push_str("</table>");
    let _ = write!(
        page,
        "<h2>Cache share</h2><p>The cache saved ${}; writes never read back cost ${} over plain input.</p>{}",
        money::cents(a.cache.total.saved),
        money::cents(a.cache.unread_premium),
        cache_chart(a)
    );
    page.push_str("</body></html>\n");
    page
}
