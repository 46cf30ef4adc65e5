//! `advise --html FILE`: one self-contained page (no script, no outside
//! resource) with inline SVG charts: spend by model over time, context growth
//! of the top sessions, cache-read share per app. Floats appear only as
//! drawing coordinates; every figure printed on the page is the exact
//! decimal rounded to the cent.

use std::fmt::Write as _;

use rust_decimal::Decimal;

use super::output::share;
use super::Advice;
use crate::usage::money;

const COLORS: [&str; 8] = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7"];
const WIDTH: f64 = 860.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 70.0;
const BOTTOM: f64 = 40.0;
const TOP: f64 = 20.0;

fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
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

/// A y axis with 4 gridlines from 0 to `max`, labelled by `label`.
fn y_axis(out: &mut String, max: f64, plot_h: f64, label: impl Fn(f64) -> String) {
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let y = TOP + plot_h - plot_h * f64::from(i) / 4.0;
        let _ = write!(out, r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/>"##, WIDTH - 10.0);
        let _ = write!(
            out,
            r##"<text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#555">{}</text>"##,
            LEFT - 6.0,
            y + 4.0,
            esc(&label(v))
        );
    }
}

/// Where each legend entry goes, wrapping at the chart's width: (x, row).
fn legend_places(names: &[String]) -> Vec<(f64, usize)> {
    let (mut x, mut row) = (LEFT, 0);
    names
        .iter()
        .map(|name| {
            let w = 24.0 + 7.0 * name.chars().count() as f64;
            if x > LEFT && x + w > WIDTH {
                (x, row) = (LEFT, row + 1);
            }
            let place = (x, row);
            x += w;
            place
        })
        .collect()
}

/// Extra height the legend needs below `HEIGHT`.
fn legend_height(names: &[String]) -> f64 {
    legend_places(names).last().map_or(0.0, |(_, row)| 18.0 * (*row as f64 + 1.0))
}

fn legend(out: &mut String, names: &[String], y: f64) {
    for (i, (name, (x, row))) in names.iter().zip(legend_places(names)).enumerate() {
        let color = COLORS[i % COLORS.len()];
        let y = y + 18.0 * row as f64;
        let _ = write!(out, r#"<rect x="{x:.1}" y="{y:.1}" width="10" height="10" fill="{color}"/>"#);
        let _ = write!(out, r##"<text x="{:.1}" y="{:.1}" font-size="11" fill="#333">{}</text>"##, x + 14.0, y + 9.0, esc(name));
    }
}

/// Stacked bars: one per day, one colour per model.
fn spend_chart(a: &Advice) -> String {
    let models: Vec<String> = a.models.by_model.iter().map(|s| s.key.clone()).collect();
    let mut out = svg_open("Spend by model over time", HEIGHT + legend_height(&models));
    let plot_h = HEIGHT - TOP - BOTTOM;
    let max = a.daily.iter().map(|(_, by)| by.values().map(|d| f(*d)).sum::<f64>()).fold(0.0, f64::max).max(0.01);
    y_axis(&mut out, max, plot_h, |v| format!("${v:.2}"));
    let n = a.daily.len().max(1) as f64;
    let slot = (WIDTH - LEFT - 10.0) / n;
    for (i, (day, by)) in a.daily.iter().enumerate() {
        let x = LEFT + slot * i as f64 + slot * 0.15;
        let mut y = TOP + plot_h;
        for (model, cost) in by {
            let h = plot_h * f(*cost) / max;
            let color = COLORS[models.iter().position(|m| m == model).unwrap_or(0) % COLORS.len()];
            y -= h;
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}" fill="{color}"><title>{} {}: ${}</title></rect>"#,
                slot * 0.7,
                esc(day),
                esc(model),
                money::cents(*cost)
            );
        }
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#555">{}</text>"##,
            x + slot * 0.35,
            TOP + plot_h + 14.0,
            esc(day)
        );
    }
    legend(&mut out, &models, HEIGHT - 8.0);
    out.push_str("</svg>");
    out
}

/// One line per top session: prompt tokens by request number.
fn context_chart(a: &Advice) -> String {
    let sessions: Vec<_> = a.context.top.iter().take(COLORS.len()).collect();
    let names: Vec<String> = sessions.iter().map(|s| format!("{} ${}", s.project, money::cents(s.avoidable))).collect();
    let mut out = svg_open("Context growth of the top sessions", HEIGHT + legend_height(&names));
    let plot_h = HEIGHT - TOP - BOTTOM;
    let max = sessions.iter().map(|s| s.max_prompt_tokens).max().unwrap_or(0).max(1) as f64;
    let longest = sessions.iter().map(|s| s.points.len()).max().unwrap_or(1).max(2) as f64;
    y_axis(&mut out, max, plot_h, |v| format!("{:.0}k", v / 1000.0));
    let _ = write!(
        out,
        r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#555">request number in the session</text>"##,
        (WIDTH + LEFT) / 2.0,
        HEIGHT - 22.0
    );
    for (i, s) in sessions.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let points: Vec<String> = s
            .points
            .iter()
            .enumerate()
            .map(|(j, p)| {
                let x = LEFT + (WIDTH - LEFT - 10.0) * j as f64 / (longest - 1.0);
                let y = TOP + plot_h - plot_h * p.prompt_tokens as f64 / max;
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = write!(
            out,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"><title>{} ({}): ${} avoidable</title></polyline>"#,
            points.join(" "),
            esc(&s.session),
            esc(&s.project),
            money::cents(s.avoidable)
        );
    }
    legend(&mut out, &names, HEIGHT - 4.0);
    out.push_str("</svg>");
    out
}

/// Horizontal bars: cache-read share of prompt tokens per app.
fn cache_chart(a: &Advice) -> String {
    let rows: Vec<_> = std::iter::once(&a.cache.total).chain(a.cache.by_app.iter()).collect();
    let height = TOP + 30.0 * rows.len() as f64 + 30.0;
    let mut out = svg_open("Cache-read share of prompt tokens", height);
    let label_w = 200.0;
    let bar_w = WIDTH - label_w - 180.0;
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
