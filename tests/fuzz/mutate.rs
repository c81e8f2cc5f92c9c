//! Mutations that know nothing of the format: bit flips, overwrites, truncations, chunks.

use super::*;

// Mutations.

/// An integer field of a format, found in a seed file.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Field {
    pub(crate) at: usize,
    pub(crate) width: usize,
    pub(crate) big_endian: bool,
    pub(crate) what: &'static str,
}

impl Field {
    pub(crate) fn le(at: usize, width: usize, what: &'static str) -> Field {
        Field { at, width, big_endian: false, what }
    }
    pub(crate) fn be(at: usize, width: usize, what: &'static str) -> Field {
        Field { at, width, big_endian: true, what }
    }
    pub(crate) fn read(&self, b: &[u8]) -> Option<u64> {
        let s = b.get(self.at..self.at + self.width)?;
        let fold = |acc: u64, &x: &u8| (acc << 8) | u64::from(x);
        Some(if self.big_endian { s.iter().fold(0, fold) } else { s.iter().rev().fold(0, fold) })
    }
    pub(crate) fn write(&self, b: &mut [u8], v: u64) {
        if let Some(s) = b.get_mut(self.at..self.at + self.width) {
            for (i, x) in s.iter_mut().enumerate() {
                let shift = if self.big_endian { self.width - 1 - i } else { i };
                *x = (v >> (8 * shift)) as u8;
            }
        }
    }
}

/// A value worth writing into an integer field of `width` bytes that held `old`, in a file
/// of `len` bytes: limits, sign bits, 2^60, the file's length, or near the old value.
pub(crate) fn interesting(rng: &mut Rng, width: usize, old: u64, len: usize) -> u64 {
    let max = if width >= 8 { u64::MAX } else { (1u64 << (8 * width)) - 1 };
    let v = match rng.below(13) {
        0 => 0,
        1 => 1,
        2 => max,
        3 => max >> 1,
        4 => (max >> 1) + 1,
        5 => 1 << 60,
        6 => len as u64,
        7 => len as u64 + 1,
        8 => old.wrapping_add(1),
        9 => old.wrapping_sub(1),
        10 => old.wrapping_mul(2),
        11 => old.wrapping_add(1 << (rng.below(8 * width))),
        _ => rng.next() & max,
    };
    v.min(max)
}

pub(crate) fn set_field(f: &Field, bytes: &mut [u8], rng: &mut Rng) -> String {
    let old = f.read(bytes).unwrap_or(0);
    let v = interesting(rng, f.width, old, bytes.len());
    f.write(bytes, v);
    format!("{} at {} ({} bytes) {old} -> {v}", f.what, f.at, f.width)
}

/// One format-blind damage; returns what it did.
pub(crate) fn generic(bytes: &mut Vec<u8>, rng: &mut Rng) -> String {
    let len = bytes.len();
    if len == 0 {
        let b = rng.next() as u8;
        bytes.push(b);
        return format!("insert {b:#04x} into the empty file");
    }
    match rng.below(8) {
        0 => {
            let (at, bit) = (rng.below(len), rng.below(8));
            bytes[at] ^= 1 << bit;
            format!("flip bit {bit} of byte {at}")
        }
        1 => {
            let v = rng.interesting_byte();
            let at = rng.below(len);
            let end = (at + 1 + rng.below(4)).min(len);
            bytes[at..end].fill(v);
            format!("overwrite bytes {at}..{end} with {v:#04x}")
        }
        2 => {
            let at = rng.below(len);
            bytes.truncate(at);
            format!("truncate to {at} bytes")
        }
        3 => {
            let from = rng.below(len);
            let n = 1 + rng.below((len - from).min(256));
            let to = rng.below(len + 1);
            let chunk = bytes[from..from + n].to_vec();
            bytes.splice(to..to, chunk);
            format!("duplicate bytes {from}..{} at {to}", from + n)
        }
        4 => {
            let from = rng.below(len);
            let n = 1 + rng.below((len - from).min(256));
            bytes.drain(from..from + n);
            format!("remove bytes {from}..{}", from + n)
        }
        5 => {
            let at = rng.below(len + 1);
            let n = 1 + rng.below(8);
            let new: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            bytes.splice(at..at, new);
            format!("insert {n} random bytes at {at}")
        }
        6 => {
            let width = *rng.pick(&[1usize, 2, 4, 8]);
            let at = rng.below(len.saturating_sub(width) + 1);
            let f = Field { at, width, big_endian: rng.below(2) == 0, what: "integer" };
            set_field(&f, bytes, rng)
        }
        _ => {
            let n = 2 + rng.below(15);
            for _ in 0..n {
                let at = rng.below(len);
                bytes[at] = rng.next() as u8;
            }
            format!("{n} random bytes overwritten")
        }
    }
}
