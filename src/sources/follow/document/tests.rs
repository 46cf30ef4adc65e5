//! The document reader against real files, with a toy format: one request
//! per line `ID OUTPUT_TOKENS`, `bad` an item error, and a document that
//! does not end in `end` is incomplete.

use super::*;
use crate::usage::UsageEvent;

struct Toy;

impl DocumentParser for Toy {
    fn parse_document(&mut self, bytes: &[u8]) -> Result<Vec<Result<UsageEvent, LineError>>, LineError> {
        let text = std::str::from_utf8(bytes).map_err(|_| LineError::new("not UTF-8"))?;
        let Some(body) = text.trim_end().strip_suffix("end") else { return Err(LineError::new("incomplete")) };
        Ok(body
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| match l.split_once(' ') {
                Some((id, n)) => {
                    let output = n.trim().parse().map_err(|_| LineError::new(format!("bad count in `{l}`")))?;
                    let tokens = Tokens { output, ..Tokens::default() };
                    Ok(UsageEvent::new(EventId::from_parts("toy", &[id]), chrono::DateTime::UNIX_EPOCH, "m".into(), tokens))
                }
                None => Err(LineError::new(format!("bad item `{l}`"))),
            })
            .collect())
    }
}

/// What one poll handed on: (events as "id-hash:output", errors, dropped ids).
fn poll_once(docs: &mut Documents, listed: &[PathBuf]) -> (Vec<u64>, Vec<String>, usize, Poll) {
    let listed: Vec<(usize, PathBuf)> = listed.iter().map(|p| (0, p.clone())).collect();
    let mut poll = Poll::default();
    docs.poll(&listed, &["toy".to_string()], &|_| Some(Box::new(Toy) as Box<dyn DocumentParser>), &mut poll);
    let mut outputs = Vec::new();
    let mut errors = Vec::new();
    for batch in &poll.batches {
        for (_, line) in &batch.lines {
            match line {
                LineResult::Event(e) => outputs.push(e.tokens.output),
                LineResult::Error(e) => errors.push(e.0.clone()),
                LineResult::Skipped => {}
            }
        }
    }
    let dropped = poll.dropped.len();
    (outputs, errors, dropped, poll)
}

/// Rewrites a file in place (same inode) and makes sure its version
/// changes even within one mtime tick: the size differs or mtime is moved.
fn rewrite(path: &Path, text: &str) {
    let before = std::fs::metadata(path).ok();
    std::fs::write(path, text).unwrap();
    if let Some(before) = before {
        let after = std::fs::metadata(path).unwrap();
        if after.len() == before.len() && after.modified().unwrap() == before.modified().unwrap() {
            let later = before.modified().unwrap() + std::time::Duration::from_secs(1);
            File::options().write(true).open(path).unwrap().set_modified(later).unwrap();
        }
    }
}

#[test]
fn a_rewritten_document_hands_on_only_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.json");
    rewrite(&path, "a 10\nb 20\nend\n");
    let mut docs = Documents::default();
    let (outputs, errors, _, poll) = poll_once(&mut docs, std::slice::from_ref(&path));
    assert_eq!((outputs, errors), (vec![10, 20], vec![]));
    let cp = &poll.batches[0].checkpoint;
    assert_eq!((cp.offset, cp.id.head, cp.source.as_str()), (14, 0, "toy"));

    // Unchanged: not even read.
    let (outputs, _, _, poll) = poll_once(&mut docs, std::slice::from_ref(&path));
    assert!(outputs.is_empty() && poll.batches.is_empty());

    // Rewritten in place as the chat grows: b got its final count, c is new.
    rewrite(&path, "a 10\nb 25\nc 5\nend\n");
    let (outputs, errors, dropped, _) = poll_once(&mut docs, std::slice::from_ref(&path));
    assert_eq!((outputs, errors, dropped), (vec![25, 5], vec![], 0));
}

#[test]
fn a_half_written_document_is_tried_again_and_an_error_only_when_it_stays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.json");
    rewrite(&path, "a 10\nb 2");
    let mut docs = Documents::default();
    // Caught while being written: nothing yet, no error.
    let (outputs, errors, _, poll) = poll_once(&mut docs, std::slice::from_ref(&path));
    assert!(outputs.is_empty() && errors.is_empty() && poll.batches.is_empty());
    // The writer finishes: read whole.
    rewrite(&path, "a 10\nb 20\nend\n");
    let (outputs, errors, _, _) = poll_once(&mut docs, std::slice::from_ref(&path));
    assert_eq!((outputs, errors), (vec![10, 20], vec![]));
    // Broken for good: the same version fails twice, one error, then quiet.
    rewrite(&path, "a 10\nb 20\nc 3\n");
    assert_eq!(poll_once(&mut docs, std::slice::from_ref(&path)).1, Vec::<String>::new());
    assert_eq!(poll_once(&mut docs, std::slice::from_ref(&path)).1, vec!["incomplete".to_string()]);
    assert!(poll_once(&mut docs, std::slice::from_ref(&path)).3.batches.is_empty());
}

#[test]
fn bad_items_are_errors_once_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.json");
    rewrite(&path, "a 10\nnonsense\nb x\nend\n");
    let mut docs = Documents::default();
    let (outputs, errors, _, _) = poll_once(&mut docs, std::slice::from_ref(&path));
    assert_eq!(outputs, vec![10]);
    assert_eq!(errors, vec!["bad item `nonsense`".to_string(), "bad count in `b x`".to_string()]);
    rewrite(&path, "a 10\nnonsense\nb x\nc 1\nend\n");
    let (outputs, errors, _, _) = poll_once(&mut docs, std::slice::from_ref(&path));
    assert_eq!((outputs, errors), (vec![1], vec![]));
}

#[test]
fn replaced_and_removed_documents_drop_their_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.json");
    rewrite(&path, "a 10\nend\n");
    let mut docs = Documents::default();
    let first = poll_once(&mut docs, std::slice::from_ref(&path)).3.batches[0].checkpoint.id;
    // Written to a temp file and renamed over it: another inode, same path.
    let tmp = dir.path().join("chat.json.tmp");
    std::fs::write(&tmp, "a 10\nb 7\nend\n").unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    let (outputs, _, _, poll) = poll_once(&mut docs, std::slice::from_ref(&path));
    assert_eq!(outputs, vec![7]);
    assert_eq!(poll.dropped, vec![first]);
    let second = poll.batches[0].checkpoint.id;
    assert_ne!(first, second);
    // Gone: its checkpoint is dropped, and a new file there is read afresh.
    std::fs::remove_file(&path).unwrap();
    let (_, _, _, poll) = poll_once(&mut docs, &[]);
    assert_eq!(poll.dropped, vec![second]);
    rewrite(&path, "a 10\nend\n");
    assert_eq!(poll_once(&mut docs, std::slice::from_ref(&path)).0, vec![10]);
}

#[test]
fn after_a_reset_every_document_is_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.json");
    rewrite(&path, "a 10\nend\n");
    let mut docs = Documents::default();
    assert_eq!(poll_once(&mut docs, std::slice::from_ref(&path)).0, vec![10]);
    docs.reset();
    assert_eq!(poll_once(&mut docs, std::slice::from_ref(&path)).0, vec![10]);
    assert_eq!(docs.sizes().collect::<Vec<_>>(), vec![(0, 9)]);
}
