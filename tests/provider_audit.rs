//! `creditwatch audit` against a local server replaying the providers'
//! documented answers: our cost per UTC day and model (read from the logs as
//! `report` reads them) beside the provider's, pages followed, exact money,
//! and a provider that cannot be read named in the error, exit 1, the key in
//! no output.

mod provider_api_support;

use std::path::Path;
use std::process::Command;

use chrono::{Duration, NaiveDate, Utc};
use provider_api_support::{cost_page, example, litellm_line, ApiServer, Reply};

const BIN: &str = env!("CARGO_BIN_EXE_creditwatch");
const KEY: &str = "sk-ant-admin01-secret-KEY-never-shown";

fn day(back: i64) -> NaiveDate {
    Utc::now().date_naive() - Duration::days(back)
}

fn write_config(dir: &Path, providers: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("key"), format!("{KEY}\n")).unwrap();
    let config = format!(
        r#"state_dir: "{d}/state"
accounts:
  - {{ name: team, opening_balance_usd: "1000" }}
sources:
  - {{ name: gw, format: litellm, paths: ["{d}/logs/*.jsonl"], account: team, app: gateway }}
providers:
{providers}"#,
        d = dir.display()
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, config).unwrap();
    path
}

fn audit(config: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).arg("audit").arg("--config").arg(config).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn logs(dir: &Path, lines: &[(&str, &str, &str, NaiveDate)]) {
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let text: String =
        lines.iter().map(|(id, model, cost, d)| litellm_line(id, model, cost, d.and_hms_opt(10, 0, 0).unwrap().and_utc())).collect();
    std::fs::write(dir.join("logs/spend.jsonl"), text).unwrap();
}

#[test]
fn audit_follows_every_page_and_compares_per_day_and_model_exactly() {
    let (d1, d2, d3) = (day(3), day(2), day(1));
    let (p1, p2, p3) = (
        cost_page(&[(&d1.to_string(), &[("claude-opus-4-6", "83391.52823"), ("claude-haiku-4-5", "12.5")])], Some("page_Mj==")),
        cost_page(&[(&d2.to_string(), &[])], Some("page_Mw==")),
        cost_page(&[(&d3.to_string(), &[("claude-opus-4-6", "100")])], None),
    );
    let server = ApiServer::start(move |target| {
        let body = if target.contains("page=page_Mj%3D%3D") {
            &p2
        } else if target.contains("page=page_Mw%3D%3D") {
            &p3
        } else {
            &p1
        };
        Reply::json(body)
    });
    let dir = tempfile::tempdir().unwrap();
    logs(
        dir.path(),
        &[
            ("a", "claude-opus-4-6-20260205", "800", d1),
            ("b", "anthropic/claude-haiku-4.5", "0.2", d1),
            ("c", "claude-haiku-4-5", "0.1", d2),
            ("d", "claude-opus-4-6", "1", d3),
            // Today is not closed: not compared.
            ("e", "claude-opus-4-6", "5", day(0)),
        ],
    );
    let providers = format!(
        "  - {{ name: anthropic, kind: anthropic_admin, account: team, key_file: \"{}/key\", url: \"{}\" }}\n",
        dir.path().display(),
        server.url()
    );
    let config = write_config(dir.path(), &providers);
    let (code, out, err) = audit(&config, &["--since", &d1.to_string(), "--json"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let p = &doc["providers"][0];
    let rows: Vec<(String, String, String, String, String, String)> = p["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("null").to_string();
            (s("day"), s("model"), s("ours_usd"), s("theirs_usd"), s("difference_usd"), s("share"))
        })
        .collect();
    let row = |d: NaiveDate, m: &str, o: &str, t: &str, diff: &str, share: &str| {
        (d.to_string(), m.to_string(), o.to_string(), t.to_string(), diff.to_string(), share.to_string())
    };
    assert_eq!(
        rows,
        [
            // $833.9152823 from "83391.52823" cents, exactly; largest gap first.
            row(d1, "claude-opus-4-6", "800", "833.9152823", "33.9152823", "0.0407"),
            row(d2, "claude-haiku-4-5", "0.1", "0", "-0.1", "null"),
            row(d1, "claude-haiku-4-5", "0.2", "0.125", "-0.075", "-0.6"),
            row(d3, "claude-opus-4-6", "1", "1", "0", "0"),
        ]
    );
    assert_eq!(p["totals"]["ours_usd"], "801.3");
    assert_eq!(p["totals"]["theirs_usd"], "835.0402823");
    assert_eq!(p["totals"]["difference_usd"], "33.7402823");
    assert_eq!((p["first_day"].as_str(), p["last_day"].as_str()), (Some(d1.to_string().as_str()), Some(d3.to_string().as_str())));

    // Three pages; each later one repeats the first one's parameters and adds the cursor.
    let targets = server.targets();
    assert_eq!(targets.len(), 3, "{targets:?}");
    assert!(targets[0].starts_with("/v1/organizations/cost_report?starting_at="), "{}", targets[0]);
    assert!(targets[0].contains("group_by%5B%5D=description") && !targets[0].contains("page="), "{}", targets[0]);
    assert_eq!(targets[1], format!("{}&page=page_Mj%3D%3D", targets[0]));
    assert_eq!(targets[2], format!("{}&page=page_Mw%3D%3D", targets[0]));
    for head in server.requests() {
        assert!(head.contains(&format!("x-api-key: {KEY}")), "{head}");
        assert!(head.contains("anthropic-version: 2023-06-01"), "{head}");
        assert!(!head.to_ascii_lowercase().contains("authorization"), "{head}");
    }
    assert!(!out.contains(KEY) && !err.contains(KEY));

    // The table for people: the same figures, rounded to 4 places.
    let (code, table, _) = audit(&config, &["--since", &d1.to_string()]);
    assert_eq!(code, 0);
    let line = table.lines().find(|l| l.contains("833.9153")).unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(line, format!("{d1} claude-opus-4-6 800.0000 833.9153 33.9153 4.07%"));
    let total = table.lines().find(|l| l.trim_start().starts_with("total")).unwrap().split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(total, "total 801.3000 835.0403 33.7403 4.04%");

    // `providers check` sums what the report says.
    let out = Command::new(BIN).args(["providers", "check", "--config"]).arg(&config).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("  daily spend  $835.0402823 over 3 closed days ({d1} to {d3}); per day and model: creditwatch audit")),
        "{text}"
    );
    assert!(!text.contains(KEY));
}

#[test]
fn a_provider_that_cannot_be_read_is_named_and_the_audit_exits_1() {
    let server = ApiServer::start(|_| Reply::json("{}"));
    let dir = tempfile::tempdir().unwrap();
    logs(dir.path(), &[]);
    let providers = format!(
        "  - {{ name: router, kind: openrouter, account: team, key_file: \"{}/key\", url: \"{}\" }}\n",
        dir.path().display(),
        server.url()
    );
    let config = write_config(dir.path(), &providers);
    let credits = example("openrouter/credits.docs-example.json");
    let cut = credits[..credits.len() / 2].to_string();
    let cases: Vec<(Reply, &str)> = vec![
        (
            Reply::status(
                403,
                &["Content-Type: application/json"],
                r#"{"error":{"code":403,"message":"Only management keys can perform this operation"}}"#,
            ),
            "answered 403: the token or key is not accepted: OpenRouter's /api/v1/credits needs a management key",
        ),
        (Reply::status(401, &[], r#"{"error":{"code":401,"message":"No auth credentials found"}}"#), "answered 401"),
        (Reply::status(429, &["Retry-After: 30"], "{}"), "answered 429: throttled"),
        (Reply::status(503, &[], "upstream down"), "answered 503: a server error"),
        (Reply::json(&cut), "truncated answer: it ends after"),
        (
            Reply::status(200, &["Content-Type: text/html"], "<html><body>Sign in</body></html>"),
            "not JSON: expected value at line 1 column 1",
        ),
        (Reply::json(r#"{"data":{"total_credits":"a lot","total_usage":1}}"#), "data.total_credits: `a lot` is not a decimal amount"),
    ];
    for (reply, want) in cases {
        server.set(move |_| reply.clone());
        let (code, out, err) = audit(&config, &[]);
        assert_eq!(code, 1, "{want}: stdout {out} stderr {err}");
        assert!(
            err.contains("provider `router` (openrouter, account team) cannot be read") && err.contains(want),
            "want {want:?} in:\n{err}"
        );
        assert!(err.contains("1 of 1 providers could not be read: router"), "{err}");
        assert!(!out.contains(KEY) && !err.contains(KEY), "the key leaked:\n{out}\n{err}");
    }
    // Read as documented: the balance, bought minus spent.
    server.set(move |_| Reply::json(&credits));
    let (code, out, err) = audit(&config, &["--json"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["providers"][0]["balances"], serde_json::json!([{ "currency": "USD", "amount": "74.75" }]));
    assert!(server.requests().iter().all(|h| h.starts_with("GET /api/v1/credits ") && h.contains(&format!("authorization: Bearer {KEY}"))));
}

#[test]
fn a_balance_in_yuan_stays_in_yuan() {
    let balance = example("deepseek/user_balance.docs-example.json");
    let server = ApiServer::start(move |_| Reply::json(&balance));
    let dir = tempfile::tempdir().unwrap();
    logs(dir.path(), &[]);
    let providers = format!(
        "  - {{ name: ds, kind: deepseek, account: team, key_file: \"{}/key\", url: \"{}\" }}\n",
        dir.path().display(),
        server.url()
    );
    let config = write_config(dir.path(), &providers);
    let (code, out, err) = audit(&config, &["--json"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["providers"][0]["balances"], serde_json::json!([{ "currency": "CNY", "amount": "110" }]));
    let (_, table, _) = audit(&config, &[]);
    assert!(table.contains("balance: 110 CNY"), "{table}");
    assert_eq!(server.targets(), ["/user/balance", "/user/balance"]);
}
