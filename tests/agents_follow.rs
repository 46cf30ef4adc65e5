//! Live following of the coding agents' logs against the real binary: this
//! test writes (appends, rewrites in place, forks) while the daemon runs,
//! and restarts it mid-session.

mod common;

use std::path::Path;

use common::*;

const CONFIG: &str = r#"
listen: "127.0.0.1:{port}"
state_dir: "{dir}/state"
accounts:
  - name: personal
    opening_balance_usd: "50.00"
    opening_balance_as_of: "2020-01-01T00:00:00Z"
sources:
  - { name: codex, format: codex, paths: ["{dir}/codex/**/*.jsonl"], account: personal }
  - { name: gemini, format: gemini_cli, paths: ["{dir}/gemini/**/*.json", "{dir}/gemini/**/*.jsonl"], account: personal }
  - { name: qwen, format: qwen_code, paths: ["{dir}/qwen/**/*.jsonl"], account: personal }
prices:
  gpt-5.2:            { input_usd: "1.75", output_usd: "14",  cache_read_usd: "0.175" }
  gpt-5.1-codex-mini: { input_usd: "0.25", output_usd: "2",   cache_read_usd: "0.025" }
  gemini-2.5-flash:   { input_usd: "0.30", output_usd: "2.50", cache_read_usd: "0.03" }
  qwen3-coder-plus:   { input_usd: "1",    output_usd: "5",    cache_read_usd: "0.10" }
follow:
  poll_interval: "200ms"
"#;

fn series(name: &str, app: &str, model: &str) -> String {
    format!(r#"{name}{{account="personal",app="{app}",model="{model}"}}"#)
}

fn lines_metric(source: &str, outcome: &str) -> String {
    format!(r#"creditwatch_source_lines_total{{outcome="{outcome}",source="{source}"}}"#)
}

fn codex_context(model: &str) -> String {
    format!(
        "{{\"timestamp\":\"2026-11-10T13:10:57.000Z\",\"type\":\"turn_context\",\"payload\":{{\"cwd\":\"/w\",\"model\":\"{model}\"}}}}\n"
    )
}

/// A token_count line: cumulative totals `n` times (1000 in, 400 cached,
/// 100 out, 50 reasoning); the turn's own usage is one such step.
fn codex_count(n: u64, second: u32) -> String {
    let usage = |k: u64| {
        format!(
            r#"{{"input_tokens":{},"cached_input_tokens":{},"output_tokens":{},"reasoning_output_tokens":{},"total_tokens":{}}}"#,
            1000 * k,
            400 * k,
            100 * k,
            50 * k,
            1100 * k
        )
    };
    format!(
        "{{\"timestamp\":\"2026-11-10T13:11:{second:02}.000Z\",\"type\":\"event_msg\",\"payload\":{{\"type\":\"token_count\",\"info\":{{\"total_token_usage\":{},\"last_token_usage\":{}}},\"rate_limits\":{{}}}}}}\n",
        usage(n),
        usage(1)
    )
}

#[test]
fn codex_appends_repeats_model_changes_a_restart_mid_session_and_a_fork() {
    let dir = tempfile::tempdir().unwrap();
    let sessions = dir.path().join("codex/sessions/2026/11/10");
    std::fs::create_dir_all(&sessions).unwrap();
    let session = sessions.join("rollout-2026-11-10T13-10-00-aaaa.jsonl");
    let meta = "{\"timestamp\":\"2026-11-10T13:10:00.000Z\",\"type\":\"session_meta\",\"payload\":{\"id\":\"aaaa\",\"cwd\":\"/w\"}}\n";
    append(&session, &format!("{meta}{}{}", codex_context("gpt-5.2"), codex_count(1, 1)));
    let d = Daemon::start(dir.path(), CONFIG);
    let big = series("creditwatch_requests_total", "codex", "gpt-5.2");
    let mini = series("creditwatch_requests_total", "codex", "gpt-5.1-codex-mini");
    // 600 input at 1.75, 400 cache reads at 0.175, 100 output at 14 (reasoning inside): $0.00252.
    d.wait_metric(&big, "1");
    d.wait_metric(&series("creditwatch_spend_usd_total", "codex", "gpt-5.2"), "0.00252");

    // The same totals again (a rate-limit update), then the model changes.
    append(&session, &codex_count(1, 2));
    append(&session, &format!("{}{}", codex_context("gpt-5.1-codex-mini"), codex_count(2, 3)));
    d.wait_metric(&mini, "1");
    assert_eq!(metric(&d.scrape(), &big).as_deref(), Some("1"));

    // Stopped mid-session; the session goes on. After the restart the new
    // turn is priced as the model of the turn_context before the checkpoint.
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
    append(&session, &codex_count(3, 4));
    let d = Daemon::start(dir.path(), CONFIG);
    d.wait_metric(&mini, "2");
    assert_eq!(metric(&d.scrape(), &big).as_deref(), Some("1"));
    // (600*0.25 + 400*0.025 + 100*2) / 1e6 = $0.00036 a mini turn, two so far.
    d.wait_metric(&series("creditwatch_spend_usd_total", "codex", "gpt-5.1-codex-mini"), "0.00072");

    // A fork: its file starts with a copy of the parent's lines.
    let parent = std::fs::read_to_string(&session).unwrap();
    let fork_meta = meta.replace("aaaa", "bbbb");
    let copied: String = parent.lines().skip(1).map(|l| format!("{l}\n")).collect();
    append(&sessions.join("rollout-2026-11-10T14-00-00-bbbb.jsonl"), &format!("{fork_meta}{copied}{}", codex_count(4, 5)));
    d.wait_metric(&mini, "3");
    d.wait_metric(&lines_metric("codex", "duplicate"), "3");
    assert_eq!(metric(&d.scrape(), &big).as_deref(), Some("1"));
    d.wait_metric("creditwatch_balance_usd{account=\"personal\"}", "49.9964");
}

/// One Gemini message: 1000 input (none cached), 100 output, 20 thoughts of
/// gemini-2.5-flash: (1000*0.30 + 120*2.50) / 1e6 = $0.0006.
fn gemini_message(id: &str, tokens: bool) -> String {
    let tokens = if tokens { r#"{"input":1000,"output":100,"cached":0,"thoughts":20,"tool":0,"total":1120}"# } else { "null" };
    format!(
        r#"{{"id":"{id}","timestamp":"2026-11-12T09:44:18.731Z","type":"gemini","content":"ok","tokens":{tokens},"model":"gemini-2.5-flash"}}"#
    )
}

fn rewrite(path: &Path, text: &str) {
    // In place, as Gemini CLI's writeFileSync does: truncate, write.
    std::fs::write(path, text).unwrap();
}

fn legacy(messages: &[String]) -> String {
    format!("{{\n  \"sessionId\": \"s-legacy\",\n  \"projectHash\": \"p\",\n  \"messages\": [\n    {}\n  ]\n}}", messages.join(",\n    "))
}

#[test]
fn gemini_rewrites_in_place_and_json_lines_appends_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let chats = dir.path().join("gemini/tmp/p/chats");
    std::fs::create_dir_all(&chats).unwrap();
    let whole = chats.join("session-2026-11-12T09-44-aaaaaaaa.json");
    rewrite(&whole, &legacy(&[gemini_message("g1", true)]));
    let d = Daemon::start(dir.path(), CONFIG);
    let requests = series("creditwatch_requests_total", "gemini-cli", "gemini-2.5-flash");
    d.wait_metric(&requests, "1");
    d.wait_metric(&series("creditwatch_spend_usd_total", "gemini-cli", "gemini-2.5-flash"), "0.0006");

    // The chat grows: the file is rewritten whole; only g2 is new.
    rewrite(&whole, &legacy(&[gemini_message("g1", true), gemini_message("g2", true)]));
    d.wait_metric(&requests, "2");
    // Half-written (the writer truncated and has not finished): no error yet,
    // nothing booked twice once it is complete.
    rewrite(&whole, &legacy(&[gemini_message("g1", true), gemini_message("g2", true)])[..40]);
    rewrite(&whole, &legacy(&[gemini_message("g1", true), gemini_message("g2", true), gemini_message("g3", true)]));
    d.wait_metric(&requests, "3");

    // The lines form: a message first without tokens, then again with them.
    let lines = chats.join("session-2026-11-13T10-00-bbbbbbbb.jsonl");
    append(&lines, "{\"sessionId\":\"s-lines\",\"projectHash\":\"p\",\"startTime\":\"t\",\"lastUpdated\":\"t\"}\n");
    append(&lines, &format!("{}\n", gemini_message("g4", false)));
    append(&lines, &format!("{}\n{{\"$set\":{{\"lastUpdated\":\"t2\"}}}}\n", gemini_message("g4", true)));
    d.wait_metric(&requests, "4");
    append(&lines, &format!("{{\"$set\":{{\"messages\":[{}]}}}}\n", gemini_message("g4", true)));
    assert_eq!(metric(&d.scrape(), &lines_metric("gemini", "error")).as_deref(), Some("0"));

    // Restart: every document is read again; all of it is a duplicate.
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
    let d = Daemon::start(dir.path(), CONFIG);
    d.wait_metric(&lines_metric("gemini", "duplicate"), "4");
    assert_eq!(metric(&d.scrape(), &requests).as_deref(), Some("4"));
    assert_eq!(metric(&d.scrape(), &lines_metric("gemini", "error")).as_deref(), Some("0"));
    d.wait_metric("creditwatch_balance_usd{account=\"personal\"}", "49.9976");
}

#[test]
fn qwen_appends_forks_and_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let chats = dir.path().join("qwen/projects/-w/chats");
    std::fs::create_dir_all(&chats).unwrap();
    let record = |uuid: &str, session: &str, fork: bool| {
        let forked = if fork { r#","forkedFrom":{"sessionId":"s1","messageUuid":"x"}"# } else { "" };
        format!(
            r#"{{"uuid":"{uuid}","parentUuid":null,"sessionId":"{session}","timestamp":"2026-11-15T14:00:07.000Z","type":"assistant","cwd":"/w","version":"0.4.2","model":"qwen3-coder-plus","message":{{"role":"model","parts":[{{"text":"ok"}}]}},"usageMetadata":{{"promptTokenCount":2000,"candidatesTokenCount":100,"cachedContentTokenCount":1000,"thoughtsTokenCount":0,"totalTokenCount":2100}}{forked}}}"#
        ) + "\n"
    };
    let s1 = chats.join("s1.jsonl");
    append(&s1, &record("a1", "s1", false));
    let d = Daemon::start(dir.path(), CONFIG);
    let requests = series("creditwatch_requests_total", "qwen-code", "qwen3-coder-plus");
    d.wait_metric(&requests, "1");
    // (1000*1 + 1000*0.10 + 100*5) / 1e6.
    d.wait_metric(&series("creditwatch_spend_usd_total", "qwen-code", "qwen3-coder-plus"), "0.0016");
    append(&s1, &format!("not json\n{}", record("a2", "s1", false)));
    d.wait_metric(&requests, "2");
    d.wait_metric(&lines_metric("qwen", "error"), "1");
    // A /branch fork: copies marked `forkedFrom`, then its own request.
    append(&chats.join("s2.jsonl"), &format!("{}{}{}", record("a1", "s2", true), record("a2", "s2", true), record("b1", "s2", false)));
    d.wait_metric(&requests, "3");
    assert_eq!(metric(&d.scrape(), &lines_metric("qwen", "booked")).as_deref(), Some("3"));
    // The other sources' paths match nothing: fine, and said once each,
    // though every poll lists them again.
    let log = d.log();
    for source in ["codex", "gemini"] {
        let said = log.lines().filter(|l| l.contains("no files match") && l.contains(&format!("source={source}"))).count();
        assert_eq!(said, 1, "{source}:\n{log}");
    }
}
