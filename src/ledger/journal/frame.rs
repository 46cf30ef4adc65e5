//! The journal's record framing, with no files: `encode` payloads into
//! `[u32 LE length][u32 LE crc32c][payload]` records, and decode them back
//! with the torn-tail/damage verdict (see the `journal` module docs).
//!
//! The file paths (`Journal::open`, `verify`, `read`) run the same `scan`
//! over a `File`; `decode` runs it over a byte slice, so the fuzz target and
//! the unit tests exercise the code that reads the real journal.
//!
//! Invariants `decode` keeps (checked by `fuzz/fuzz_targets/journal.rs`):
//! records are contiguous from `from` and never empty; `summary.bytes` is the
//! end of the last whole record; re-encoding the records gives back exactly
//! the bytes they came from; with a torn tail, decoding the kept prefix gives
//! the same records and no torn tail; with damage, every byte before the
//! damage decodes cleanly.

use std::io::{self, BufReader, Read, Seek, SeekFrom};

use super::{Record, VerifySummary};

pub(super) const HEADER_LEN: u64 = 8;

/// Bytes that are not a journal from some offset on: a bad record with a
/// valid record after it (so not a torn last write), or a start offset past
/// the end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("damaged at byte offset {offset}: {reason}")]
pub struct Damage {
    pub offset: u64,
    pub reason: String,
}

/// The records read and what the scan found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Every whole record from the start offset (empty when not kept).
    pub records: Vec<Record>,
    pub summary: VerifySummary,
}

/// Frames payloads as journal records, in order. Payloads must be 1 byte to
/// 4 GiB (an empty payload would read back as the zeros a crash leaves).
pub fn encode(payloads: &[Vec<u8>]) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(payloads.iter().map(|p| p.len() + HEADER_LEN as usize).sum());
    for payload in payloads {
        let len = u32::try_from(payload.len())
            .ok()
            .filter(|&l| l > 0)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a journal payload must be 1 byte to 4 GiB"))?;
        buf.extend_from_slice(&len.to_le_bytes());
        buf.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
        buf.extend_from_slice(payload);
    }
    Ok(buf)
}

/// Decodes a whole journal held in memory, from `from` (a record boundary,
/// e.g. a snapshot's offset). A torn tail is reported in the summary, not
/// returned; damage is an error.
pub fn decode(bytes: &[u8], from: u64) -> Result<Decoded, Damage> {
    match scan(&mut io::Cursor::new(bytes), bytes.len() as u64, from, true) {
        Ok(verdict) => verdict,
        // A cursor only fails to read past its end, which the scan never
        // asks for; should it happen, it is no journal from `from` on.
        Err(e) => Err(Damage { offset: from, reason: format!("cannot read: {e}") }),
    }
}

/// Reads records from `from` to `len` (the source's length). I/O errors are
/// the outer error; the verdict on the bytes is the inner one.
pub(super) fn scan<R: Read + Seek>(source: &mut R, len: u64, from: u64, keep: bool) -> io::Result<Result<Decoded, Damage>> {
    if from > len {
        let reason =
            format!("the snapshot resumes at byte {from} but the journal is only {len} bytes long (the journal was cut or replaced)");
        return Ok(Err(Damage { offset: from, reason }));
    }
    source.seek(SeekFrom::Start(from))?;
    let mut reader = BufReader::new(&mut *source);
    let mut records = Vec::new();
    let mut count = 0;
    let mut pos = from;
    while pos < len {
        match read_record(&mut reader, len - pos)? {
            Ok(payload) => {
                let record = Record { offset: pos, payload };
                pos = record.end();
                count += 1;
                if keep {
                    records.push(record);
                }
            }
            Err(problem) => {
                drop(reader);
                return Ok(match next_valid_record(source, pos, len)? {
                    Some(next) => {
                        let reason = format!("{problem}, and a valid record follows at byte {next}, so this is not a torn last write");
                        Err(Damage { offset: pos, reason })
                    }
                    None => Ok(Decoded { records, summary: VerifySummary { records: count, bytes: pos, torn_tail: Some(pos) } }),
                });
            }
        }
    }
    Ok(Ok(Decoded { records, summary: VerifySummary { records: count, bytes: pos, torn_tail: None } }))
}

/// The next record, given the bytes left in the source: `Ok(Err(problem))`
/// when what is there is not a whole valid record.
fn read_record(reader: &mut impl Read, remaining: u64) -> io::Result<Result<Vec<u8>, String>> {
    if remaining < HEADER_LEN {
        return Ok(Err(format!("a record header cut short ({remaining} of 8 bytes)")));
    }
    let mut header = [0u8; HEADER_LEN as usize];
    reader.read_exact(&mut header)?;
    let (len, crc) = split_header(header);
    if len == 0 {
        return Ok(Err("a record of length 0".into()));
    }
    if u64::from(len) > remaining - HEADER_LEN {
        return Ok(Err(format!("a record of {len} bytes runs past the end of the file")));
    }
    let mut payload = vec![0u8; len as usize];
    reader.read_exact(&mut payload)?;
    if crc32c::crc32c(&payload) != crc {
        return Ok(Err("a record whose checksum does not match its payload".into()));
    }
    Ok(Ok(payload))
}

fn split_header(h: [u8; 8]) -> (u32, u32) {
    (u32::from_le_bytes([h[0], h[1], h[2], h[3]]), u32::from_le_bytes([h[4], h[5], h[6], h[7]]))
}

/// The offset of the first valid record starting after `bad` (the start of
/// a bad record), trying every byte position. Only on the error path, so it
/// reads the rest of the source at once.
fn next_valid_record<R: Read + Seek>(source: &mut R, bad: u64, len: u64) -> io::Result<Option<u64>> {
    source.seek(SeekFrom::Start(bad))?;
    let mut rest = Vec::new();
    source.take(len - bad).read_to_end(&mut rest)?;
    let found = (1..rest.len()).find(|&at| {
        let Some(header) = rest.get(at..at + HEADER_LEN as usize).and_then(|h| <[u8; 8]>::try_from(h).ok()) else {
            return false;
        };
        let (len, crc) = split_header(header);
        let start = at + HEADER_LEN as usize;
        len > 0 && rest.get(start..start + len as usize).is_some_and(|p| crc32c::crc32c(p) == crc)
    });
    Ok(found.map(|at| bad + at as u64))
}
