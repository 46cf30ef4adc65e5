//! Splits a byte stream into lines, from a known offset, with bounded memory.
//!
//! Used both for one pass over a file (`report`, start-up scans) and for
//! following a file that is still written (`tail`): at the end of the data a
//! line without its newline is held, not returned, and the next call reads
//! on from where the file has grown. A line longer than the maximum is
//! skipped up to its newline and reported as `Oversized`, so one runaway line
//! cannot take the memory.

use std::io::{self, Read};

use memchr::memchr;

/// Bytes asked of the file per read once a reader is busy.
const CHUNK: usize = 64 * 1024;
/// A new reader starts small: ten thousand followed files, most of them
/// idle, must not hold ten thousand 64 KiB buffers.
const FIRST_BUFFER: usize = 4 * 1024;

/// One item of the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Item<'a> {
    /// A complete line, without its newline (and without a `\r` before it).
    Line { bytes: &'a [u8], number: u64, end_offset: u64 },
    /// A line past the maximum length, skipped.
    Oversized { number: u64, end_offset: u64 },
}

pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset of `buf[start]`: where the next line begins.
    offset: u64,
    /// Number of the next line (1-based).
    next_number: u64,
    max_line: usize,
    /// Inside an oversized line, discarding until its newline.
    skipping: bool,
}

impl<R: Read> LineReader<R> {
    /// `offset` and `line_number` say where `inner` is positioned: the reader
    /// counts from there.
    pub fn new(inner: R, offset: u64, next_line_number: u64, max_line: usize) -> LineReader<R> {
        LineReader {
            inner,
            buf: vec![0; FIRST_BUFFER],
            start: 0,
            end: 0,
            offset,
            next_number: next_line_number,
            max_line: max_line.max(1),
            skipping: false,
        }
    }

    /// The offset just past the last complete line returned.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn next_line_number(&self) -> u64 {
        self.next_number
    }

    /// Bytes read past the last complete line (a partial line).
    pub fn pending(&self) -> &[u8] {
        if self.skipping {
            &[]
        } else {
            &self.buf[self.start..self.end]
        }
    }

    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The next complete line, or `None` when the data so far is used up.
    pub fn next_item(&mut self) -> io::Result<Option<Item<'_>>> {
        loop {
            if let Some(pos) = memchr(b'\n', &self.buf[self.start..self.end]) {
                let line_start = self.start;
                let line_end = self.start + pos;
                self.start = line_end + 1;
                self.offset += (pos + 1) as u64;
                let number = self.next_number;
                self.next_number += 1;
                if std::mem::take(&mut self.skipping) {
                    return Ok(Some(Item::Oversized { number, end_offset: self.offset }));
                }
                let mut bytes = &self.buf[line_start..line_end];
                if let Some(stripped) = bytes.strip_suffix(b"\r") {
                    bytes = stripped;
                }
                return Ok(Some(Item::Line { bytes, number, end_offset: self.offset }));
            }
            // No newline in what we hold.
            if self.skipping {
                self.offset += (self.end - self.start) as u64;
                self.start = 0;
                self.end = 0;
            } else if self.end - self.start > self.max_line {
                self.skipping = true;
                self.offset += (self.end - self.start) as u64;
                self.start = 0;
                self.end = 0;
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Reads more bytes after the held ones; false at the end of the data.
    fn fill(&mut self) -> io::Result<bool> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < self.buf.len() / 4 {
            let want = (self.buf.len() * 2).min(self.max_line + CHUNK).max(self.end + FIRST_BUFFER);
            self.buf.resize(want, 0);
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Gives back memory after a long line, for readers kept around while
    /// following many files.
    pub fn shrink(&mut self) {
        if self.buf.len() > CHUNK && self.end - self.start <= FIRST_BUFFER {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            self.buf.truncate(FIRST_BUFFER);
            self.buf.shrink_to_fit();
        }
    }
}

/// Calls `f` with every complete line of `source` (oversized lines are
/// skipped, a last line without its newline is left out): a parser reading
/// lines for their context only.
pub fn each_line(source: impl Read, max_line: usize, mut f: impl FnMut(&[u8])) -> io::Result<()> {
    let mut reader = LineReader::new(source, 0, 1, max_line);
    while let Some(item) = reader.next_item()? {
        if let Item::Line { bytes, .. } = item {
            f(bytes);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(data: &[u8], max: usize) -> (Vec<String>, Vec<u8>, u64) {
        let mut r = LineReader::new(data, 0, 1, max);
        let mut out = Vec::new();
        while let Some(item) = r.next_item().unwrap() {
            out.push(match item {
                Item::Line { bytes, number, end_offset } => format!("{number}:{}@{end_offset}", String::from_utf8_lossy(bytes)),
                Item::Oversized { number, end_offset } => {
                    format!("{number}:OVERSIZED@{end_offset}")
                }
            });
        }
        (out, r.pending().to_vec(), r.offset())
    }

    #[test]
    fn each_line_gives_complete_lines_only() {
        let mut seen = Vec::new();
        each_line(&b"a\n\nbb\r\ncc"[..], 1000, |l| seen.push(String::from_utf8_lossy(l).into_owned())).unwrap();
        assert_eq!(seen, ["a", "", "bb"]);
    }

    #[test]
    fn splits_lines_and_holds_the_partial_tail() {
        let (lines, pending, offset) = items(b"a\nbb\r\n\nccc", 100);
        assert_eq!(lines, ["1:a@2", "2:bb@6", "3:@7"]);
        assert_eq!(pending, b"ccc");
        assert_eq!(offset, 7);
    }

    #[test]
    fn skips_oversized_lines_across_chunks() {
        let mut data = b"ok\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 3 * CHUNK + 7));
        data.extend(b"\nafter\n");
        let (lines, pending, offset) = items(&data, 1000);
        let end_big = 3 + 3 * CHUNK as u64 + 7 + 1;
        assert_eq!(lines, vec!["1:ok@3".to_string(), format!("2:OVERSIZED@{end_big}"), format!("3:after@{}", end_big + 6)]);
        assert!(pending.is_empty());
        assert_eq!(offset, data.len() as u64);
    }

    #[test]
    fn a_line_at_exactly_the_maximum_is_kept() {
        let mut data = vec![b'y'; 5000];
        data.push(b'\n');
        let (lines, _, _) = items(&data, 5000);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].starts_with("1:yyyy"));
    }

    #[test]
    fn follows_data_that_grows() {
        use std::io::Cursor;
        struct Growing(Cursor<Vec<u8>>);
        impl Read for Growing {
            fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
                self.0.read(b)
            }
        }
        let mut r = LineReader::new(Growing(Cursor::new(b"one\ntw".to_vec())), 0, 1, 100);
        assert!(matches!(r.next_item().unwrap(), Some(Item::Line { number: 1, .. })));
        assert!(r.next_item().unwrap().is_none());
        assert_eq!(r.pending(), b"tw");
        let pos = r.inner.0.position();
        r.inner.0.get_mut().extend_from_slice(b"o\n");
        r.inner.0.set_position(pos);
        match r.next_item().unwrap() {
            Some(Item::Line { bytes, number, end_offset }) => assert_eq!((bytes, number, end_offset), (&b"two"[..], 2, 8)),
            other => panic!("{other:?}"),
        }
    }
}
