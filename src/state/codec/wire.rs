//! The primitives of the compact journal encoding: LEB128 varints (zigzag
//! for signed numbers), decimals as an exact (scale, mantissa) pair, times
//! as seconds and nanoseconds, and names interned once per record.
//!
//! Nothing here rounds: a `Decimal` comes back with the same mantissa and
//! scale (so `0.0130` stays `0.0130`), a time with the same nanosecond.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// Bytes being written, with the record's name table.
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
    names: Vec<String>,
}

impl Writer {
    pub fn u64(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.buf.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.buf.push(n as u8);
    }

    pub fn i64(&mut self, n: i64) {
        self.u64(((n << 1) ^ (n >> 63)) as u64);
    }

    pub fn u8(&mut self, b: u8) {
        self.buf.push(b);
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    /// A name used again and again (source, account, app, model, user):
    /// its index in the record's table, the text only the first time.
    pub fn name(&mut self, s: &str) {
        match self.names.iter().position(|n| n == s) {
            Some(i) => self.u64(i as u64 + 1),
            None => {
                self.u64(0);
                self.str(s);
                self.names.push(s.to_string());
            }
        }
    }

    pub fn decimal(&mut self, d: Decimal) {
        self.u8(d.scale() as u8);
        let m = d.mantissa();
        // Zigzag over i128; a Decimal's mantissa has 96 bits, so it fits.
        let mut z = ((m << 1) ^ (m >> 127)) as u128;
        while z >= 0x80 {
            self.buf.push((z as u8) | 0x80);
            z >>= 7;
        }
        self.buf.push(z as u8);
    }

    pub fn time(&mut self, t: DateTime<Utc>) {
        self.i64(t.timestamp());
        self.u64(u64::from(t.timestamp_subsec_nanos()));
    }

    pub fn u128(&mut self, n: u128) {
        self.buf.extend_from_slice(&n.to_le_bytes());
    }
}

/// Bytes being read; every read checks its bounds and says what was cut.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    names: Vec<String>,
}

pub type WireResult<T> = Result<T, String>;

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, pos: 0, names: Vec::new() }
    }

    pub fn at_end(&self) -> bool {
        self.pos == self.bytes.len()
    }

    pub fn u8(&mut self) -> WireResult<u8> {
        let b = *self.bytes.get(self.pos).ok_or_else(|| format!("cut short at byte {}", self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self, max_bits: u32) -> WireResult<u128> {
        let mut n: u128 = 0;
        let mut shift = 0;
        loop {
            let b = self.u8()?;
            if shift >= max_bits {
                return Err(format!("a number too long at byte {}", self.pos - 1));
            }
            n |= u128::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
            shift += 7;
        }
    }

    pub fn u64(&mut self) -> WireResult<u64> {
        u64::try_from(self.varint(64)?).map_err(|_| format!("a number past 64 bits at byte {}", self.pos))
    }

    pub fn i64(&mut self) -> WireResult<i64> {
        let z = self.u64()?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    pub fn usize(&mut self) -> WireResult<usize> {
        usize::try_from(self.u64()?).map_err(|_| "a length past the address space".to_string())
    }

    pub fn bytes(&mut self) -> WireResult<&'a [u8]> {
        let len = self.usize()?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| format!("{len} bytes run past the end at byte {}", self.pos))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    pub fn str(&mut self) -> WireResult<String> {
        let at = self.pos;
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| format!("text that is not UTF-8 at byte {at}"))
    }

    pub fn name(&mut self) -> WireResult<String> {
        match self.usize()? {
            0 => {
                let s = self.str()?;
                self.names.push(s.clone());
                Ok(s)
            }
            i => self.names.get(i - 1).cloned().ok_or_else(|| format!("name {i} not defined before byte {}", self.pos)),
        }
    }

    pub fn decimal(&mut self) -> WireResult<Decimal> {
        let scale = u32::from(self.u8()?);
        let z = self.varint(98)?;
        let m = ((z >> 1) as i128) ^ -((z & 1) as i128);
        Decimal::try_from_i128_with_scale(m, scale).map_err(|e| format!("a decimal out of range at byte {}: {e}", self.pos))
    }

    pub fn time(&mut self) -> WireResult<DateTime<Utc>> {
        let secs = self.i64()?;
        let nanos = u32::try_from(self.u64()?).map_err(|_| "nanoseconds past u32".to_string())?;
        DateTime::from_timestamp(secs, nanos).ok_or_else(|| format!("a time out of range at byte {}", self.pos))
    }

    pub fn u128(&mut self) -> WireResult<u128> {
        let end = self.pos + 16;
        let b: [u8; 16] =
            self.bytes.get(self.pos..end).and_then(|b| b.try_into().ok()).ok_or_else(|| format!("an id cut short at byte {}", self.pos))?;
        self.pos = end;
        Ok(u128::from_le_bytes(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_decimals_times_and_names_come_back_exactly() {
        let mut w = Writer::default();
        let decimals = ["0", "0.0130", "-41.17", "79228162514264337593543950335", "-0.0000000000000000000000000001"];
        for n in [0u64, 1, 127, 128, u64::MAX] {
            w.u64(n);
        }
        for n in [0i64, -1, i64::MIN, i64::MAX] {
            w.i64(n);
        }
        for d in decimals {
            w.decimal(d.parse().unwrap());
        }
        let t: DateTime<Utc> = "2026-11-20T10:00:00.123456789Z".parse().unwrap();
        w.time(t);
        w.name("claude-opus-4-6");
        w.name("default");
        w.name("claude-opus-4-6");
        w.u128(u128::MAX - 7);
        let mut r = Reader::new(&w.buf);
        for n in [0u64, 1, 127, 128, u64::MAX] {
            assert_eq!(r.u64().unwrap(), n);
        }
        for n in [0i64, -1, i64::MIN, i64::MAX] {
            assert_eq!(r.i64().unwrap(), n);
        }
        for d in decimals {
            assert_eq!(r.decimal().unwrap().to_string(), d);
        }
        assert_eq!(r.time().unwrap(), t);
        assert_eq!([r.name().unwrap(), r.name().unwrap(), r.name().unwrap()], ["claude-opus-4-6", "default", "claude-opus-4-6"]);
        assert_eq!(r.u128().unwrap(), u128::MAX - 7);
        assert!(r.at_end());
    }

    #[test]
    fn cut_or_bad_bytes_are_errors_not_panics() {
        assert!(Reader::new(&[0x80]).u64().is_err());
        assert!(Reader::new(&[0xff; 11]).u64().is_err());
        assert!(Reader::new(&[5, b'a']).str().is_err());
        assert!(Reader::new(&[3]).name().is_err());
        assert!(Reader::new(&[40, 1]).decimal().is_err(), "scale past 28");
        assert!(Reader::new(&[0; 15]).u128().is_err());
    }
}
