//! The page a person opens at `GET /`: a view over the `Summary` that
//! `GET /api/v1/summary` returns, rendered on the server.
//!
//! Readable without JavaScript; one small script refreshes the `#live`
//! part in place every 30 s (fetch `?fragment=1`, replace, keep the scroll),
//! never a full reload. Light and dark follow `prefers-color-scheme`; at
//! 400 px wide nothing scrolls sideways (tables wrap, the chart is drawn a
//! second time at phone width). Each figure carries its exact value in a
//! `data-` attribute, so a test (or a script) reads what the page shows.

use std::fmt::Write as _;

use rust_decimal::Decimal;

use super::summary::{AccountSummary, Daily, DayRow, Row, SourceSummary, Summary};
use crate::charts::{self, escape as esc};
use crate::usage::money;

/// How the chart stacks a day: by app (default) or by model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackBy {
    App,
    Model,
}

impl StackBy {
    pub fn from_query(query: Option<&str>) -> StackBy {
        let model = query.is_some_and(|q| q.split('&').any(|p| p == "by=model"));
        if model {
            StackBy::Model
        } else {
            StackBy::App
        }
    }
}

const STYLE: &str = r##"
:root{--bg:#fff;--fg:#1d1d1f;--muted:#5f6368;--line:#e3e3e3;--card:#f6f7f9;--neg:#c5221f;--warn:#b06000;--ok:#137333;--link:#1a5fb4;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#16181c;--fg:#e8eaed;--muted:#9aa0a6;--line:#34373c;--card:#202327;--neg:#f28b82;--warn:#fdd663;--ok:#81c995;--link:#8ab4f8}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
header,main,footer{max-width:1100px;margin:0 auto;padding:0 16px}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 16px;padding-top:12px}
h1{font-size:1.3em;margin:0}h2{font-size:1.15em;margin:1.4em 0 .5em}h3{font-size:1em;margin:.2em 0 .4em}
a{color:var(--link)}.muted{color:var(--muted)}.neg{color:var(--neg)}.warn{color:var(--warn)}.ok{color:var(--ok)}
.accounts,.tables{display:grid;align-items:start;grid-template-columns:repeat(auto-fit,minmax(min(100%,320px),1fr));gap:12px}
.card{background:var(--card);border-radius:8px;padding:12px 14px;min-width:0}
.balance{font-size:2em;font-weight:600;margin:0}
dl{display:grid;grid-template-columns:auto 1fr;gap:2px 12px;margin:.6em 0 0}dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%}td,th{padding:3px 6px;text-align:left;border-bottom:1px solid var(--line);overflow-wrap:anywhere}
th{color:var(--muted);font-weight:500}td.n,th.n{text-align:right;white-space:nowrap}
.sources{overflow-x:auto}
meter{width:100%;height:10px}
.chart{width:100%;height:auto;display:block}.chart text{fill:var(--fg)}
.chart [stroke="#DDDDDD"]{stroke:var(--line)}.chart [stroke="#888888"]{stroke:var(--muted)}
.narrow{display:none}@media (max-width:600px){.wide{display:none}.narrow{display:block}.balance{font-size:1.6em}}
.tabs a{margin-right:12px}.tabs a[aria-current]{font-weight:600;text-decoration:none;color:var(--fg)}
footer{margin-top:2em;padding-bottom:2em;border-top:1px solid var(--line)}footer ul{padding-left:1.2em}
"##;

/// The refresh: the same page's `#live` part, every 30 s, in place.
const SCRIPT: &str = r#"(function(){var live=document.getElementById('live');setInterval(function(){
var u=new URL(location.href);u.searchParams.set('fragment','1');
fetch(u,{credentials:'same-origin',cache:'no-store'}).then(function(r){return r.ok?r.text():null}).then(function(t){if(t!==null){live.innerHTML=t;}}).catch(function(){});
},30000);})();"#;

fn usd(d: Decimal) -> String {
    let cents = money::cents(d);
    match cents.strip_prefix('-') {
        Some(abs) => format!("-${abs}"),
        None => format!("${cents}"),
    }
}

/// A figure with its exact value: `<span data-figure=... data-usd=...>`.
fn figure(name: &str, d: Decimal) -> String {
    let class = if d < Decimal::ZERO { " class=\"neg\"" } else { "" };
    format!("<span data-figure=\"{name}\" data-usd=\"{}\"{class}>{}</span>", money::format(d), usd(d))
}

/// `3 d 4 h`, `5 h 10 min`, `12 min`.
pub fn duration(seconds: u64) -> String {
    let (d, h, m) = (seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60);
    match (d, h) {
        (0, 0) => format!("{} min", m.max(if seconds > 0 { 1 } else { 0 })),
        (0, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    }
}

fn ago(at: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> String {
    let secs = (now - at).num_seconds().max(0) as u64;
    if secs < 60 {
        "just now".into()
    } else {
        format!("{} ago", duration(secs))
    }
}

fn account(out: &mut String, a: &AccountSummary, s: &Summary) {
    let _ = write!(out, "<section class=\"card\" data-account=\"{}\"><h3>{}</h3>", esc(&a.name), esc(&a.name));
    let _ = write!(out, "<p class=\"balance\">{}</p><p class=\"muted\">balance", figure("balance", a.balance_usd));
    if a.balance_usd < Decimal::ZERO {
        out.push_str(": negative, the next credit repays it");
    }
    out.push_str("</p><dl>");
    let runway = match a.runway_seconds {
        Some(secs) => format!("<span data-figure=\"runway\" data-seconds=\"{secs}\">{}</span>", duration(secs)),
        None => "<span data-figure=\"runway\" data-seconds=\"\">not burning</span>".into(),
    };
    let _ = write!(out, "<dt>runway</dt><dd>{runway}</dd>");
    let _ = write!(
        out,
        "<dt>burn</dt><dd><span data-figure=\"burn_5m\">${}</span>/h over 5 min, <span data-figure=\"burn_1h\">${}</span>/h over 1 h</dd>",
        a.burn_usd_per_hour_5m, a.burn_usd_per_hour_1h
    );
    let _ = write!(out, "<dt>this month</dt><dd>{} spent</dd>", figure("spend_this_month", a.spend_this_month_usd));
    let reloads = match a.reload_cap_usd {
        Some(cap) => format!(
            "{} reloads, {} of the {} cap",
            a.reloads_this_month,
            figure("reload_this_month", a.reload_usd_this_month),
            figure("reload_cap", cap)
        ),
        None => format!("{} reloads, {}", a.reloads_this_month, figure("reload_this_month", a.reload_usd_this_month)),
    };
    let _ = write!(out, "<dt>reloads</dt><dd>{reloads}</dd>");
    let auto = match &a.auto_reload {
        Some(r) => {
            let what = match (r.amount_usd, r.target_usd) {
                (Some(amount), _) => format!("add {}", usd(amount)),
                (None, Some(target)) => format!("reload to {}", usd(target)),
                (None, None) => "reload".into(),
            };
            let capped = if r.cap_reached_this_month { " <span class=\"warn\">(cap reached this month)</span>" } else { "" };
            format!("at {} or less, {what}; up to {} a month{capped}", usd(r.threshold_usd), usd(r.monthly_cap_usd))
        }
        None => "off".into(),
    };
    let _ = write!(out, "<dt>auto-reload</dt><dd>{auto}</dd>");
    for w in &a.plan_windows {
        let pct = w.used_percent.min(Decimal::ONE_HUNDRED).max(Decimal::ZERO);
        let _ = write!(
            out,
            "<dt>{}</dt><dd>{}% used, resets {} UTC ({})<br><meter min=\"0\" max=\"100\" low=\"75\" high=\"90\" optimum=\"0\" value=\"{}\"></meter></dd>",
            esc(&w.name.replace('_', " ")),
            money::format(w.used_percent),
            w.resets_at.format("%a %d %b %H:%M"),
            duration((w.resets_at - s.as_of).num_seconds().max(0) as u64),
            pct
        );
    }
    if let Some(p) = &a.provider {
        let limit = match p.extra_usage_limit_usd {
            Some(limit) => format!(" of the {} limit", figure("provider_limit", limit)),
            None => String::new(),
        };
        let mut says = format!("{} extra usage this period{limit}", figure("provider_spent", p.extra_usage_spent_usd));
        if let Some(balance) = p.balance_usd {
            let _ = write!(says, ", balance {}", figure("provider_balance", balance));
        }
        let class = if p.unseen_usd > Decimal::ZERO { "warn" } else { "ok" };
        let _ = write!(
            says,
            "<br><span class=\"{class}\">{} the logs did not show</span> <span class=\"muted\">(as of {})</span>",
            figure("unseen", p.unseen_usd),
            ago(p.observed_at, s.as_of)
        );
        let _ = write!(out, "<dt>{} says</dt><dd>{says}</dd>", esc(&p.provider));
    }
    for r in &a.provider_reports {
        let mut says = Vec::new();
        if let Some(spent) = r.spend_this_month_usd {
            says.push(format!("{} spent this month", figure("provider_month", spent)));
        }
        for b in &r.balances {
            says.push(match b.currency.as_str() {
                "USD" => format!("balance {}", figure("provider_balance", b.amount)),
                other => format!("balance {} {}", money::format(b.amount), esc(other)),
            });
        }
        let mut says = says.join(", ");
        if let Some(unseen) = r.unseen_usd {
            let class = if unseen > Decimal::ZERO { "warn" } else { "ok" };
            let _ = write!(says, "<br><span class=\"{class}\">{} the logs did not show</span>", figure("unseen", unseen));
        }
        let _ = write!(says, " <span class=\"muted\">(as of {})</span>", ago(r.observed_at, s.as_of));
        let _ = write!(out, "<dt>{} says</dt><dd>{says}</dd>", esc(&r.provider));
    }
    let alerts = if a.alerts_firing.is_empty() {
        "<span class=\"ok\">none firing</span>".to_string()
    } else {
        a.alerts_firing.iter().map(|n| format!("<span class=\"neg\" data-alert=\"{0}\">{0}</span>", esc(n))).collect::<Vec<_>>().join(", ")
    };
    let _ = write!(out, "<dt>alerts</dt><dd>{alerts}</dd></dl></section>");
}

fn table(out: &mut String, title: &str, what: &str, rows: &[Row]) {
    let _ = write!(out, "<section class=\"card\" data-table=\"{what}\"><h3>{title}</h3>");
    if rows.is_empty() {
        out.push_str("<p class=\"muted\">nothing booked yet</p></section>");
        return;
    }
    out.push_str("<table>");
    for r in rows {
        let key = match r.others {
            Some(n) => format!("<span class=\"muted\">other ({n} more)</span>"),
            None => esc(&r.key),
        };
        let _ = write!(out, "<tr><td>{key}</td><td class=\"n\" data-usd=\"{}\">{}</td></tr>", money::format(r.cost_usd), usd(r.cost_usd));
    }
    out.push_str("</table></section>");
}

fn chart(out: &mut String, daily: &Daily, by: StackBy) {
    let rows: &[DayRow] = match by {
        StackBy::App => &daily.by_app,
        StackBy::Model => &daily.by_model,
    };
    let points: Vec<charts::DayAmount> =
        rows.iter().map(|r| charts::DayAmount { day: r.day, series: r.key.clone(), amount: r.cost_usd }).collect();
    let total: Decimal = rows.iter().map(|r| r.cost_usd).sum();
    let current = |b: StackBy| if b == by { " aria-current=\"page\"" } else { "" };
    let _ = write!(
        out,
        "<h2>Last 30 days: {} </h2><p class=\"tabs\">stacked <a href=\"?by=app\"{}>by app</a><a href=\"?by=model\"{}>by model</a></p>",
        usd(total),
        current(StackBy::App),
        current(StackBy::Model)
    );
    if total.is_zero() {
        out.push_str("<p class=\"muted\">No spend booked in these 30 days.</p>");
    }
    let title = format!("Daily spend, {} to {}", daily.from, daily.to);
    for (class, width) in [("wide", 1000), ("narrow", 380)] {
        let svg = charts::stacked_days(&charts::StackedDays { title: &title, from: daily.from, to: daily.to, points: &points, width });
        let _ = write!(out, "<div class=\"{class}\" data-chart=\"{class}\">{svg}</div>");
    }
}

fn sources(out: &mut String, list: &[SourceSummary], now: chrono::DateTime<chrono::Utc>) {
    out.push_str("<h2>Sources</h2><div class=\"sources\"><table><tr><th>source</th><th>last event</th><th class=\"n\">booked</th><th class=\"n\">errors</th></tr>");
    for s in list {
        let last = match s.last_event {
            Some(at) => format!("<span title=\"{}\">{}</span>", at.to_rfc3339(), ago(at, now)),
            None => "<span class=\"muted\">none yet</span>".into(),
        };
        let errors = if s.errors > 0 { format!("<span class=\"neg\">{}</span>", s.errors) } else { "0".into() };
        let _ = write!(
            out,
            "<tr data-source=\"{}\"><td>{}<br><span class=\"muted\">{}, {} file{}</span></td><td>{last}</td><td class=\"n\">{}</td><td class=\"n\">{errors}</td></tr>",
            esc(&s.name),
            esc(&s.name),
            s.format,
            s.files,
            if s.files == 1 { "" } else { "s" },
            s.booked
        );
    }
    out.push_str("</table></div>");
}

/// The part the script refreshes.
pub fn fragment(s: &Summary, by: StackBy) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let _ = write!(
        out,
        "<p class=\"muted\" id=\"as-of\" data-as-of=\"{}\">as of {} UTC</p>",
        s.as_of.to_rfc3339(),
        s.as_of.format("%Y-%m-%d %H:%M:%S")
    );
    out.push_str("<h2>Accounts</h2><div class=\"accounts\">");
    for a in &s.accounts {
        account(&mut out, a, s);
    }
    if s.accounts.is_empty() {
        out.push_str("<p class=\"muted\">No accounts configured.</p>");
    }
    out.push_str(
        "</div><h2>Where the money goes</h2><p class=\"muted\">All spend booked since the ledger began.</p><div class=\"tables\">",
    );
    table(&mut out, "By app", "app", &s.spend.by_app);
    table(&mut out, "By model", "model", &s.spend.by_model);
    table(&mut out, "By person", "user", &s.spend.by_user);
    out.push_str("</div>");
    chart(&mut out, &s.daily, by);
    sources(&mut out, &s.sources, s.as_of);
    out
}

/// The whole page.
pub fn page(s: &Summary, by: StackBy) -> String {
    let mut out = String::with_capacity(48 * 1024);
    out.push_str("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">");
    let _ = write!(out, "<title>creditwatch</title><style>{STYLE}</style></head><body>");
    out.push_str(
        "<header><h1>creditwatch</h1><span class=\"muted\">what your AI agents cost, and how long your credits last</span></header>",
    );
    let _ = write!(out, "<main id=\"live\">{}</main>", fragment(s, by));
    let _ = write!(
        out,
        "<footer><ul><li><a href=\"/api/v1/summary\">/api/v1/summary</a>: these figures as JSON</li>\
         <li><a href=\"/metrics\">/metrics</a>: Prometheus metrics</li>\
         <li><a href=\"/api/v1/accounts\">/api/v1/accounts</a>: balances and month figures (JSON)</li>\
         <li><a href=\"/healthz\">/healthz</a>: liveness</li>\
         <li><a href=\"/readyz\">/readyz</a>: readiness (sources scanned, ledger open)</li></ul>\
         <p class=\"muted\">creditwatch {} ({})</p></footer><script>{SCRIPT}</script></body></html>",
        crate::common::build_info::VERSION,
        crate::common::build_info::REVISION
    );
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_dollars_read_as_people_say_them() {
        assert_eq!(duration(0), "0 min");
        assert_eq!(duration(30), "1 min");
        assert_eq!(duration(3 * 3600 + 20 * 60), "3 h 20 min");
        assert_eq!(duration(2 * 86_400 + 5 * 3600 + 59), "2 d 5 h");
        assert_eq!(usd("-3.205".parse().unwrap()), "-$3.21");
        assert_eq!(usd("12".parse().unwrap()), "$12.00");
        assert_eq!(
            figure("balance", "-0.5".parse().unwrap()),
            "<span data-figure=\"balance\" data-usd=\"-0.5\" class=\"neg\">-$0.50</span>"
        );
        assert_eq!(StackBy::from_query(Some("fragment=1&by=model")), StackBy::Model);
        assert_eq!(StackBy::from_query(None), StackBy::App);
    }
}
