//! The bodies each receiver type expects, built from notifications. Pure.
//!
//! - `webhook`: the Alertmanager webhook shape (version "4"), so receivers
//!   written for Alertmanager accept it unchanged;
//! - `slack`: an incoming-webhook `{"text": ...}` with the figures;
//! - `pagerduty`: Events API v2 trigger/resolve, one dedup key per instance;
//! - `alertmanager`: the `POST /api/v2/alerts` array (postableAlerts).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::alert::{Alert, Notification, Status};

/// Alertmanager's "not resolved" end time in webhook bodies.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn labels(a: &Alert) -> Value {
    Value::Object(a.labels.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
}

fn annotations(a: &Alert) -> Value {
    let mut m = Map::new();
    m.insert("summary".into(), a.summary.clone().into());
    m.insert("description".into(), a.description.clone().into());
    m.insert("value".into(), a.value.clone().into());
    m.insert("threshold".into(), a.threshold.clone().into());
    Value::Object(m)
}

/// The Alertmanager webhook body for one notification.
pub fn webhook(receiver: &str, external_url: &str, n: &Notification) -> Value {
    let a = &n.alert;
    let ends_at = n.ends_at.map(time).unwrap_or_else(|| ZERO_TIME.to_string());
    json!({
        "version": "4",
        "groupKey": format!("{{}}:{{alertname=\"{}\"}}", a.name()),
        "truncatedAlerts": 0,
        "status": n.status.as_str(),
        "receiver": receiver,
        "groupLabels": { "alertname": a.name() },
        "commonLabels": labels(a),
        "commonAnnotations": annotations(a),
        "externalURL": external_url,
        "alerts": [{
            "status": n.status.as_str(),
            "labels": labels(a),
            "annotations": annotations(a),
            "startsAt": time(a.starts_at),
            "endsAt": ends_at,
            "generatorURL": external_url,
            "fingerprint": a.fingerprint(),
        }],
    })
}

/// The subject of an alert: `account=personal app=claude-code ...`.
fn subject(a: &Alert) -> String {
    ["account", "app", "model", "source"].iter().filter_map(|k| a.labels.get(*k).map(|v| format!("{k}={v}"))).collect::<Vec<_>>().join(" ")
}

/// One Slack message with the figures.
pub fn slack(n: &Notification) -> Value {
    let a = &n.alert;
    let head = match (n.status, n.repeat) {
        (Status::Resolved, _) => "RESOLVED",
        (Status::Firing, true) => "STILL FIRING",
        (Status::Firing, false) => "FIRING",
    };
    let text = format!(
        "[{head}] {} ({}) {}\n{}\n{}: {} (threshold {}) at {}",
        a.name(),
        a.severity.as_str(),
        subject(a),
        a.summary,
        if n.status == Status::Resolved { "was" } else { "now" },
        a.value,
        a.threshold,
        time(n.at),
    );
    json!({ "text": text })
}

/// PagerDuty's dedup key: one incident per alert and account (and app,
/// model or source where the alert has them).
pub fn pagerduty_dedup_key(a: &Alert) -> String {
    let mut key = format!("creditwatch:{}", a.name());
    for k in ["account", "app", "model", "source"] {
        if let Some(v) = a.labels.get(k) {
            key.push(':');
            key.push_str(v);
        }
    }
    // The API takes at most 255 characters.
    if key.len() > 255 {
        key = format!("creditwatch:{}:{}", a.name(), a.fingerprint());
    }
    key
}

/// An Events API v2 event: `trigger` with the figures, or `resolve`.
pub fn pagerduty(routing_key: &str, source: &str, external_url: &str, n: &Notification) -> Value {
    let a = &n.alert;
    let dedup_key = pagerduty_dedup_key(a);
    if n.status == Status::Resolved {
        return json!({ "routing_key": routing_key, "event_action": "resolve", "dedup_key": dedup_key });
    }
    let mut details = Map::new();
    details.insert("value".into(), a.value.clone().into());
    details.insert("threshold".into(), a.threshold.clone().into());
    details.insert("description".into(), a.description.clone().into());
    details.insert("firing_since".into(), time(a.starts_at).into());
    for (k, v) in &a.labels {
        details.insert(k.clone(), v.clone().into());
    }
    let summary: String = format!("{}: {} (threshold {})", a.summary, a.value, a.threshold).chars().take(1024).collect();
    json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "client": "creditwatch",
        "client_url": external_url,
        "payload": {
            "summary": summary,
            "source": source,
            "severity": a.severity.as_str(),
            "timestamp": time(n.at),
            "class": a.name(),
            "group": a.label("account"),
            "custom_details": details,
        },
    })
}

/// Alertmanager's `POST /api/v2/alerts` body. `ends_at` is in the future for
/// firing alerts (Alertmanager resolves them itself if we stop re-sending)
/// and now or past for resolved ones.
pub fn alertmanager(external_url: &str, alerts: &[(&Alert, DateTime<Utc>)]) -> Value {
    Value::Array(
        alerts
            .iter()
            .map(|(a, ends_at)| {
                json!({
                    "labels": labels(a),
                    "annotations": annotations(a),
                    "startsAt": time(a.starts_at),
                    "endsAt": time(*ends_at),
                    "generatorURL": external_url,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::alert::Severity;

    fn runaway() -> Alert {
        let labels = [
            ("account", "personal"),
            ("alertname", "AgentRunaway"),
            ("app", "claude-code"),
            ("model", "claude-opus-4-5"),
            ("severity", "critical"),
        ];
        Alert {
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            severity: Severity::Critical,
            summary: "claude-code (claude-opus-4-5) on personal is burning $18.40/h over 5m".into(),
            description: "d".into(),
            value: "$18.40/h".into(),
            threshold: "$15.00/h".into(),
            starts_at: DateTime::parse_from_rfc3339("2026-11-25T12:10:00Z").unwrap().with_timezone(&Utc),
        }
    }

    #[test]
    fn slack_text_has_the_figures() {
        let a = runaway();
        let n = Notification { status: Status::Resolved, at: a.starts_at, ends_at: Some(a.starts_at), repeat: false, alert: a };
        assert_eq!(
            slack(&n)["text"],
            "[RESOLVED] AgentRunaway (critical) account=personal app=claude-code model=claude-opus-4-5\n\
             claude-code (claude-opus-4-5) on personal is burning $18.40/h over 5m\n\
             was: $18.40/h (threshold $15.00/h) at 2026-11-25T12:10:00Z"
        );
    }

    #[test]
    fn dedup_key_is_per_instance_and_bounded() {
        let mut a = runaway();
        assert_eq!(pagerduty_dedup_key(&a), "creditwatch:AgentRunaway:personal:claude-code:claude-opus-4-5");
        a.labels.insert("model".into(), "m".repeat(300));
        let key = pagerduty_dedup_key(&a);
        assert_eq!(key, format!("creditwatch:AgentRunaway:{}", a.fingerprint()));
        assert_eq!(a.fingerprint().len(), 16);
    }
}
