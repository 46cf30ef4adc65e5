//! PlanWindowNearlyUsed and PlanWindowExhausted: a subscription's plan
//! window (five hours, seven days, ...) at or above the warning share, and
//! used up, so that usage now draws on extra usage until the window resets.
//! A window past its reset is not in the inputs: both resolve at the reset.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::super::alert::{Alert, PlanWindowInput, Severity};
use super::alert;

pub(super) fn plan_window_alerts(warning_percent: Decimal, windows: &[PlanWindowInput], now: DateTime<Utc>, out: &mut Vec<Alert>) {
    for w in windows.iter().filter(|w| w.resets_at > now) {
        let labels = [("account", w.account.as_str()), ("window", w.window.as_str())];
        let used = format!("{}%", w.used_percent.normalize());
        let resets = w.resets_at.format("%Y-%m-%d %H:%M UTC");
        if w.used_percent >= Decimal::ONE_HUNDRED {
            let summary = format!("Plan window {} of {} is used up: usage draws on extra usage until {resets}", w.window, w.account);
            out.push(alert("PlanWindowExhausted", Severity::Critical, &labels, summary, used, "100%".into(), now));
        } else if w.used_percent >= warning_percent {
            let summary = format!("Plan window {} of {} is {used} used; it resets at {resets}", w.window, w.account);
            out.push(alert("PlanWindowNearlyUsed", Severity::Warning, &labels, summary, used, format!("{warning_percent}%"), now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::{AlertEngine, AlertInputs, AlertingConfig, PlanWindowInput};
    use chrono::{DateTime, Utc};

    fn t(s: &str) -> DateTime<Utc> {
        format!("2026-12-01T{s}:00Z").parse().unwrap()
    }

    /// (window, used percent, resets at)
    type Windows<'a> = &'a [(&'a str, &'a str, &'a str)];

    fn inputs(now: &str, windows: &[(&str, &str, &str)]) -> AlertInputs {
        let plan_windows = windows
            .iter()
            .map(|(window, used, resets)| PlanWindowInput {
                account: "personal".into(),
                window: window.to_string(),
                used_percent: used.parse().unwrap(),
                resets_at: t(resets),
            })
            .collect();
        AlertInputs { now: t(now), accounts: vec![], burn: vec![], sources: vec![], plan_windows, providers: vec![] }
    }

    #[test]
    fn nearly_used_at_the_threshold_exhausted_at_100_both_resolve_at_the_reset() {
        let config: AlertingConfig = serde_yaml_ng::from_str("repeat_every: 1000h").unwrap();
        let mut engine = AlertEngine::new(&config, chrono_tz::UTC);
        let steps: &[(&str, Windows, &[&str])] = &[
            ("10:00", &[("five_hour", "89.9", "14:00"), ("seven_day", "20", "23:00")], &[]),
            (
                "10:30",
                &[("five_hour", "90", "14:00")],
                &["firing PlanWindowNearlyUsed five_hour: Plan window five_hour of personal is 90% used; it resets at 2026-12-01 14:00 UTC (90%, threshold 90%)"],
            ),
            (
                "12:00",
                &[("five_hour", "100", "14:00")],
                &[
                    "firing PlanWindowExhausted five_hour: Plan window five_hour of personal is used up: usage draws on extra usage until 2026-12-01 14:00 UTC (100%, threshold 100%)",
                    "resolved PlanWindowNearlyUsed five_hour: Plan window five_hour of personal is 90% used; it resets at 2026-12-01 14:00 UTC (90%, threshold 90%)",
                ],
            ),
            ("13:00", &[("five_hour", "104.5", "14:00")], &[]),
            (
                "14:00",
                &[("five_hour", "104.5", "14:00")],
                &["resolved PlanWindowExhausted five_hour: Plan window five_hour of personal is used up: usage draws on extra usage until 2026-12-01 14:00 UTC (104.5%, threshold 100%)"],
            ),
        ];
        for (now, windows, want) in steps {
            let got: Vec<String> = engine
                .evaluate(&inputs(now, windows))
                .iter()
                .map(|n| {
                    let a = &n.alert;
                    format!(
                        "{} {} {}: {} ({}, threshold {})",
                        n.status.as_str(),
                        a.name(),
                        a.label("window"),
                        a.summary,
                        a.value,
                        a.threshold
                    )
                })
                .collect();
            assert_eq!(got, *want, "at {now}");
        }
    }
}
