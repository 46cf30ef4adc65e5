//! The journal against real files in a temp folder.

use super::*;

fn payloads(texts: &[&str]) -> Vec<Vec<u8>> {
    texts.iter().map(|t| t.as_bytes().to_vec()).collect()
}

fn texts(records: &[Record]) -> Vec<String> {
    records.iter().map(|r| String::from_utf8(r.payload.clone()).unwrap()).collect()
}

fn journal_path(dir: &tempfile::TempDir) -> PathBuf {
    layout::segment_path(dir.path(), 0)
}

/// A journal holding `texts`, one record each; returns the record offsets.
fn journal_with(dir: &tempfile::TempDir, texts: &[&str]) -> Vec<u64> {
    let (mut journal, records) = Journal::open(dir.path(), 0).unwrap();
    assert!(records.is_empty());
    let mut offsets = vec![0];
    for text in texts {
        offsets.push(journal.append(&payloads(&[text])).unwrap());
    }
    offsets.pop();
    offsets
}

fn rewrite(dir: &tempfile::TempDir, edit: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(journal_path(dir)).unwrap();
    edit(&mut bytes);
    std::fs::write(journal_path(dir), bytes).unwrap();
}

#[test]
fn records_round_trip_with_their_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let (mut journal, _) = Journal::open(dir.path(), 0).unwrap();
    assert_eq!(journal.append(&payloads(&["alpha", "bb"])).unwrap(), 13 + 10);
    assert_eq!(journal.append(&payloads(&["c"])).unwrap(), 32);
    assert_eq!(journal.append(&[]).unwrap(), 32);
    assert_eq!(journal.end(), 32);
    drop(journal);

    let (journal, records) = Journal::open(dir.path(), 0).unwrap();
    assert_eq!(journal.end(), 32);
    assert_eq!(texts(&records), ["alpha", "bb", "c"]);
    assert_eq!(records.iter().map(|r| (r.offset, r.end())).collect::<Vec<_>>(), [(0, 13), (13, 23), (23, 32)]);
    drop(journal);
    // From a snapshot's offset only the later records come back.
    let (_, later) = Journal::open(dir.path(), 23).unwrap();
    assert_eq!(texts(&later), ["c"]);
    assert_eq!(verify(dir.path()).unwrap(), VerifySummary { records: 3, bytes: 32, torn_tail: None });
}

#[test]
fn empty_payloads_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (mut journal, _) = Journal::open(dir.path(), 0).unwrap();
    let err = journal.append(&payloads(&["ok", ""])).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(std::fs::metadata(journal_path(&dir)).unwrap().len(), 0);
    assert_eq!(journal.append(&payloads(&["ok"])).unwrap(), 10);
}

#[test]
fn a_torn_last_record_is_cut_and_appending_continues_after_the_good_ones() {
    // (how the last record is damaged, bytes left in the file after the cut)
    type Damage = fn(&mut Vec<u8>);
    let cases: [(&str, Damage); 4] = [
        ("cut mid-payload", |b| b.truncate(b.len() - 3)),
        ("cut mid-header", |b| b.truncate(b.len() - 12 + 5)),
        ("payload byte flipped", |b| *b.last_mut().unwrap() ^= 0x20),
        ("zeros after the records", |b| b.extend_from_slice(&[0; 64])),
    ];
    for (name, damage) in cases {
        let dir = tempfile::tempdir().unwrap();
        let offsets = journal_with(&dir, &["first", "second", "last"]);
        rewrite(&dir, damage);
        let good_end = if name.starts_with("zeros") { offsets[2] + 12 } else { offsets[2] };
        let want_torn = Some(good_end);
        let summary = verify(dir.path()).unwrap();
        assert_eq!(summary.torn_tail, want_torn, "{name}");
        let len_before = std::fs::metadata(journal_path(&dir)).unwrap().len();
        assert!(len_before > good_end, "{name}: verify must not cut");

        let (mut journal, records) = Journal::open(dir.path(), 0).unwrap();
        let want: &[&str] = if name.starts_with("zeros") { &["first", "second", "last"] } else { &["first", "second"] };
        assert_eq!(texts(&records), want, "{name}");
        assert_eq!(std::fs::metadata(journal_path(&dir)).unwrap().len(), good_end, "{name}");
        journal.append(&payloads(&["after"])).unwrap();
        drop(journal);
        let (_, records) = Journal::open(dir.path(), 0).unwrap();
        assert_eq!(texts(&records).last().map(String::as_str), Some("after"), "{name}");
        assert_eq!(records.len(), want.len() + 1, "{name}");
    }
}

#[test]
fn a_damaged_record_in_the_middle_is_refused_with_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let offsets = journal_with(&dir, &["first", "second", "third"]);
    let second = offsets[1];
    // Flip a byte of the second record's payload.
    rewrite(&dir, |b| b[second as usize + 8 + 2] ^= 0x01);
    let err = Journal::open(dir.path(), 0).unwrap_err();
    let file = journal_path(&dir).display().to_string();
    let want = format!(
        "{file}: damaged at byte offset 13: a record whose checksum does not match its payload, and a valid record follows at \
         byte 27, so this is not a torn last write. creditwatch will not book on a damaged journal: stop every creditwatch \
         using this state directory, copy the directory aside, then restore {file} from a backup (or move the state \
         directory away to start a fresh ledger and reconcile each account)"
    );
    assert_eq!(err.to_string(), want);
    assert!(matches!(verify(dir.path()), Err(JournalError::Corrupt { offset: 13, .. })));
    // Nothing was cut.
    assert_eq!(std::fs::metadata(journal_path(&dir)).unwrap().len(), 40);
}

#[test]
fn a_corrupted_length_in_the_middle_is_damage_not_a_torn_tail() {
    for (name, length) in [("runs past the end", 1_000_000u32), ("shorter than the record", 10), ("zero", 0)] {
        let dir = tempfile::tempdir().unwrap();
        let offsets = journal_with(&dir, &["first", "second", "third"]);
        let at = offsets[1] as usize;
        rewrite(&dir, |b| b[at..at + 4].copy_from_slice(&length.to_le_bytes()));
        match Journal::open(dir.path(), 0) {
            Err(JournalError::Corrupt { offset, reason, .. }) => {
                assert_eq!(offset, 13, "{name}");
                assert!(reason.ends_with("a valid record follows at byte 27, so this is not a torn last write"), "{name}: {reason}");
            }
            other => panic!("{name}: want Corrupt, got {other:?}"),
        }
        assert_eq!(std::fs::metadata(journal_path(&dir)).unwrap().len(), 40, "{name}: nothing cut");
    }
}

#[test]
fn a_snapshot_offset_past_the_end_is_damage() {
    let dir = tempfile::tempdir().unwrap();
    journal_with(&dir, &["first"]);
    let err = Journal::open(dir.path(), 99).unwrap_err().to_string();
    assert!(err.contains("damaged at byte offset 99: the snapshot resumes at byte 99 but the journal is only 13 bytes long"), "{err}");
}

#[test]
fn verify_and_read_change_nothing_and_name_a_missing_journal() {
    let dir = tempfile::tempdir().unwrap();
    let err = verify(dir.path()).unwrap_err().to_string();
    assert!(err.starts_with(&format!("{}: cannot open:", dir.path().join(JOURNAL_FILE).display())), "{err}");
    // History on a state directory with no journal yet is empty.
    assert_eq!(read_all(dir.path()).unwrap(), []);
    journal_with(&dir, &["first", "second"]);
    rewrite(&dir, |b| b.truncate(b.len() - 1));
    assert_eq!(texts(&read_all(dir.path()).unwrap()), ["first"]);
    let (records, summary) = read(dir.path(), 0).unwrap();
    assert_eq!(texts(&records), ["first"]);
    assert_eq!(summary, VerifySummary { records: 1, bytes: 13, torn_tail: Some(13) });
    assert_eq!(std::fs::metadata(journal_path(&dir)).unwrap().len(), 26);
}

/// The in-memory decoder (what the fuzz target drives) gives the verdicts the
/// file paths give.
#[test]
fn decode_in_memory_gives_the_same_verdicts_as_the_file() {
    let whole = encode(&payloads(&["first", "second", "third"])).unwrap();
    assert_eq!(whole.len(), 40);
    let all = decode(&whole, 0).unwrap();
    assert_eq!(texts(&all.records), ["first", "second", "third"]);
    assert_eq!(all.records.iter().map(|r| r.offset).collect::<Vec<_>>(), [0, 13, 27]);
    assert_eq!(all.summary, VerifySummary { records: 3, bytes: 40, torn_tail: None });
    assert_eq!(texts(&decode(&whole, 27).unwrap().records), ["third"]);

    let torn = decode(&whole[..38], 0).unwrap();
    assert_eq!(texts(&torn.records), ["first", "second"]);
    assert_eq!(torn.summary, VerifySummary { records: 2, bytes: 27, torn_tail: Some(27) });

    let mut damaged = whole.clone();
    damaged[13 + 8 + 2] ^= 0x01;
    let damage = decode(&damaged, 0).unwrap_err();
    assert_eq!(damage.offset, 13);
    assert_eq!(
        damage.to_string(),
        "damaged at byte offset 13: a record whose checksum does not match its payload, and a valid record follows at byte \
         27, so this is not a torn last write"
    );
    assert_eq!(decode(&whole, 41).unwrap_err().offset, 41);
    assert_eq!(decode(&[], 0).unwrap().summary, VerifySummary { records: 0, bytes: 0, torn_tail: None });

    // The same bytes on disk (as the one-file journal of a release before
    // format 2, read as segment 0): the same verdicts.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(JOURNAL_FILE), &whole[..38]).unwrap();
    assert_eq!(verify(dir.path()).unwrap(), torn.summary);
    std::fs::write(dir.path().join(JOURNAL_FILE), &damaged).unwrap();
    assert!(matches!(verify(dir.path()), Err(JournalError::Corrupt { offset: 13, .. })));
}

#[test]
fn encode_refuses_empty_payloads() {
    assert_eq!(encode(&payloads(&["ok", ""])).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    assert_eq!(encode(&[]).unwrap(), Vec::<u8>::new());
}

mod cut_anywhere {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// A crash can stop a write at any byte: opening keeps exactly the
        /// records wholly before the cut and cuts the rest.
        #[test]
        fn opening_keeps_the_whole_records_before_any_cut(
            payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..300), 1..12),
            cut_permille in 0..=1000u64,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let (mut journal, _) = Journal::open(dir.path(), 0).unwrap();
            let mut ends = Vec::new();
            for p in &payloads {
                ends.push(journal.append(std::slice::from_ref(p)).unwrap());
            }
            drop(journal);
            let total = *ends.last().unwrap();
            let cut = total * cut_permille / 1000;
            let file = OpenOptions::new().write(true).open(journal_path(&dir)).unwrap();
            file.set_len(cut).unwrap();
            drop(file);

            let whole = ends.iter().filter(|&&end| end <= cut).count();
            let (journal, records) = Journal::open(dir.path(), 0).unwrap();
            let kept: Vec<Vec<u8>> = records.into_iter().map(|r| r.payload).collect();
            prop_assert_eq!(&kept[..], &payloads[..whole]);
            let good_end = if whole == 0 { 0 } else { ends[whole - 1] };
            prop_assert_eq!(journal.end(), good_end);
            prop_assert_eq!(std::fs::metadata(journal_path(&dir)).unwrap().len(), good_end);
        }
    }
}
