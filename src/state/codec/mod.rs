//! The journal's record encoding: a `Record` as compact bytes.
//!
//! Most of the journal is one `Booked` and one `Entry::Debit` per booked
//! copy, so those two are written field by field (`wire`): names interned
//! once per record, token counts as varints, decimals as their exact scale
//! and mantissa, times as seconds and nanoseconds — about a tenth of the
//! JSON they replace. Every other ledger entry (top-ups, reloads,
//! reconciles, plan windows, and whatever variants come later) is kept as
//! its serde JSON, so a new `Entry` variant needs no change here.
//!
//! A payload starts with `FORMAT` (0xC2, never the first byte of JSON);
//! payloads that start with `{` are records of the JSON journal of earlier
//! releases and are read as such, so an old journal replays unchanged.
//!
//! `encode` destructures `Batch` and `Booked` field by field: a field added
//! to either fails to compile here until it is encoded.

pub(crate) mod wire;

use rust_decimal::Decimal;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::ledger::month::Month;
use crate::ledger::Entry;
use crate::sources::follow::fingerprint::FileId;
use crate::sources::follow::tail::Checkpoint;
use crate::state::seen::Seen;
use crate::state::{Batch, Booked, Record};
use crate::usage::{EventId, Tokens};
use wire::{Reader, WireResult, Writer};

/// First byte of a compact record (0xC0 | format version 2).
const FORMAT: u8 = 0xC2;
const BATCH: u8 = 0;
const LEDGER: u8 = 1;
const DEBIT: u8 = 0;
const JSON_ENTRY: u8 = 1;

// Flags of one `Booked`.
const NEW_REQUEST: u8 = 1;
const UNPRICED: u8 = 2;
const HAS_USER: u8 = 4;
/// `seen` holds exactly the tokens and cost booked (a request's first copy).
const SEEN_IS_BOOKED: u8 = 8;
/// `seen.at` is the event time's second (not the later booking time).
const SEEN_AT_EVENT: u8 = 16;
/// GitHub Copilot premium requests follow the cache savings.
const HAS_PREMIUM: u8 = 32;
/// The person's share differs from `cost` (`Booked::user_cost`).
const HAS_USER_COST: u8 = 64;

// Flags of one `Entry::Debit`.
const DEDUCTED: u8 = 1;
const DEBIT_HAS_PREMIUM: u8 = 2;

pub fn encode(record: &Record) -> Vec<u8> {
    let mut w = Writer::default();
    w.u8(FORMAT);
    match record {
        Record::Batch(batch) => {
            w.u8(BATCH);
            batch_to(&mut w, batch);
        }
        Record::Ledger(entries) => {
            w.u8(LEDGER);
            entries_to(&mut w, entries);
        }
    }
    w.buf
}

pub fn decode(payload: &[u8]) -> Result<Record, String> {
    match payload.first() {
        Some(b'{') => serde_json::from_slice(payload).map_err(|e| format!("a JSON record that cannot be read: {e}")),
        Some(&FORMAT) => {
            let mut r = Reader::new(&payload[1..]);
            let record = match r.u8()? {
                BATCH => Record::Batch(batch_from(&mut r)?),
                LEDGER => Record::Ledger(entries_from(&mut r)?),
                kind => return Err(format!("unknown record kind {kind}")),
            };
            if !r.at_end() {
                return Err("bytes left after the record".into());
            }
            Ok(record)
        }
        Some(b) => Err(format!("unknown record format 0x{b:02x} (written by a newer creditwatch?)")),
        None => Err("an empty record".into()),
    }
}

fn batch_to(w: &mut Writer, batch: &Batch) {
    let Batch { usage, ledger, checkpoints, dropped, lines, forget_before, row_checkpoints } = batch;
    w.u64(usage.len() as u64);
    for b in usage {
        booked_to(w, b);
    }
    entries_to(w, ledger);
    w.u64(checkpoints.len() as u64);
    for cp in checkpoints {
        let Checkpoint { id, source, path, offset, next_line } = cp;
        file_id_to(w, id);
        w.name(source);
        w.bytes(path.as_os_str().as_bytes());
        w.u64(*offset);
        w.u64(*next_line);
    }
    w.u64(dropped.len() as u64);
    for id in dropped {
        file_id_to(w, id);
    }
    w.u64(lines.len() as u64);
    for (source, counts) in lines {
        w.name(source);
        counts.iter().for_each(|&c| w.u64(c));
    }
    match forget_before {
        Some(t) => {
            w.u8(1);
            w.i64(*t);
        }
        None => w.u8(0),
    }
    // Rare (one per database per round): JSON keeps them simple.
    match row_checkpoints.is_empty() {
        true => w.bytes(&[]),
        false => w.bytes(&serde_json::to_vec(row_checkpoints).unwrap_or_default()),
    }
}

fn batch_from(r: &mut Reader) -> WireResult<Batch> {
    let mut batch = Batch::default();
    for _ in 0..r.u64()? {
        batch.usage.push(booked_from(r)?);
    }
    batch.ledger = entries_from(r)?;
    for _ in 0..r.u64()? {
        let id = file_id_from(r)?;
        let source = r.name()?;
        let path = PathBuf::from(OsStr::from_bytes(r.bytes()?));
        batch.checkpoints.push(Checkpoint { id, source, path, offset: r.u64()?, next_line: r.u64()? });
    }
    for _ in 0..r.u64()? {
        batch.dropped.push(file_id_from(r)?);
    }
    for _ in 0..r.u64()? {
        let source = r.name()?;
        batch.lines.push((source, [r.u64()?, r.u64()?, r.u64()?, r.u64()?]));
    }
    batch.forget_before = match r.u8()? {
        0 => None,
        _ => Some(r.i64()?),
    };
    let rows = r.bytes()?;
    if !rows.is_empty() {
        batch.row_checkpoints = serde_json::from_slice(rows).map_err(|e| format!("database checkpoints: {e}"))?;
    }
    Ok(batch)
}

fn booked_to(w: &mut Writer, b: &Booked) {
    let Booked {
        source,
        account,
        app,
        model,
        id,
        at,
        tokens,
        cost,
        new_request,
        unpriced,
        seen,
        user,
        cache_savings,
        premium_requests,
        user_cost,
    } = b;
    let seen_is_booked = seen.tokens == *tokens && seen.cost == *cost;
    let seen_at_event = seen.at == at.timestamp();
    let flags = [
        (*new_request, NEW_REQUEST),
        (*unpriced, UNPRICED),
        (user.is_some(), HAS_USER),
        (seen_is_booked, SEEN_IS_BOOKED),
        (seen_at_event, SEEN_AT_EVENT),
        (!premium_requests.is_zero(), HAS_PREMIUM),
        (user_cost.is_some(), HAS_USER_COST),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .fold(0, |f, (_, bit)| f | bit);
    w.u8(flags);
    for name in [source, account, app, model] {
        w.name(name);
    }
    if let Some(user) = user {
        w.name(user);
    }
    w.u128(id.0);
    w.time(*at);
    tokens_to(w, tokens);
    w.decimal(*cost);
    w.decimal(*cache_savings);
    if !premium_requests.is_zero() {
        w.decimal(*premium_requests);
    }
    if let Some(user_cost) = user_cost {
        w.decimal(*user_cost);
    }
    if !seen_is_booked {
        tokens_to(w, &seen.tokens);
        w.decimal(seen.cost);
    }
    w.u64(seen.web_searches);
    if !seen_at_event {
        w.i64(seen.at);
    }
}

fn booked_from(r: &mut Reader) -> WireResult<Booked> {
    let flags = r.u8()?;
    let [source, account, app, model] = [r.name()?, r.name()?, r.name()?, r.name()?];
    let user = if flags & HAS_USER != 0 { Some(r.name()?) } else { None };
    let id = EventId(r.u128()?);
    let at = r.time()?;
    let tokens = tokens_from(r)?;
    let cost = r.decimal()?;
    let cache_savings = r.decimal()?;
    let premium_requests = if flags & HAS_PREMIUM != 0 { r.decimal()? } else { Decimal::ZERO };
    let user_cost = if flags & HAS_USER_COST != 0 { Some(r.decimal()?) } else { None };
    let (seen_tokens, seen_cost) = if flags & SEEN_IS_BOOKED != 0 { (tokens, cost) } else { (tokens_from(r)?, r.decimal()?) };
    let web_searches = r.u64()?;
    let seen_at = if flags & SEEN_AT_EVENT != 0 { at.timestamp() } else { r.i64()? };
    Ok(Booked {
        source,
        account,
        app,
        model,
        id,
        at,
        tokens,
        cost,
        new_request: flags & NEW_REQUEST != 0,
        unpriced: flags & UNPRICED != 0,
        seen: Seen { tokens: seen_tokens, web_searches, cost: seen_cost, at: seen_at },
        user,
        cache_savings,
        premium_requests,
        user_cost,
    })
}

fn entries_to(w: &mut Writer, entries: &[Entry]) {
    w.u64(entries.len() as u64);
    for entry in entries {
        match entry {
            Entry::Debit { account, app, at, month, cost, from_allowance, from_balance, deducted, from_plan, premium_requests } => {
                w.u8(DEBIT);
                w.name(account);
                w.name(app);
                w.time(*at);
                w.i64(i64::from(month.year()));
                w.u8(month.month() as u8);
                for d in [cost, from_allowance, from_balance, from_plan] {
                    w.decimal(*d);
                }
                let premium = !premium_requests.is_zero();
                w.u8(if *deducted { DEDUCTED } else { 0 } | if premium { DEBIT_HAS_PREMIUM } else { 0 });
                if premium {
                    w.decimal(*premium_requests);
                }
            }
            other => {
                w.u8(JSON_ENTRY);
                // An `Entry` is plain data: serializing it cannot fail.
                w.bytes(&serde_json::to_vec(other).unwrap_or_default());
            }
        }
    }
}

fn entries_from(r: &mut Reader) -> WireResult<Vec<Entry>> {
    let mut entries = Vec::new();
    for _ in 0..r.u64()? {
        entries.push(match r.u8()? {
            DEBIT => {
                let (account, app, at) = (r.name()?, r.name()?, r.time()?);
                let year = i32::try_from(r.i64()?).map_err(|_| "a year out of range".to_string())?;
                let month = Month::new(year, u32::from(r.u8()?)).ok_or("a month out of range")?;
                let [cost, from_allowance, from_balance, from_plan] = [r.decimal()?, r.decimal()?, r.decimal()?, r.decimal()?];
                let flags = r.u8()?;
                let premium_requests = if flags & DEBIT_HAS_PREMIUM != 0 { r.decimal()? } else { Decimal::ZERO };
                let deducted = flags & DEDUCTED != 0;
                Entry::Debit { account, app, at, month, cost, from_allowance, from_balance, deducted, from_plan, premium_requests }
            }
            JSON_ENTRY => serde_json::from_slice(r.bytes()?).map_err(|e| format!("a ledger entry: {e}"))?,
            kind => return Err(format!("unknown entry kind {kind}")),
        });
    }
    Ok(entries)
}

fn tokens_to(w: &mut Writer, t: &Tokens) {
    t.by_kind().into_iter().for_each(|n| w.u64(n));
}

fn tokens_from(r: &mut Reader) -> WireResult<Tokens> {
    Ok(Tokens { input: r.u64()?, output: r.u64()?, cache_write_5m: r.u64()?, cache_write_1h: r.u64()?, cache_read: r.u64()? })
}

fn file_id_to(w: &mut Writer, id: &FileId) {
    w.u64(id.dev);
    w.u64(id.ino);
    // A hash: as wide as it is, whatever its value.
    w.buf.extend_from_slice(&id.head.to_le_bytes());
}

fn file_id_from(r: &mut Reader) -> WireResult<FileId> {
    let (dev, ino) = (r.u64()?, r.u64()?);
    let head = (0..8).try_fold(0u64, |h, i| Ok::<_, String>(h | (u64::from(r.u8()?) << (8 * i))))?;
    Ok(FileId { dev, ino, head })
}

#[cfg(test)]
mod tests;
