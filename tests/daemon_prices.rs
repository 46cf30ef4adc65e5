//! The daemon downloads the price list at start, caches it in the state
//! directory, and books a model only the list knows at the list's price.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{append, wait_for, Daemon};

const LIST: &str = r#"{"acme-new-model": {"input_cost_per_token": 1.5e-06, "output_cost_per_token": 6e-06}}"#;

/// Serves `LIST` to every request on a loopback port, from a thread.
fn price_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let reply = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{LIST}", LIST.len());
            let _ = conn.write_all(reply.as_bytes());
        }
    });
    port
}

#[test]
fn a_downloaded_price_prices_what_the_daemon_books() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("gw");
    std::fs::create_dir(&logs).unwrap();
    let log = logs.join("requests.jsonl");
    append(&log, "");
    let config = format!(
        r#"listen: "127.0.0.1:{{port}}"
state_dir: "{{dir}}/state"
accounts:
  - {{ name: team, opening_balance_usd: "100", opening_balance_as_of: "2026-11-01T00:00:00Z" }}
sources:
  - name: gw
    format: jsonl
    field_map: {{ id: /id, model: /m, input_tokens: /in, output_tokens: /out, timestamp: /ts }}
    paths: ["{{dir}}/gw/*.jsonl"]
    account: team
    app: gateway
pricing: {{ url: "http://127.0.0.1:{}/prices.json" }}
"#,
        price_server()
    );
    let d = Daemon::start(dir.path(), &config);
    // The list is cached, then its arrival is signalled and logged.
    wait_for("the price list download", Duration::from_secs(20), || d.log().contains("price list refreshed"));
    assert_eq!(std::fs::read_to_string(dir.path().join("state/prices-cache.json")).unwrap(), LIST);

    // 1M input at $1.50/M + 1M output at $6/M, a model no built-in price knows.
    append(&log, "{\"id\":\"r1\",\"m\":\"acme-new-model\",\"in\":1000000,\"out\":1000000,\"ts\":\"2026-11-20T10:00:00Z\"}\n");
    d.wait_metric(r#"creditwatch_spend_usd_total{account="team",app="gateway",model="acme-new-model"}"#, "7.5");
    d.wait_metric(r#"creditwatch_balance_usd{account="team"}"#, "92.5");
    let unpriced = r#"creditwatch_unpriced_requests_total{account="team",app="gateway",model="acme-new-model"}"#;
    assert_eq!(common::metric(&d.scrape(), unpriced).as_deref(), Some("0"));
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
}

/// `creditwatch_model_unpriced` holds while the model has no price, however
/// long ago it was used, and goes when a reloaded config prices it; the
/// counter of requests booked at $0 stays (those requests were booked at $0).
#[test]
fn an_unpriced_model_stays_flagged_until_it_is_priced() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("gw");
    std::fs::create_dir(&logs).unwrap();
    let log = logs.join("requests.jsonl");
    append(&log, "");
    let config = |prices: &str| {
        format!(
            r#"listen: "127.0.0.1:{{port}}"
state_dir: "{{dir}}/state"
accounts:
  - {{ name: team, opening_balance_usd: "100", opening_balance_as_of: "2026-11-01T00:00:00Z" }}
sources:
  - name: gw
    format: jsonl
    field_map: {{ id: /id, model: /m, input_tokens: /in, output_tokens: /out, timestamp: /ts }}
    paths: ["{{dir}}/gw/*.jsonl"]
    account: team
    app: gateway
{prices}"#
        )
    };
    let d = Daemon::start(dir.path(), &config(""));
    append(&log, "{\"id\":\"r1\",\"m\":\"acme-unpriced\",\"in\":1000000,\"out\":0,\"ts\":\"2026-11-20T10:00:00Z\"}\n");
    let unpriced = r#"creditwatch_unpriced_requests_total{account="team",app="gateway",model="acme-unpriced"}"#;
    d.wait_metric(unpriced, "1");
    d.wait_metric(r#"creditwatch_model_unpriced{model="acme-unpriced"}"#, "1");

    let text = config("prices:\n  acme-unpriced: { input_usd: \"2\", output_usd: \"8\" }\n")
        .replace("{port}", &d.port.to_string())
        .replace("{dir}", &dir.path().display().to_string());
    std::fs::write(&d.config, text).unwrap();
    let _ = std::process::Command::new("kill").args(["-HUP", &d.child.id().to_string()]).status();
    wait_for("the reloaded price to clear the flag", Duration::from_secs(20), || {
        let scrape = d.scrape();
        !scrape.contains(r#"creditwatch_model_unpriced{model="acme-unpriced"}"#)
    });
    let scrape = d.scrape();
    assert_eq!(common::metric(&scrape, r#"creditwatch_model_unpriced{model="acme-unpriced"}"#), None, "{}", d.log());
    assert_eq!(common::metric(&scrape, unpriced).as_deref(), Some("1"));
    // A new request of the model is priced now.
    append(&log, "{\"id\":\"r2\",\"m\":\"acme-unpriced\",\"in\":1000000,\"out\":0,\"ts\":\"2026-11-20T10:01:00Z\"}\n");
    d.wait_metric(r#"creditwatch_spend_usd_total{account="team",app="gateway",model="acme-unpriced"}"#, "2");
    assert_eq!(common::metric(&d.scrape(), unpriced).as_deref(), Some("1"));
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
}
