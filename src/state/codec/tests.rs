use super::*;
use crate::ledger::entry::Entry;
use crate::sources::follow::database::RowCheckpoint;

fn booked(n: u128, new_request: bool) -> Booked {
    let tokens = Tokens { input: 3, output: 1_234, cache_write_5m: 20_000, cache_write_1h: 0, cache_read: 150_000 };
    let at = "2026-11-20T10:00:00.123Z".parse().unwrap();
    let cost: rust_decimal::Decimal = "0.0912345".parse().unwrap();
    let seen = match new_request {
        true => Seen { tokens, web_searches: 0, cost, at: 1_795_168_800 },
        false => Seen { tokens: Tokens { output: 2_000, ..tokens }, web_searches: 2, cost: "0.12".parse().unwrap(), at: 1_795_200_000 },
    };
    Booked {
        source: "claude-code".into(),
        account: "personal".into(),
        app: "project-alpha".into(),
        model: "claude-sonnet-4-5-20250929".into(),
        id: EventId(n.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834)),
        at,
        tokens,
        cost,
        new_request,
        unpriced: !new_request,
        seen,
        user: new_request.then(|| "ada@example.com".to_string()),
        cache_savings: "0.0405".parse().unwrap(),
    }
}

fn debit(cost: &str) -> Entry {
    Entry::Debit {
        account: "personal".into(),
        app: "project-alpha".into(),
        at: "2026-11-20T10:00:00.123Z".parse().unwrap(),
        month: Month::new(2026, 11).unwrap(),
        cost: cost.parse().unwrap(),
        from_allowance: "0".parse().unwrap(),
        from_balance: cost.parse().unwrap(),
        deducted: true,
        from_plan: "0.00".parse().unwrap(),
    }
}

fn sample_batch(copies: u128) -> Batch {
    Batch {
        usage: (0..copies).map(|n| booked(n, n % 3 != 2)).collect(),
        ledger: (0..copies)
            .map(|_| debit("0.0912345"))
            .chain([Entry::TopUp {
                account: "personal".into(),
                id: "t1".into(),
                amount: "20.00".parse().unwrap(),
                note: Some("card".into()),
                at: "2026-11-20T10:00:01Z".parse().unwrap(),
            }])
            .collect(),
        checkpoints: vec![Checkpoint {
            id: FileId { dev: 2049, ino: 1_234_567, head: 0xdead_beef_cafe_f00d },
            source: "claude-code".into(),
            path: "/home/ada/.claude/projects/-w/s.jsonl".into(),
            offset: 123_456,
            next_line: 99,
        }],
        dropped: vec![FileId { dev: 1, ino: 2, head: u64::MAX }],
        lines: vec![("claude-code".into(), [10, 2, 0, 1])],
        forget_before: Some(-5),
        row_checkpoints: vec![RowCheckpoint {
            source: "opencode".into(),
            path: "/db".into(),
            dev: 1,
            ino: 2,
            rowid: 7,
            id: "msg".into(),
            unfinished: vec!["msg_b".into()],
        }],
    }
}

/// Records have no `PartialEq`: compared by their JSON text (`to_value`
/// cannot hold a 128-bit id).
fn json(record: &Record) -> String {
    serde_json::to_string(record).unwrap()
}

#[test]
fn every_field_of_a_batch_and_a_ledger_record_comes_back() {
    for record in [Record::Batch(sample_batch(5)), Record::Batch(Batch::default()), Record::Ledger(vec![debit("1.5"), debit("-0.25")])] {
        let bytes = encode(&record);
        assert_eq!(bytes[0], FORMAT);
        assert_eq!(json(&decode(&bytes).unwrap()), json(&record));
    }
}

#[test]
fn a_json_record_of_an_earlier_release_is_read() {
    let record = Record::Batch(sample_batch(2));
    let old = serde_json::to_vec(&record).unwrap();
    assert_eq!(json(&decode(&old).unwrap()), json(&record));
}

/// The target: under 150 bytes per booked copy (its `Booked` and
/// its debit), where the JSON journal took about 1.2 KB.
#[test]
fn a_booked_copy_with_its_debit_takes_under_150_bytes() {
    let one = encode(&Record::Batch(sample_batch(1))).len();
    let hundred = encode(&Record::Batch(sample_batch(101))).len();
    let per_copy = (hundred - one) / 100;
    let json_per_copy = (serde_json::to_vec(&Record::Batch(sample_batch(101))).unwrap().len()
        - serde_json::to_vec(&Record::Batch(sample_batch(1))).unwrap().len())
        / 100;
    assert!(per_copy < 150, "{per_copy} bytes per copy (JSON: {json_per_copy})");
    // A round that booked one copy: its names and its file's checkpoint are
    // written with it.
    let mut round = sample_batch(1);
    round.ledger.truncate(1);
    (round.dropped, round.forget_before, round.row_checkpoints) = (Vec::new(), None, Vec::new());
    let single = encode(&Record::Batch(round.clone())).len();
    let single_json = serde_json::to_vec(&Record::Batch(round)).unwrap().len();
    assert!(single < 300, "{single} bytes for a round of one copy");
    eprintln!("{per_copy} bytes per copy in a batch (JSON: {json_per_copy}); a round of one copy: {single} bytes (JSON: {single_json})");
}

#[test]
fn damaged_payloads_are_errors() {
    let bytes = encode(&Record::Batch(sample_batch(3)));
    for cut in 1..bytes.len() {
        assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(decode(&longer).unwrap_err(), "bytes left after the record");
    assert!(decode(&[0xC3]).unwrap_err().contains("newer creditwatch"));
    assert!(decode(&[]).is_err());
}
