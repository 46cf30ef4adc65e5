use super::*;
use crate::pricing::PriceTable;
use crate::usage::money;

/// An assistant message as OpenCode stores it in the database (no id, no sessionID).
fn assistant(model: &str, provider: &str, tokens: [i64; 5], cost: &str, completed: bool) -> String {
    let [input, output, reasoning, read, write] = tokens;
    let done = if completed { r#","completed":1795000005100"# } else { "" };
    format!(
        concat!(
            r#"{{"role":"assistant","time":{{"created":1795000000900{done}}},"parentID":"msg_ad3e0f1a2001pLm3Nb6Vc9Xz1K","#,
            r#""modelID":"{model}","providerID":"{provider}","mode":"build","agent":"build","path":{{"cwd":"/w","root":"/w"}},"#,
            r#""cost":{cost},"tokens":{{"input":{input},"output":{output},"reasoning":{reasoning},"cache":{{"read":{read},"write":{write}}}}},"finish":"stop"}}"#
        ),
        done = done,
        model = model,
        provider = provider,
        cost = cost,
        input = input,
        output = output,
        reasoning = reasoning,
        read = read,
        write = write
    )
}

fn event(data: &str) -> UsageEvent {
    read_message(data.as_bytes(), Some("msg_1"), Some("ses_1")).unwrap().event.unwrap()
}

fn cost(e: &UsageEvent) -> String {
    money::format(PriceTable::builtin().price(e).cost)
}

#[test]
fn tokens_by_kind_and_cost_from_each_shape() {
    // (message, tokens {input, output incl. reasoning, cache write 5m, cache read}, cost)
    let cases = [
        // A stated cost is the cost.
        (
            assistant("claude-sonnet-4-5-20250929", "anthropic", [12, 420, 0, 18000, 2400], "0.020736", true),
            (12, 420, 2400, 18000),
            "0.020736",
        ),
        // Cost 0 (OpenCode had no price): priced from the tokens, reasoning at the output price.
        (assistant("gpt-5", "openai", [1500, 800, 640, 3200, 0], "0", true), (1500, 1440, 0, 3200), "0.016675"),
        // OpenRouter's billed cost, exactly as written (never through f64).
        (assistant("anthropic/claude-sonnet-4", "openrouter", [1000, 200, 0, 0, 0], "0.0123456", true), (1000, 200, 0, 0), "0.0123456"),
        // Exponent notation (JSON.stringify of a tiny cost).
        (assistant("gpt-5", "openai", [1, 0, 0, 0, 0], "1.25e-6", true), (1, 0, 0, 0), "0.00000125"),
        // A negative output (reasoning subtracted below zero) counts as 0.
        (assistant("gemini-2.5-pro", "google", [4000, -300, 300, 0, 0], "0", true), (4000, 300, 0, 0), "0.008"),
    ];
    for (data, (input, output, w5, read), want) in cases {
        let e = event(&data);
        assert_eq!(e.tokens, Tokens { input, output, cache_write_5m: w5, cache_write_1h: 0, cache_read: read }, "{data}");
        assert_eq!(cost(&e), want, "{data}");
        assert_eq!(e.session.as_deref(), Some("ses_1"));
        assert_eq!(e.timestamp.to_rfc3339(), "2026-11-18T11:06:40.900+00:00");
    }
    // `tokens.reasoning` is reported as reasoning, inside the output booked.
    let reasoning: Vec<u64> = [[1500, 800, 640, 3200, 0], [4000, -300, 300, 0, 0], [1, 0, 0, 0, 0]]
        .iter()
        .map(|t| event(&assistant("gpt-5", "openai", *t, "0", true)).reasoning_tokens)
        .collect();
    assert_eq!(reasoning, [640, 300, 0]);
}

#[test]
fn messages_that_are_not_requests() {
    let user = r#"{"role":"user","time":{"created":1795000000000},"agent":"build","model":{"providerID":"anthropic","modelID":"claude-sonnet-4-5"}}"#;
    let m = read_message(user.as_bytes(), Some("msg_u"), None).unwrap();
    assert_eq!((m.event, m.unfinished_since), (None, None));
    // Just created, nothing streamed yet: not a request, but unfinished.
    let fresh = assistant("gpt-5", "openai", [0, 0, 0, 0, 0], "0", false);
    let m = read_message(fresh.as_bytes(), Some("msg_a"), None).unwrap();
    assert_eq!(m.event, None);
    assert_eq!(m.unfinished_since.map(|t| t.timestamp_millis()), Some(1795000000900));
    // Failed before any token.
    let failed = assistant("claude-sonnet-4-5", "anthropic", [0, 0, 0, 0, 0], "0", true).replace(
        r#""finish":"stop""#,
        r#""error":{"name":"APIError","data":{"message":"Overloaded","statusCode":529,"isRetryable":true}}"#,
    );
    assert_eq!(read_message(failed.as_bytes(), Some("msg_f"), None).unwrap().event, None);
    // Unknown fields and a missing tokens object are fine.
    let odd =
        r#"{"role":"assistant","time":{"created":1795000000000,"completed":1},"modelID":"x","providerID":"y","cost":0,"extra":[1,2]}"#;
    assert_eq!(read_message(odd.as_bytes(), Some("msg_o"), None).unwrap().event, None);
}

#[test]
fn an_unfinished_message_is_a_request_with_what_it_has_so_far() {
    let streaming = assistant("claude-sonnet-4-5-20250929", "anthropic", [12, 40, 0, 18000, 2400], "0.014", false);
    let m = read_message(streaming.as_bytes(), Some("msg_s"), None).unwrap();
    assert!(m.unfinished_since.is_some());
    assert_eq!(m.event.unwrap().tokens.output, 40);
}

#[test]
fn damaged_messages_are_errors_that_say_why() {
    let cases = [
        (r#"{"role":"assistant","tokens":{"input":"#.to_string(), "invalid JSON"),
        (
            assistant("gpt-5", "openai", [1, 2, 0, 0, 0], "0", true).replace(r#""input":1"#, r#""input":1.5"#),
            "tokens.input: `1.5` is not a token count",
        ),
        (assistant("gpt-5", "openai", [1, 2, 0, 0, 0], "-0.5", true), "negative cost"),
        (assistant("gpt-5", "openai", [1, 2, 0, 0, 0], "0", true).replace(r#""modelID":"gpt-5","#, ""), "without modelID"),
        (assistant("gpt-5", "openai", [1, 2, 0, 0, 0], "0", true).replace(r#""created":1795000000900,"#, ""), "without time.created"),
        (assistant("gpt-5", "openai", [1, 2, 0, 0, 0], "0", true).replace(r#""tokens":{"#, r#""tokens":{"cache":[],"#), "invalid JSON"),
    ];
    for (data, want) in cases {
        let err = read_message(data.as_bytes(), Some("msg_x"), None).unwrap_err();
        assert!(err.0.contains(want), "{data}: {err}");
    }
}

#[test]
fn ids_come_from_the_row_or_from_the_file_and_name_one_request_in_both() {
    let row = assistant("gpt-5", "openai", [1, 2, 0, 0, 0], "0", true);
    let from_row = read_message(row.as_bytes(), Some("msg_ad3e10b73001Gh4Jk7Lm0Np3Qr"), Some("ses_a")).unwrap().event.unwrap();
    let file = row.replacen('{', r#"{"id":"msg_ad3e10b73001Gh4Jk7Lm0Np3Qr","sessionID":"ses_a","#, 1);
    let from_file = read_message(file.as_bytes(), None, None).unwrap().event.unwrap();
    assert_eq!(from_row, from_file);
    assert!(read_message(row.as_bytes(), None, None).unwrap_err().0.contains("without an id"));
}

#[test]
fn a_forks_copy_takes_the_id_of_the_message_it_copies() {
    let mut copies = Copies::default();
    let original = assistant("claude-sonnet-4-5-20250929", "anthropic", [12, 420, 0, 18000, 2400], "0.020736", true);
    let copy = original.replace("msg_ad3e0f1a2001pLm3Nb6Vc9Xz1K", "msg_ad3e2a0b1001Gh3Ij6Kl9Mn2Op");
    let a = copies.read_row(original.as_bytes(), "msg_orig", Some("ses_1")).unwrap().event.unwrap();
    let b = copies.read_row(copy.as_bytes(), "msg_copy", Some("ses_fork")).unwrap().event.unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(a.id, EventId::from_parts("opencode", &["msg_orig"]));
    // Another request of the same model at another time is its own.
    let other = original.replace("1795000000900", "1795000000901");
    let c = copies.read_row(other.as_bytes(), "msg_other", Some("ses_1")).unwrap().event.unwrap();
    assert_eq!(c.id, EventId::from_parts("opencode", &["msg_other"]));
    // An unfinished message growing row by row keeps its own id at every step.
    for output in [10, 200, 420] {
        let step = assistant("gpt-5", "openai", [5, output, 0, 0, 0], "0", output == 420);
        let e = copies.read_row(step.as_bytes(), "msg_grow", None).unwrap().event.unwrap();
        assert_eq!(e.id, EventId::from_parts("opencode", &["msg_grow"]));
    }
    assert_eq!(copies.len(), 4);
}
