//! The providers' alerts:
//! - ProviderDown: no successful poll for three intervals, or an expired
//!   login (the poller decides and says why, see `providers::status`);
//! - ExtraUsageLimitNear: the provider's extra-usage spend at or above the
//!   warning share (default 90%) of its monthly limit;
//! - SpendUnseenByLogs: spend the provider saw and the logs did not, above
//!   `unseen_spend_usd` for `unseen_spend_for` (a gap that closes within
//!   minutes is the logs catching up, not a leak).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::super::alert::{Alert, Labels, ProviderInput, Severity};
use super::{alert, dollars};

#[derive(Debug, Clone)]
pub(super) struct ProviderRules {
    pub(super) warning_percent: Decimal,
    pub(super) unseen_above: Decimal,
    pub(super) unseen_for: chrono::Duration,
}

/// `pending`: SpendUnseenByLogs instances above the threshold, since when.
pub(super) fn provider_alerts(
    r: &ProviderRules,
    providers: &[ProviderInput],
    now: DateTime<Utc>,
    firing: &dyn Fn(&Labels) -> bool,
    pending: &mut BTreeMap<Labels, DateTime<Utc>>,
    out: &mut Vec<Alert>,
) {
    let mut still_pending = BTreeMap::new();
    for p in providers {
        if let Some(why) = &p.down {
            let labels = [("account", p.account.as_str()), ("provider", p.provider.as_str())];
            let summary = format!("Provider {} gives creditwatch no figures: {why}", p.provider);
            out.push(alert("ProviderDown", Severity::Warning, &labels, summary, why.clone(), "a successful poll".into(), now));
        }
        let account = [("account", p.account.as_str())];
        if let (Some(spent), Some(limit)) = (p.extra_spent, p.extra_limit.filter(|l| *l > Decimal::ZERO)) {
            if spent * Decimal::ONE_HUNDRED >= limit * r.warning_percent {
                let summary = format!("Extra usage of {} is near its monthly limit: {} of {}", p.account, dollars(spent), dollars(limit));
                let threshold = format!("{}% of {}", r.warning_percent, dollars(limit));
                out.push(alert("ExtraUsageLimitNear", Severity::Warning, &account, summary, dollars(spent), threshold, now));
            }
        }
        if let Some(unseen) = p.unseen.filter(|u| *u > r.unseen_above) {
            let summary = format!("{} of {}'s spend at {} is not in any log creditwatch reads", dollars(unseen), p.account, p.provider);
            let a = alert("SpendUnseenByLogs", Severity::Warning, &account, summary, dollars(unseen), dollars(r.unseen_above), now);
            let since = pending.get(&a.labels).copied().unwrap_or(now);
            if firing(&a.labels) || now - since >= r.unseen_for {
                out.push(a);
            } else {
                still_pending.insert(a.labels, since);
            }
        }
    }
    *pending = still_pending;
}

#[cfg(test)]
mod tests {
    use super::super::super::{AlertEngine, AlertInputs, AlertingConfig, ProviderInput};
    use chrono::{DateTime, Utc};

    fn t(s: &str) -> DateTime<Utc> {
        format!("2026-12-03T{s}:00Z").parse().unwrap()
    }

    fn inputs(now: &str, down: Option<&str>, spent: &str, limit: Option<&str>, unseen: &str) -> AlertInputs {
        let p = ProviderInput {
            provider: "claude".into(),
            account: "personal".into(),
            down: down.map(String::from),
            extra_spent: Some(spent.parse().unwrap()),
            extra_limit: limit.map(|l| l.parse().unwrap()),
            unseen: Some(unseen.parse().unwrap()),
        };
        AlertInputs { now: t(now), accounts: vec![], burn: vec![], sources: vec![], plan_windows: vec![], providers: vec![p] }
    }

    #[test]
    fn provider_alerts_fire_and_resolve() {
        let config: AlertingConfig = serde_yaml_ng::from_str("{repeat_every: 1000h, unseen_spend_usd: '2'}").unwrap();
        let mut engine = AlertEngine::new(&config, chrono_tz::UTC);
        // (now, down, spent, limit, unseen, notifications)
        type Step<'a> = (&'a str, Option<&'a str>, &'a str, Option<&'a str>, &'a str, &'a [&'a str]);
        let steps: &[Step] = &[
            ("10:00", None, "44.99", Some("50"), "2", &[]),
            ("10:01", None, "45", Some("50"), "2.01", &["firing ExtraUsageLimitNear: Extra usage of personal is near its monthly limit: $45.00 of $50.00 ($45.00, threshold 90% of $50.00)"]),
            ("10:31", None, "45", None, "2.01", &[
                "firing SpendUnseenByLogs: $2.01 of personal's spend at claude is not in any log creditwatch reads ($2.01, threshold $2.00)",
                "resolved ExtraUsageLimitNear: Extra usage of personal is near its monthly limit: $45.00 of $50.00 ($45.00, threshold 90% of $50.00)",
            ]),
            ("10:32", Some("the Claude Code login expired"), "45", None, "0", &[
                "firing ProviderDown: Provider claude gives creditwatch no figures: the Claude Code login expired (the Claude Code login expired, threshold a successful poll)",
                "resolved SpendUnseenByLogs: $2.01 of personal's spend at claude is not in any log creditwatch reads ($2.01, threshold $2.00)",
            ]),
            ("10:33", None, "45", None, "3", &["resolved ProviderDown: Provider claude gives creditwatch no figures: the Claude Code login expired (the Claude Code login expired, threshold a successful poll)"]),
            ("11:02", None, "45", None, "3", &[]),
            ("11:03", None, "45", None, "3", &["firing SpendUnseenByLogs: $3.00 of personal's spend at claude is not in any log creditwatch reads ($3.00, threshold $2.00)"]),
        ];
        for (now, down, spent, limit, unseen, want) in steps {
            let got: Vec<String> = engine
                .evaluate(&inputs(now, *down, spent, *limit, unseen))
                .iter()
                .map(|n| {
                    format!(
                        "{} {}: {} ({}, threshold {})",
                        n.status.as_str(),
                        n.alert.name(),
                        n.alert.summary,
                        n.alert.value,
                        n.alert.threshold
                    )
                })
                .collect();
            assert_eq!(got, *want, "at {now}");
        }
    }
}
