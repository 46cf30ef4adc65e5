//! The store against a real state directory: a current snapshot that turns
//! out unreadable falls back to the previous one and the segments after it
//! (which compaction kept for that), and when the segments it would need
//! are gone too, opening refuses and says to restore from a backup.

use creditwatch::state::store::{read_state, Store};
use creditwatch::state::{Batch, Record};

fn book(store: &mut Store, n: u64) {
    let batch = Batch { lines: vec![("claude-code".into(), [n, 0, 0, 0])], ..Batch::default() };
    store.state.apply_batch_usage(&batch);
    store.commit(&Record::Batch(batch)).unwrap();
}

/// A bit flipped in the last byte: the checksum no longer matches.
fn damage(path: &std::path::Path) {
    let mut bytes = std::fs::read(path).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn an_unreadable_snapshot_falls_back_to_the_previous_one_and_the_records_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut store = Store::open(&state, chrono_tz::UTC).unwrap();
    for n in 1..=4 {
        book(&mut store, n);
        store.snapshot().unwrap();
    }
    book(&mut store, 100);
    drop(store);
    damage(&state.join("snapshot.cws"));
    let store = Store::open(&state, chrono_tz::UTC).unwrap();
    assert_eq!(store.state.sources["claude-code"].lines, [110, 0, 0, 0]);
    drop(store);
    assert_eq!(read_state(&state, chrono_tz::UTC).unwrap().sources["claude-code"].lines, [110, 0, 0, 0]);

    // Both snapshots bad: the segments before the previous one are gone,
    // so there is no start to replay from. An error, never a fresh ledger.
    // (snapshot.cws is still the damaged one: opening wrote none.)
    damage(&state.join("snapshot.prev.cws"));
    let err = format!("{:#}", Store::open(&state, chrono_tz::UTC).err().unwrap());
    assert!(err.contains("the oldest segment left starts at") && err.contains("Restore snapshot.cws"), "{err}");
}
