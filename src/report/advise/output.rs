//! Printing advice: text for people (dollars to the cent), JSON for
//! programs (exact decimal strings, and the sessions and requests behind
//! every finding).

use std::io::{self, Write};

use rust_decimal::Decimal;
use serde_json::{json, Value};

use super::apps::Spent;
use super::models::{Spend, WhatIf, WhatIfRow};
use super::Advice;
use crate::usage::money;

/// How many requests a finding lists in JSON before it says how many more.
const MAX_LISTED: usize = 1000;

fn usd(d: Decimal) -> String {
    format!("${}", money::cents(d))
}

/// `part / whole` as a share with 4 decimals ("0.4521"); 0 when whole is 0.
pub fn share(part: Decimal, whole: Decimal) -> Decimal {
    if whole.is_zero() {
        return Decimal::ZERO;
    }
    (part / whole).round_dp(4)
}

fn tokens_share(part: u64, whole: u64) -> Decimal {
    share(Decimal::from(part), Decimal::from(whole))
}

fn percent(d: Decimal) -> String {
    format!("{}%", (d * Decimal::ONE_HUNDRED).round_dp(1))
}

fn id_hex(id: crate::usage::EventId) -> String {
    format!("{:032x}", id.0)
}

fn spent_json(list: &[Spent]) -> Value {
    let items: Vec<Value> = list
        .iter()
        .take(MAX_LISTED)
        .map(|s| json!({"id": id_hex(s.id), "at": s.at.to_rfc3339(), "model": s.model, "cost_usd": money::format(s.cost)}))
        .collect();
    Value::Array(items)
}

fn row_json(r: &WhatIfRow) -> Value {
    json!({"key": r.key, "priced_on": r.on, "requests": r.requests, "cost_usd": money::format(r.actual),
        "what_if_usd": money::format(r.what_if), "saving_usd": money::format(r.actual - r.what_if)})
}

fn what_if_json(w: &WhatIf) -> Value {
    json!({
        "model": w.target,
        "requests": w.requests,
        "cost_usd": money::format(w.actual),
        "what_if_usd": money::format(w.what_if),
        "saving_usd": money::format(w.actual - w.what_if),
        "by_model": w.by_model.iter().map(row_json).collect::<Vec<_>>(),
        "by_app": w.by_app.iter().map(row_json).collect::<Vec<_>>(),
    })
}

fn spend_json(list: &[Spend], total: Decimal) -> Value {
    Value::Array(
        list.iter()
            .map(|s| json!({"key": s.key, "requests": s.requests, "cost_usd": money::format(s.cost), "share": money::format(share(s.cost, total))}))
            .collect(),
    )
}

/// One JSON object: the window, then one key per lever.
pub fn to_json(a: &Advice) -> Value {
    let c = &a.context;
    let context = json!({
        "sessions": c.sessions,
        "cost_usd": money::format(c.cost),
        "avoidable_usd": money::format(c.avoidable),
        "top_sessions": c.top.iter().map(|s| json!({
            "session": s.session, "project": s.project, "app": s.app,
            "requests": s.points.len(), "cost_usd": money::format(s.cost), "avoidable_usd": money::format(s.avoidable),
            "max_prompt_tokens": s.max_prompt_tokens,
            "requests_list": s.points.iter().map(|p| json!({
                "id": id_hex(p.id), "at": p.at.to_rfc3339(), "conversation": p.conversation, "model": p.model,
                "prompt_tokens": p.prompt_tokens, "baseline_tokens": p.baseline_tokens,
                "cost_usd": money::format(p.cost), "avoidable_usd": money::format(p.avoidable),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    let m = &a.models;
    let models = json!({
        "by_model": spend_json(&m.by_model, a.cost),
        "by_app": spend_json(&m.by_app, a.cost),
        "most_expensive": m.most_expensive.as_ref().map(|s| json!({"model": s.key, "requests": s.requests,
            "cost_usd": money::format(s.cost), "share": money::format(share(s.cost, a.cost))})),
        "tier_down": what_if_json(&m.tier_down),
        "what_if": m.what_if.as_ref().map(what_if_json),
        "what_if_error": m.what_if_error,
    });
    let k = &a.cache;
    let cache_use = |u: &super::CacheUse| {
        json!({"key": u.key, "requests": u.requests, "prompt_tokens": u.prompt_tokens, "cache_read_tokens": u.cache_read,
            "cache_write_tokens": u.cache_write, "cache_read_share": money::format(tokens_share(u.cache_read, u.prompt_tokens)),
            "saved_usd": money::format(u.saved)})
    };
    let cache = json!({
        "total": cache_use(&k.total),
        "by_app": k.by_app.iter().map(cache_use).collect::<Vec<_>>(),
        "unread_writes_usd": money::format(k.unread_premium),
        "unread_sessions": k.unread_sessions,
        "unread_top_sessions": k.unread.iter().map(|s| json!({
            "session": s.session, "project": s.project, "app": s.app, "write_tokens": s.write_tokens,
            "unread_tokens": s.unread_tokens, "premium_usd": money::format(s.premium), "never_read": s.never_read,
            "requests_list": s.requests.iter().take(MAX_LISTED).map(|w| json!({"id": id_hex(w.id), "at": w.at.to_rfc3339(),
                "unread_tokens": w.tokens, "premium_usd": money::format(w.premium)})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    let p = &a.apps;
    let apps = json!({
        "working_hours": p.working_hours,
        "outside_hours_usd": money::format(p.outside_hours),
        "unattended_usd": money::format(p.unattended),
        "apps": p.apps.iter().map(|x| json!({
            "app": x.app, "requests": x.requests, "cost_usd": money::format(x.cost), "users": x.users,
            "first_seen": x.first_seen.to_rfc3339(), "last_seen": x.last_seen.to_rfc3339(), "new": x.new,
            "outside_hours_usd": money::format(x.outside_hours), "outside_hours_requests": x.outside_requests.len(),
            "outside_hours_list": spent_json(&x.outside_requests),
            "unattended_usd": money::format(x.unattended), "unattended_requests": x.unattended_requests.len(),
            "unattended_list": spent_json(&x.unattended_requests),
        })).collect::<Vec<_>>(),
    });
    let limits: Vec<Value> = a
        .limits
        .iter()
        .map(|l| {
            json!({"account": l.account, "month": l.month, "requests": l.requests, "spend_usd": money::format(l.spend),
            "monthly_cap_usd": l.cap.map(money::format), "projected_usd": money::format(l.projected), "closed": l.closed,
            "projected_over_cap_usd": l.cap.map(|c| money::format((l.projected - c).max(Decimal::ZERO)))})
        })
        .collect();
    json!({
        "files": a.files, "lines": a.lines, "error_lines": a.error_lines,
        "requests": a.requests, "cost_usd": money::format(a.cost),
        "first": a.first.map(|t| t.to_rfc3339()), "last": a.last.map(|t| t.to_rfc3339()),
        "unpriced_models": a.unpriced_models,
        "context_growth": context, "model_mix": models, "caching": cache, "apps": apps, "limits": limits,
    })
}

pub fn print_json(a: &Advice, out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_json(a))?;
    writeln!(out)
}

fn what_if_text(w: &WhatIf, title: &str, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "  {title}: {} instead of {} (saves {})", usd(w.what_if), usd(w.actual), usd(w.actual - w.what_if))?;
    for r in w.by_model.iter().filter(|r| !r.on.is_empty()) {
        writeln!(out, "    {:<28} -> {:<28} {:>10} -> {:>10}", r.key, r.on, usd(r.actual), usd(r.what_if))?;
    }
    for r in &w.by_app {
        writeln!(out, "    app {:<24} {:>10} -> {:>10}", r.key, usd(r.actual), usd(r.what_if))?;
    }
    Ok(())
}

/// The findings for people, one section a lever.
pub fn print_text(a: &Advice, out: &mut impl Write) -> io::Result<()> {
    if a.requests == 0 {
        writeln!(out, "no requests found in {} files ({} lines read): nothing to advise on", a.files, a.lines)?;
        return Ok(());
    }
    let span = match (a.first, a.last) {
        (Some(f), Some(l)) => format!("{} to {}", f.format("%Y-%m-%d"), l.format("%Y-%m-%d")),
        _ => String::new(),
    };
    writeln!(out, "{} requests, {} spent, {span} ({} files)\n", a.requests, usd(a.cost), a.files)?;

    let c = &a.context;
    writeln!(
        out,
        "Context growth: {} of {} in {} sessions was history re-sent above a fresh start",
        usd(c.avoidable),
        usd(c.cost),
        c.sessions
    )?;
    for s in &c.top {
        writeln!(
            out,
            "  {:>9} avoidable of {:>9}  {} requests, prompt up to {} tokens  {} ({})",
            usd(s.avoidable),
            usd(s.cost),
            s.points.len(),
            s.max_prompt_tokens,
            s.session,
            s.project
        )?;
    }
    if let Some(top) = c.top.first() {
        writeln!(out, "  -> starting over in {} would have saved most: {}", top.project, usd(top.avoidable))?;
    }

    let m = &a.models;
    writeln!(out, "\nModel mix:")?;
    for s in &m.by_model {
        writeln!(out, "  {:<32} {:>10}  {:>6}  {} requests", s.key, usd(s.cost), percent(share(s.cost, a.cost)), s.requests)?;
    }
    if let Some(top) = &m.most_expensive {
        writeln!(out, "  {} of the spend is on the most expensive model, {}", percent(share(top.cost, a.cost)), top.key)?;
    }
    what_if_text(&m.tier_down, "one tier down", out)?;
    if let Some(w) = &m.what_if {
        what_if_text(w, &format!("all on {}", w.target.as_deref().unwrap_or("")), out)?;
    }
    if let Some(e) = &m.what_if_error {
        writeln!(out, "  --what-if: {e}")?;
    }

    let k = &a.cache;
    writeln!(
        out,
        "\nCaching: {} of prompt tokens read from the cache, which saved {}",
        percent(tokens_share(k.total.cache_read, k.total.prompt_tokens)),
        usd(k.total.saved)
    )?;
    for u in &k.by_app {
        writeln!(out, "  {:<32} {:>6} read  saved {}", u.key, percent(tokens_share(u.cache_read, u.prompt_tokens)), usd(u.saved))?;
    }
    writeln!(out, "  cache writes never read back: {} over plain input in {} sessions", usd(k.unread_premium), k.unread_sessions)?;
    for s in &k.unread {
        let never = if s.never_read { ", never read at all" } else { "" };
        writeln!(
            out,
            "    {:>9}  {} of {} written tokens unread  {} ({}){never}",
            usd(s.premium),
            s.unread_tokens,
            s.write_tokens,
            s.session,
            s.project
        )?;
    }

    let p = &a.apps;
    writeln!(out, "\nApps:")?;
    for x in &p.apps {
        let new = if x.new { format!(", new since {}", x.first_seen.format("%Y-%m-%d")) } else { String::new() };
        let hours = if p.working_hours { format!(", {} outside working hours", usd(x.outside_hours)) } else { String::new() };
        writeln!(out, "  {:<24} {:>10}{hours}, {} while its user was away{new}", x.app, usd(x.cost), usd(x.unattended))?;
    }
    if !p.working_hours {
        writeln!(out, "  (set alerting.working_hours to see spend outside working hours)")?;
    }

    writeln!(out, "\nLimits:")?;
    for l in &a.limits {
        let cap = match l.cap {
            Some(cap) => format!(" against a reload cap of {}", usd(cap)),
            None => " (no auto-reload cap)".to_string(),
        };
        let pace = if l.closed { "closed".to_string() } else { format!("projected {} by the month's end", usd(l.projected)) };
        writeln!(out, "  {} {}: {} spent{cap}, {pace}", l.account, l.month, usd(l.spend))?;
    }
    if !a.unpriced_models.is_empty() {
        writeln!(out, "\nno price for: {} (counted at $0)", a.unpriced_models.join(", "))?;
    }
    Ok(())
}
