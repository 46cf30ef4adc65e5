//! TEMPORARY shim with the agreed API, replaced by the ledger branch on merge.
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

pub struct Record {
    pub offset: u64,
    pub payload: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{0}")]
    Io(#[from] io::Error),
}

pub struct Journal {
    file: File,
    len: u64,
}

impl Journal {
    pub fn open(dir: &Path, from_offset: u64) -> Result<(Journal, Vec<Record>), JournalError> {
        let path = dir.join("journal.cwj");
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(&path)?;
        let mut data = Vec::new();
        file.read_to_end(&mut data)?;
        let mut records = Vec::new();
        let mut at = from_offset as usize;
        while at + 8 <= data.len() {
            let len = u32::from_le_bytes(data[at..at + 4].try_into().unwrap_or([0; 4])) as usize;
            let crc = u32::from_le_bytes(data[at + 4..at + 8].try_into().unwrap_or([0; 4]));
            if at + 8 + len > data.len() || crc32c::crc32c(&data[at + 8..at + 8 + len]) != crc {
                break;
            }
            records.push(Record { offset: at as u64, payload: data[at + 8..at + 8 + len].to_vec() });
            at += 8 + len;
        }
        file.set_len(at as u64)?;
        Ok((Journal { file, len: at as u64 }, records))
    }
    pub fn append(&mut self, payloads: &[Vec<u8>]) -> io::Result<u64> {
        let mut buf = Vec::new();
        for p in payloads {
            buf.extend((p.len() as u32).to_le_bytes());
            buf.extend(crc32c::crc32c(p).to_le_bytes());
            buf.extend(p);
        }
        self.file.write_all(&buf)?;
        self.file.sync_data()?;
        self.len += buf.len() as u64;
        Ok(self.len)
    }
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    let mut f = File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

pub fn save_snapshot(dir: &Path, offset: u64, bytes: &[u8]) -> io::Result<()> {
    let mut all = offset.to_le_bytes().to_vec();
    all.extend(bytes);
    write_atomic(&dir.join("snapshot.bin"), &all)
}

pub fn load_snapshot(dir: &Path) -> io::Result<Option<(u64, Vec<u8>)>> {
    match std::fs::read(dir.join("snapshot.bin")) {
        Ok(d) if d.len() >= 8 => Ok(Some((u64::from_le_bytes(d[..8].try_into().unwrap_or([0; 8])), d[8..].to_vec()))),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

pub struct StateLock(#[allow(dead_code)] File);

impl StateLock {
    pub fn acquire(dir: &Path) -> io::Result<StateLock> {
        let f = File::create(dir.join("lock"))?;
        f.try_lock().map_err(|e| io::Error::other(format!("{}: {e:?}", dir.display())))?;
        Ok(StateLock(f))
    }
}

/// Every record, read-only (a torn tail is left alone and not returned).
pub fn read_all(dir: &Path) -> Result<Vec<Record>, JournalError> {
    let data = match std::fs::read(dir.join("journal.cwj")) {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut records = Vec::new();
    let mut at = 0usize;
    while at + 8 <= data.len() {
        let len = u32::from_le_bytes(data[at..at + 4].try_into().unwrap_or([0; 4])) as usize;
        let crc = u32::from_le_bytes(data[at + 4..at + 8].try_into().unwrap_or([0; 4]));
        if at + 8 + len > data.len() || crc32c::crc32c(&data[at + 8..at + 8 + len]) != crc {
            break;
        }
        records.push(Record { offset: at as u64, payload: data[at + 8..at + 8 + len].to_vec() });
        at += 8 + len;
    }
    Ok(records)
}
