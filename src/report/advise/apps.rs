//! Idle and unexpected apps: connected apps that burn credits unseen.
//!
//! - Unattended spend: a request of an app with no session of its own (a
//!   proxy, a connected service) at a time its person had no interactive
//!   request (one that names its session: an agent at a terminal) in the hour
//!   before. The person is the line's `user`, else the account.
//! - Outside working hours: spend at times `alerting.working_hours` excludes.
//! - New apps: first seen inside the window (with `--since`), or after the
//!   first day of the history read.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::{Names, Record, Settings};
use crate::usage::EventId;

/// How long an interactive request shows its person at work.
const PRESENT_FOR: i64 = 60 * 60;

#[derive(Debug, Clone, PartialEq)]
pub struct Spent {
    pub id: EventId,
    pub at: DateTime<Utc>,
    pub model: String,
    pub cost: Decimal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AppUse {
    pub app: String,
    pub requests: u64,
    pub cost: Decimal,
    /// Over everything read, not just the window.
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub users: Vec<String>,
    pub new: bool,
    pub outside_hours: Decimal,
    pub outside_requests: Vec<Spent>,
    pub unattended: Decimal,
    pub unattended_requests: Vec<Spent>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppFindings {
    pub working_hours: bool,
    pub outside_hours: Decimal,
    pub unattended: Decimal,
    /// Most spend first.
    pub apps: Vec<AppUse>,
}

fn person(r: &Record, names: &Names) -> String {
    match names.get(r.user) {
        "" => format!("account {}", names.get(r.account)),
        user => user.to_string(),
    }
}

pub fn analyze(all: &[Record], window: &[&Record], names: &Names, settings: &Settings) -> AppFindings {
    let mut present: HashMap<String, Vec<i64>> = HashMap::new();
    let mut first_seen: HashMap<u32, DateTime<Utc>> = HashMap::new();
    for r in all {
        if r.has_session {
            present.entry(person(r, names)).or_default().push(r.at.timestamp());
        }
        first_seen.entry(r.app).and_modify(|t| *t = (*t).min(r.at)).or_insert(r.at);
    }
    for times in present.values_mut() {
        times.sort_unstable();
    }
    let history_start = all.iter().map(|r| r.at.with_timezone(&settings.tz).date_naive()).min();
    let away = |r: &Record| {
        let at = r.at.timestamp();
        let times = present.get(&person(r, names)).map(Vec::as_slice).unwrap_or(&[]);
        // The latest interactive request at or before `at`.
        let i = times.partition_point(|t| *t <= at);
        i == 0 || at - times[i - 1] > PRESENT_FOR
    };
    let mut apps: BTreeMap<u32, AppUse> = BTreeMap::new();
    let mut users: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
    for r in window {
        let first = first_seen.get(&r.app).copied().unwrap_or(r.at);
        let a = apps.entry(r.app).or_insert_with(|| {
            let first_day = first.with_timezone(&settings.tz).date_naive();
            let new = match settings.since {
                Some(since) => first_day >= since,
                None => history_start.is_some_and(|start| first_day > start),
            };
            AppUse {
                app: names.get(r.app).to_string(),
                requests: 0,
                cost: Decimal::ZERO,
                first_seen: first,
                last_seen: r.at,
                users: Vec::new(),
                new,
                outside_hours: Decimal::ZERO,
                outside_requests: Vec::new(),
                unattended: Decimal::ZERO,
                unattended_requests: Vec::new(),
            }
        });
        a.requests += 1;
        a.cost += r.cost;
        a.last_seen = a.last_seen.max(r.at);
        users.entry(r.app).or_default().insert(person(r, names));
        let spent = || Spent { id: r.id, at: r.at, model: names.get(r.model).to_string(), cost: r.cost };
        if settings.working_hours.as_ref().is_some_and(|w| !w.contains(r.at, settings.tz)) {
            a.outside_hours += r.cost;
            a.outside_requests.push(spent());
        }
        if !r.has_session && away(r) {
            a.unattended += r.cost;
            a.unattended_requests.push(spent());
        }
    }
    let mut apps: Vec<AppUse> = apps
        .into_iter()
        .map(|(n, mut a)| {
            a.users = users.remove(&n).unwrap_or_default().into_iter().collect();
            a
        })
        .collect();
    apps.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.app.cmp(&b.app)));
    AppFindings {
        working_hours: settings.working_hours.is_some(),
        outside_hours: apps.iter().map(|a| a.outside_hours).sum(),
        unattended: apps.iter().map(|a| a.unattended).sum(),
        apps,
    }
}
