//! Mutation fuzzing of every file reader, on the host only (no GPU device is opened).
//!
//! Valid files from `tests/fixtures` are damaged by seeded, reproducible mutations (bit
//! flips; bytes overwritten with 0, 0xff, 0x7f or 0x80; truncations; chunks duplicated,
//! removed or inserted; integers written anywhere) and by format-aware ones (zip headers'
//! sizes, offsets and counts; pickle opcodes' lengths and integers, opcodes removed,
//! duplicated or widened to 8-byte integers such as 2^60; the legacy format's storage
//! counts; safetensors' header length, offsets, shapes and dtypes; PNG chunks with their
//! CRC recomputed; JPEG segment lengths and frame sizes), then read by:
//!
//! - `pth-zip`: [`Entry::from_bytes`] on `torch.save` zip checkpoints (PyTorch >= 1.6);
//! - `pth-legacy`: the same on legacy (pre-1.6) checkpoints;
//! - `pickle`: the restricted unpickler, a zip checkpoint's `data.pkl` mutated and zipped
//!   again with the checkpoint's storages, so tensors are materialised too;
//! - `safetensors`: [`gantry::io::parse_safetensors`];
//! - `png` and `jpeg`: [`gantry::io::image::decode_rgb`] (what `read_rgb` decodes with).
//!
//! Every input must give `Ok` or `Err`. A panic (or a tensor whose shape does not match
//! its data) fails the test and prints the reader, the case, the seed file and the
//! mutations; a case still running after [`HANG`] fails it too; an allocation of more than
//! 512 MiB aborts the whole binary after naming the case. Each reader prints how many inputs
//! it read, how many were refused, and its slowest case.
//!
//! The environment scales and replays a campaign:
//! - `GANTRY_FUZZ_ITERS=N`: N inputs per reader (default [`DEFAULT_ITERS`], about 2 s for
//!   all six on two cores), e.g. `GANTRY_FUZZ_ITERS=1000000 cargo test --test fuzz --
//!   --nocapture` (the test profile keeps overflow checks, which release builds drop);
//! - `GANTRY_FUZZ_SEED=S`: the campaign's seed (decimal or `0x` hex; default [`SEED`]);
//! - `GANTRY_FUZZ_CASE=READER:I`: only case I of READER, its mutations printed (what a
//!   failure says to run).

use gantry::io::image::decode_rgb;
use gantry::io::{parse_safetensors, Entry, HostData, HostTensor};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Inputs per reader unless `GANTRY_FUZZ_ITERS` says otherwise.
const DEFAULT_ITERS: u64 = 20_000;
/// The campaign's seed unless `GANTRY_FUZZ_SEED` says otherwise.
const SEED: u64 = 0x6761_6e74_7279_0013;
/// How long one input may take before the reader counts as hung.
const HANG: Duration = Duration::from_secs(10);
/// The largest single allocation a reader may ask for: what `decode_rgb` allows an image;
/// the checkpoint readers need far less for these seeds. Anything larger came from a size
/// read out of a damaged field.
const MAX_ALLOC: usize = 512 << 20;

// ---------------------------------------------------------------------------------------
// An allocator that refuses huge requests, naming the case that made them.

thread_local! {
    /// The reader and case this thread is fuzzing, for the allocator's message.
    static CURRENT: Cell<Option<(&'static str, u64)>> = const { Cell::new(None) };
}

struct Capped;

impl Capped {
    fn refuse(size: usize) -> *mut u8 {
        use std::io::Write;
        let case = CURRENT.try_with(Cell::get).ok().flatten();
        if let Some((reader, i)) = case {
            let _ = writeln!(
                std::io::stderr(),
                "fuzz: reader {reader}, case {i}, asked for one allocation of {size} bytes; \
                 rerun it with GANTRY_FUZZ_CASE={reader}:{i} (and the same GANTRY_FUZZ_SEED)"
            );
        }
        std::ptr::null_mut()
    }
}

unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOC {
            return Self::refuse(layout.size());
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOC {
            return Self::refuse(layout.size());
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > MAX_ALLOC {
            return Self::refuse(new_size);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Capped = Capped;

// ---------------------------------------------------------------------------------------
// Randomness: splitmix64, one independent stream per case.

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform in 0..n (0 when n is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    /// 0, 0xff, 0x7f, 0x80 or a random byte.
    fn interesting_byte(&mut self) -> u8 {
        let random = self.next() as u8;
        *self.pick(&[0, 0xff, 0x7f, 0x80, random])
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn case_rng(seed: u64, reader: &str, case: u64) -> Rng {
    let name = reader
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    Rng(mix(seed ^ mix(name) ^ mix(case.wrapping_add(1))))
}

// ---------------------------------------------------------------------------------------
// Mutations.

/// An integer field of a format, found in a seed file.
#[derive(Clone, Copy, Debug)]
struct Field {
    at: usize,
    width: usize,
    big_endian: bool,
    what: &'static str,
}

impl Field {
    fn le(at: usize, width: usize, what: &'static str) -> Field {
        Field { at, width, big_endian: false, what }
    }
    fn be(at: usize, width: usize, what: &'static str) -> Field {
        Field { at, width, big_endian: true, what }
    }
    fn read(&self, b: &[u8]) -> Option<u64> {
        let s = b.get(self.at..self.at + self.width)?;
        let fold = |acc: u64, &x: &u8| (acc << 8) | u64::from(x);
        Some(if self.big_endian { s.iter().fold(0, fold) } else { s.iter().rev().fold(0, fold) })
    }
    fn write(&self, b: &mut [u8], v: u64) {
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
fn interesting(rng: &mut Rng, width: usize, old: u64, len: usize) -> u64 {
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

fn set_field(f: &Field, bytes: &mut [u8], rng: &mut Rng) -> String {
    let old = f.read(bytes).unwrap_or(0);
    let v = interesting(rng, f.width, old, bytes.len());
    f.write(bytes, v);
    format!("{} at {} ({} bytes) {old} -> {v}", f.what, f.at, f.width)
}

/// One format-blind damage; returns what it did.
fn generic(bytes: &mut Vec<u8>, rng: &mut Rng) -> String {
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

// ---------------------------------------------------------------------------------------
// Formats: fields and format-aware damage.

/// A file to start from, with what its format says about it.
struct Seed {
    name: String,
    bytes: Vec<u8>,
    fields: Vec<Field>,
    /// Pickle opcodes (position, length), for the pickle-aware mutations.
    ops: Vec<(usize, usize)>,
    /// For the `pickle` reader: the zip entries the mutated `data.pkl` goes back among.
    entries: Vec<(String, Vec<u8>)>,
}

fn fixture(name: &str) -> (String, Vec<u8>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (name.to_string(), bytes)
}

fn u16_le(b: &[u8], at: usize) -> usize {
    b.get(at..at + 2).map_or(0, |s| usize::from(u16::from_le_bytes([s[0], s[1]])))
}

fn u32_le(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u32_be(b: &[u8], at: usize) -> usize {
    b.get(at..at + 4).map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)
}

/// The size, offset and count fields of every zip record found in `b`.
fn zip_fields(b: &[u8]) -> Vec<Field> {
    let mut out = Vec::new();
    for i in 0..b.len().saturating_sub(4) {
        match u32_le(b, i) {
            0x0403_4b50 => {
                out.push(Field::le(i + 18, 4, "local compressed size"));
                out.push(Field::le(i + 22, 4, "local size"));
                out.push(Field::le(i + 26, 2, "local name length"));
                out.push(Field::le(i + 28, 2, "local extra length"));
            }
            0x0201_4b50 => {
                out.push(Field::le(i + 10, 2, "method"));
                out.push(Field::le(i + 20, 4, "compressed size"));
                out.push(Field::le(i + 24, 4, "size"));
                out.push(Field::le(i + 28, 2, "name length"));
                out.push(Field::le(i + 30, 2, "extra length"));
                out.push(Field::le(i + 32, 2, "comment length"));
                out.push(Field::le(i + 42, 4, "local header offset"));
                let (extra, end) =
                    (i + 46 + u16_le(b, i + 28), i + 46 + u16_le(b, i + 28) + u16_le(b, i + 30));
                let mut x = extra;
                while x + 4 <= end.min(b.len()) {
                    out.push(Field::le(x, 2, "extra field id"));
                    out.push(Field::le(x + 2, 2, "extra field length"));
                    if u16_le(b, x) == 1 {
                        for k in 0..u16_le(b, x + 2) / 8 {
                            out.push(Field::le(x + 4 + 8 * k, 8, "zip64 value"));
                        }
                    }
                    x += 4 + u16_le(b, x + 2);
                }
            }
            0x0605_4b50 => {
                out.push(Field::le(i + 8, 2, "entries on disk"));
                out.push(Field::le(i + 10, 2, "entry count"));
                out.push(Field::le(i + 12, 4, "directory size"));
                out.push(Field::le(i + 16, 4, "directory offset"));
                out.push(Field::le(i + 20, 2, "comment length"));
            }
            0x0606_4b50 => {
                out.push(Field::le(i + 4, 8, "zip64 record size"));
                out.push(Field::le(i + 24, 8, "zip64 entries on disk"));
                out.push(Field::le(i + 32, 8, "zip64 entry count"));
                out.push(Field::le(i + 40, 8, "zip64 directory size"));
                out.push(Field::le(i + 48, 8, "zip64 directory offset"));
            }
            0x0706_4b50 => out.push(Field::le(i + 8, 8, "zip64 record offset")),
            _ => {}
        }
    }
    out
}

/// Walks `pickles` pickles from byte `at`: every opcode (position, length), the opcodes'
/// integer and length fields, and where the walk ended.
fn pickle_ops(b: &[u8], mut at: usize, pickles: usize) -> (Vec<(usize, usize)>, Vec<Field>, usize) {
    let (mut ops, mut fields, mut done) = (Vec::new(), Vec::new(), 0);
    while done < pickles && at < b.len() {
        let op = b[at];
        let fixed = |n: usize, what| (1 + n, Some(Field::le(at + 1, n, what)));
        let counted = |w: usize, what| {
            let n = Field::le(at + 1, w, what).read(b).unwrap_or(0) as usize;
            (1 + w + n, Some(Field::le(at + 1, w, what)))
        };
        let (len, field) = match op {
            0x80 => fixed(1, "PROTO"),
            0x95 => fixed(8, "FRAME length"),
            b'q' | b'h' => fixed(1, "memo key"),
            b'r' | b'j' => fixed(4, "memo key"),
            b'J' => fixed(4, "BININT"),
            b'K' => fixed(1, "BININT1"),
            b'M' => fixed(2, "BININT2"),
            b'G' => (9, Some(Field::be(at + 1, 8, "BINFLOAT"))),
            b'X' | b'T' | b'B' => counted(4, "string length"),
            b'U' | b'C' | 0x8c => counted(1, "string length"),
            0x8d => counted(8, "string length"),
            0x8a => counted(1, "LONG1 length"),
            0x8b => counted(4, "LONG4 length"),
            b'c' => {
                let lines = b[at + 1..].iter().enumerate().filter(|(_, &c)| c == b'\n').nth(1);
                match lines {
                    Some((end, _)) => (end + 2, None),
                    None => break,
                }
            }
            b'}'
            | b']'
            | b')'
            | b'('
            | 0x93
            | 0x94
            | 0x88
            | 0x89
            | b'N'
            | b't'
            | 0x85..=0x87
            | b'l'
            | b'd'
            | b'R'
            | 0x81
            | b'b'
            | b's'
            | b'u'
            | b'a'
            | b'e'
            | b'Q'
            | b'0'
            | b'1'
            | b'2' => (1, None),
            b'.' => {
                done += 1;
                (1, None)
            }
            _ => break,
        };
        ops.push((at, len));
        fields.extend(field);
        at += len;
    }
    (ops, fields, at)
}

/// The pickle-aware damage: a field set, an integer widened to LONG1 (2^60, -1, …), or an
/// opcode removed, duplicated or replaced.
fn pickle_mutation(seed: &Seed, bytes: &mut Vec<u8>, rng: &mut Rng) -> String {
    if seed.ops.is_empty() || bytes.len() != seed.bytes.len() {
        // An earlier mutation moved the opcodes: damage a field where it was anyway.
        return field_mutation(seed, bytes, rng);
    }
    let &(at, len) = rng.pick(&seed.ops);
    match rng.below(5) {
        0 | 1 if !seed.fields.is_empty() => set_field(rng.pick(&seed.fields), bytes, rng),
        2 if matches!(bytes[at], b'J' | b'K' | b'M') => {
            let v = *rng.pick(&[1i64 << 60, i64::MAX, i64::MIN, -1, 1 << 32, 1 << 31]);
            let long = [&[0x8a, 8][..], &v.to_le_bytes()].concat();
            bytes.splice(at..at + len, long);
            format!("the integer at {at} widened to LONG1 {v}")
        }
        3 => {
            let copy = bytes[at..at + len].to_vec();
            bytes.splice(at..at, copy);
            format!("opcode {:#04x} at {at} duplicated", bytes[at])
        }
        2 | 4 => {
            let op = bytes[at];
            bytes.drain(at..at + len);
            format!("opcode {op:#04x} at {at} removed")
        }
        _ => {
            let new = *rng.pick(b"}])(.tlsdabeu0123RQ\x81\x85\x86\x87\x88\x89\x93\x94N");
            bytes[at] = new;
            format!("opcode at {at} replaced by {new:#04x}")
        }
    }
}

/// The decimal numbers of a safetensors header: (start, end) byte ranges.
fn header_numbers(b: &[u8]) -> Vec<(usize, usize)> {
    let end = (8 + u64::from_le_bytes(b[..8].try_into().unwrap()).min(b.len() as u64) as usize).min(b.len());
    let mut out = Vec::new();
    let mut i = 8;
    while i < end {
        if b[i].is_ascii_digit() || b[i] == b'-' {
            let start = i;
            i += 1;
            while i < end && b[i].is_ascii_digit() {
                i += 1;
            }
            out.push((start, i));
        } else {
            i += 1;
        }
    }
    out
}

/// Replaces `range` of a safetensors file, fixing the header's length half the time.
fn splice_header(
    bytes: &mut Vec<u8>,
    range: std::ops::Range<usize>,
    new: &[u8],
    rng: &mut Rng,
) -> &'static str {
    let delta = new.len() as i64 - range.len() as i64;
    bytes.splice(range, new.iter().copied());
    if rng.below(2) == 0 {
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap());
        bytes[..8].copy_from_slice(&n.wrapping_add_signed(delta).to_le_bytes());
        ", header length fixed"
    } else {
        ""
    }
}

fn safetensors_mutation(_: &Seed, bytes: &mut Vec<u8>, rng: &mut Rng) -> String {
    if bytes.len() < 8 {
        return generic(bytes, rng);
    }
    match rng.below(4) {
        0 => set_field(&Field::le(0, 8, "header length"), bytes, rng),
        1 | 2 => {
            let numbers = header_numbers(bytes);
            if numbers.is_empty() {
                return generic(bytes, rng);
            }
            let &(start, end) = rng.pick(&numbers);
            let old: u64 =
                std::str::from_utf8(&bytes[start..end]).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
            let new = match rng.below(4) {
                0 => rng
                    .pick(&["-1", "99999999999999999999", "18446744073709551615", "1.5", "1e3"])
                    .to_string(),
                _ => interesting(rng, 8, old, bytes.len()).to_string(),
            };
            let fixed = splice_header(bytes, start..end, new.as_bytes(), rng);
            format!("header number at {start} {old} -> {new}{fixed}")
        }
        _ => {
            let key = b"\"dtype\":\"";
            let hits: Vec<usize> =
                bytes.windows(key.len()).enumerate().filter(|(_, w)| w == key).map(|(i, _)| i).collect();
            let Some(&at) = hits.get(rng.below(hits.len())) else { return generic(bytes, rng) };
            let start = at + key.len();
            let Some(len) = bytes[start..].iter().position(|&c| c == b'"') else {
                return generic(bytes, rng);
            };
            let new = *rng.pick(&[
                "F32", "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "U64", "F8_E4M3", "F4",
                "X", "",
            ]);
            let fixed = splice_header(bytes, start..start + len, new.as_bytes(), rng);
            format!("dtype at {start} -> {new:?}{fixed}")
        }
    }
}

/// PNG's CRC-32.
fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

/// The chunks of a PNG: (start of the length field, data length), while they fit.
fn png_chunks(b: &[u8]) -> Vec<(usize, usize)> {
    let (mut at, mut out) = (8, Vec::new());
    while at + 12 <= b.len() {
        let n = u32_be(b, at);
        if at + 12 + n > b.len() {
            break;
        }
        out.push((at, n));
        at += 12 + n;
    }
    out
}

fn png_mutation(_: &Seed, bytes: &mut Vec<u8>, rng: &mut Rng) -> String {
    let chunks = png_chunks(bytes);
    let Some(&(at, n)) = chunks.get(rng.below(chunks.len())) else { return generic(bytes, rng) };
    let kind = String::from_utf8_lossy(&bytes[at + 4..at + 8]).into_owned();
    let what = match rng.below(6) {
        0 => set_field(&Field::be(at, 4, "chunk length"), bytes, rng),
        1 | 2 if kind == "IHDR" && n >= 13 => {
            let f = *rng.pick(&[
                Field::be(at + 8, 4, "width"),
                Field::be(at + 12, 4, "height"),
                Field::be(at + 16, 1, "bit depth"),
                Field::be(at + 17, 1, "colour type"),
                Field::be(at + 18, 1, "compression"),
                Field::be(at + 19, 1, "filter"),
                Field::be(at + 20, 1, "interlace"),
            ]);
            set_field(&f, bytes, rng)
        }
        1..=3 if n > 0 => {
            let k = 1 + rng.below(4);
            for _ in 0..k {
                let i = at + 8 + rng.below(n);
                bytes[i] = rng.interesting_byte();
            }
            format!("{k} bytes of {kind} at {at} overwritten")
        }
        4 => {
            let chunk = bytes[at..at + 12 + n].to_vec();
            bytes.splice(at..at, chunk);
            return format!("chunk {kind} at {at} duplicated");
        }
        _ => {
            bytes.drain(at..at + 12 + n);
            return format!("chunk {kind} at {at} removed");
        }
    };
    // Recompute the CRC (over the chunk as it is now) three times in four, so that the
    // decoder reads past the checksum into the damaged values.
    let n = u32_be(bytes, at);
    if rng.below(4) > 0 && at + 12 + n <= bytes.len() {
        let crc = crc32(&bytes[at + 4..at + 8 + n]);
        bytes[at + 8 + n..at + 12 + n].copy_from_slice(&crc.to_be_bytes());
        format!("{what}, CRC fixed")
    } else {
        what
    }
}

/// The fields of a JPEG's segments up to the scan: lengths, frame size and components,
/// table ids, the restart interval.
fn jpeg_fields(b: &[u8]) -> Vec<Field> {
    let (mut at, mut out) = (2, Vec::new());
    while at + 4 <= b.len() && b[at] == 0xff {
        let marker = b[at + 1];
        if matches!(marker, 0xd0..=0xd9 | 0x01) {
            at += 2;
            continue;
        }
        let len = u16_le(&[b[at + 3], b[at + 2]], 0);
        out.push(Field::be(at + 2, 2, "segment length"));
        match marker {
            0xc0..=0xcf if !matches!(marker, 0xc4 | 0xc8 | 0xcc) => {
                out.push(Field::be(at + 4, 1, "precision"));
                out.push(Field::be(at + 5, 2, "height"));
                out.push(Field::be(at + 7, 2, "width"));
                out.push(Field::be(at + 9, 1, "component count"));
                for c in 0..usize::from(*b.get(at + 9).unwrap_or(&0)) {
                    out.push(Field::be(at + 10 + 3 * c, 1, "component id"));
                    out.push(Field::be(at + 11 + 3 * c, 1, "sampling factors"));
                    out.push(Field::be(at + 12 + 3 * c, 1, "quantisation table"));
                }
            }
            0xc4 => {
                out.push(Field::be(at + 4, 1, "Huffman table class and id"));
                for k in 0..16 {
                    out.push(Field::be(at + 5 + k, 1, "Huffman code count"));
                }
            }
            0xdb => out.push(Field::be(at + 4, 1, "quantisation table precision and id")),
            0xdd => out.push(Field::be(at + 4, 2, "restart interval")),
            0xda => {
                out.push(Field::be(at + 4, 1, "scan component count"));
                for k in 5..len + 2 {
                    out.push(Field::be(at + k, 1, "scan header"));
                }
                break;
            }
            _ => {}
        }
        at += 2 + len;
    }
    out.retain(|f| f.at + f.width <= b.len());
    out
}

fn field_mutation(seed: &Seed, bytes: &mut Vec<u8>, rng: &mut Rng) -> String {
    match seed.fields.get(rng.below(seed.fields.len())) {
        Some(f) => set_field(f, bytes, rng),
        None => generic(bytes, rng),
    }
}

// ---------------------------------------------------------------------------------------
// Zip archives for the `pickle` reader.

/// The entries of a stored zip archive (a known-good seed: the central directory is read
/// without checks).
fn unzip(b: &[u8]) -> Vec<(String, Vec<u8>)> {
    let eocd = (0..b.len() - 3).rev().find(|&i| u32_le(b, i) == 0x0605_4b50).expect("a zip seed");
    let (mut count, mut at) = (u16_le(b, eocd + 10), u32_le(b, eocd + 16) as usize);
    if at == 0xffff_ffff || count == 0xffff {
        let rec = u64::from_le_bytes(b[eocd - 12..eocd - 4].try_into().unwrap()) as usize;
        count = u64::from_le_bytes(b[rec + 32..rec + 40].try_into().unwrap()) as usize;
        at = u64::from_le_bytes(b[rec + 48..rec + 56].try_into().unwrap()) as usize;
    }
    let mut out = Vec::new();
    for _ in 0..count {
        let (n, e, c) = (u16_le(b, at + 28), u16_le(b, at + 30), u16_le(b, at + 32));
        let name = String::from_utf8_lossy(&b[at + 46..at + 46 + n]).into_owned();
        let (size, local) = (u32_le(b, at + 24) as usize, u32_le(b, at + 42) as usize);
        assert!(size != 0xffff_ffff && local != 0xffff_ffff, "small seeds need no zip64 values");
        let data = local + 30 + u16_le(b, local + 26) + u16_le(b, local + 28);
        out.push((name, b[data..data + size].to_vec()));
        at += 46 + n + e + c;
    }
    out
}

/// A stored zip archive of `entries`, as `torch.save` would write it (without alignment).
fn zip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let (mut out, mut dir) = (Vec::new(), Vec::new());
    for (name, data) in entries {
        let local = out.len() as u32;
        let header = |sig: u32| {
            let mut h = sig.to_le_bytes().to_vec();
            if sig == 0x0201_4b50 {
                h.extend(20u16.to_le_bytes());
            }
            h.extend(20u16.to_le_bytes()); // version needed
            h.extend([0u8; 6]); // flags, method (stored), time
            h.extend(0u16.to_le_bytes()); // date
            h.extend(crc32(data).to_le_bytes());
            h.extend((data.len() as u32).to_le_bytes());
            h.extend((data.len() as u32).to_le_bytes());
            h.extend((name.len() as u16).to_le_bytes());
            h.extend(0u16.to_le_bytes()); // extra length
            h
        };
        out.extend(header(0x0403_4b50));
        out.extend(name.as_bytes());
        out.extend(data);
        dir.extend(header(0x0201_4b50));
        dir.extend([0u8; 10]); // comment length, disk, attributes
        dir.extend(local.to_le_bytes());
        dir.extend(name.as_bytes());
    }
    let at = out.len() as u32;
    out.extend(&dir);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((dir.len() as u32).to_le_bytes());
    out.extend(at.to_le_bytes());
    out.extend([0u8; 2]);
    out
}

// ---------------------------------------------------------------------------------------
// Readers.

/// Every tensor's data must fill its shape, or code downstream would index out of range.
fn check_tensors<'a>(tensors: impl IntoIterator<Item = &'a (String, HostTensor)>) {
    for (name, t) in tensors {
        let len = match &t.data {
            HostData::F32(v) => v.len(),
            HostData::I64(v) => v.len(),
        };
        let numel: Option<usize> = t.shape.iter().try_fold(1usize, |a, &s| a.checked_mul(s));
        assert_eq!(numel, Some(len), "tensor {name} of shape {:?} holds {len} values", t.shape);
    }
}

/// Reads a checkpoint; says how many tensors it holds.
fn read_pth(b: &[u8]) -> Result<String, String> {
    let entry = Entry::from_bytes(b)?;
    let tensors = entry.tensors();
    check_tensors(&tensors);
    let _ = entry.get("state_dict");
    Ok(format!("{} tensors", tensors.len()))
}

fn read_safetensors(b: &[u8]) -> Result<String, String> {
    let tensors = parse_safetensors(b)?;
    check_tensors(&tensors);
    Ok(format!("{} tensors", tensors.len()))
}

fn read_image(b: &[u8]) -> Result<String, String> {
    let img = decode_rgb(b)?;
    assert_eq!(img.as_raw().len(), img.width() as usize * img.height() as usize * 3);
    Ok(format!("a {}x{} image", img.width(), img.height()))
}

/// The readers' names, as `GANTRY_FUZZ_CASE` takes them.
const READERS: [&str; 6] = ["pth-zip", "pth-legacy", "pickle", "safetensors", "png", "jpeg"];

type Mutation = fn(&Seed, &mut Vec<u8>, &mut Rng) -> String;

/// A reader with its seeds and its format-aware mutation.
struct Target {
    name: &'static str,
    seeds: Vec<Seed>,
    special: Mutation,
    /// What goes to the reader: the mutated bytes, or the bytes put back where they came from.
    wrap: fn(&Seed, Vec<u8>) -> Vec<u8>,
    read: fn(&[u8]) -> Result<String, String>,
}

fn as_is(_: &Seed, b: Vec<u8>) -> Vec<u8> {
    b
}

fn seed(name_bytes: (String, Vec<u8>), fields: fn(&[u8]) -> Vec<Field>) -> Seed {
    let (name, bytes) = name_bytes;
    Seed { fields: fields(&bytes), name, bytes, ops: Vec::new(), entries: Vec::new() }
}

const ZIP_SEEDS: [&str; 7] = [
    "pth/linear.pth",
    "pth/views.pth",
    "pth/dtypes.pth",
    "pth/dataparallel.pth",
    "pth/conv_bn.pth",
    "pth/evil.pth",
    "pth/stargan2_nets.ckpt",
];

fn pth_zip() -> Target {
    let seeds = ZIP_SEEDS.iter().map(|n| seed(fixture(n), zip_fields)).collect();
    Target { name: "pth-zip", seeds, special: field_mutation, wrap: as_is, read: read_pth }
}

fn pth_legacy() -> Target {
    let names = [
        "pth/legacy_cyclegan.pth",
        "pth/legacy_dtypes.pth",
        "pth/legacy_protocol4.pth",
        "pth/legacy_python2_style.pth",
        "pth/legacy_storage_views.pth",
        "pth/legacy_views.pth",
        "pth/legacy_bad_view.pth",
        "pth/legacy_evil.pth",
        "pth/legacy_stargan2.ckpt",
        "stargan/10-G.ckpt",
    ];
    let seeds = names
        .iter()
        .map(|n| {
            let (name, bytes) = fixture(n);
            let (ops, mut fields, end) = pickle_ops(&bytes, 0, 5);
            if end + 8 <= bytes.len() {
                fields.push(Field::le(end, 8, "first storage's element count"));
            }
            Seed { name, bytes, fields, ops, entries: Vec::new() }
        })
        .collect();
    Target { name: "pth-legacy", seeds, special: pickle_mutation, wrap: as_is, read: read_pth }
}

fn pickle() -> Target {
    let seeds = ZIP_SEEDS
        .iter()
        .map(|n| {
            let (name, archive) = fixture(n);
            let entries = unzip(&archive);
            let pkl = entries.iter().find(|(e, _)| e.ends_with("/data.pkl")).expect("data.pkl").1.clone();
            let (ops, fields, _) = pickle_ops(&pkl, 0, 1);
            Seed { name: format!("{name}: data.pkl"), bytes: pkl, fields, ops, entries }
        })
        .collect();
    let rezip = |seed: &Seed, pkl: Vec<u8>| {
        let mut entries = seed.entries.clone();
        entries.iter_mut().find(|(e, _)| e.ends_with("/data.pkl")).unwrap().1 = pkl;
        zip(&entries)
    };
    Target { name: "pickle", seeds, special: pickle_mutation, wrap: rezip, read: read_pth }
}

fn safetensors() -> Target {
    let names = ["stargan/lr.safetensors", "stargan/translate_cli.safetensors", "pth/expected.safetensors"];
    let seeds = names.iter().map(|n| seed(fixture(n), |_| Vec::new())).collect();
    Target { name: "safetensors", seeds, special: safetensors_mutation, wrap: as_is, read: read_safetensors }
}

fn png() -> Target {
    let names = [
        "stargan/celeba.png",
        "stargan/small_c32_s20.png",
        "stargan/translate_in.png",
        "cyclegan/translate_in/gray_source.png",
    ];
    let seeds = names.iter().map(|n| seed(fixture(n), |_| Vec::new())).collect();
    Target { name: "png", seeds, special: png_mutation, wrap: as_is, read: read_image }
}

fn jpeg() -> Target {
    use image::codecs::jpeg::JpegEncoder;
    let seeds = ["stargan/celeba.png", "stargan/small_c32_s20.png", "stargan/translate_in.png"]
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let img = image::load_from_memory(&fixture(n).1).unwrap();
            // One grey seed: a single-component frame.
            let img = if i == 2 {
                image::DynamicImage::ImageLuma8(img.to_luma8())
            } else {
                image::DynamicImage::ImageRgb8(img.to_rgb8())
            };
            let mut bytes = Vec::new();
            img.write_with_encoder(JpegEncoder::new_with_quality(&mut bytes, 75)).unwrap();
            seed((format!("{n} as JPEG"), bytes), jpeg_fields)
        })
        .collect();
    Target { name: "jpeg", seeds, special: field_mutation, wrap: as_is, read: read_image }
}

// ---------------------------------------------------------------------------------------
// The driver.

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={v} is not a number")))
}

/// Case `i` of a campaign: the seed it starts from, the bytes the reader gets, and the
/// mutations that made them.
fn input(t: &Target, seed: u64, i: u64) -> (&Seed, Vec<u8>, Vec<String>) {
    let mut rng = case_rng(seed, t.name, i);
    let s = rng.pick(&t.seeds);
    let mut bytes = s.bytes.clone();
    let n = *rng.pick(&[1, 1, 1, 1, 2, 2, 3, 4, 8]);
    let log = (0..n)
        .map(|_| {
            if rng.below(2) == 0 {
                (t.special)(s, &mut bytes, &mut rng)
            } else {
                generic(&mut bytes, &mut rng)
            }
        })
        .collect();
    (s, (t.wrap)(s, bytes), log)
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Reads every case of one reader on a worker thread, watched for hangs; fails naming every
/// case that panicked.
fn fuzz(make: fn() -> Target) {
    let t = make();
    let name = t.name;
    let seed = env_u64("GANTRY_FUZZ_SEED").unwrap_or(SEED);
    let only = std::env::var("GANTRY_FUZZ_CASE").ok().map(|v| {
        let (reader, i) = v.split_once(':').expect("GANTRY_FUZZ_CASE=READER:I");
        (reader.to_string(), i.parse::<u64>().expect("GANTRY_FUZZ_CASE=READER:I"))
    });
    if let Some((reader, _)) = &only {
        assert!(
            READERS.contains(&reader.as_str()),
            "GANTRY_FUZZ_CASE: no reader {reader}; there are {READERS:?}"
        );
    }
    let cases: Vec<u64> = match &only {
        Some((reader, _)) if reader != name => return,
        Some((_, i)) => vec![*i],
        None => (0..env_u64("GANTRY_FUZZ_ITERS").unwrap_or(DEFAULT_ITERS)).collect(),
    };
    let verbose = only.is_some();
    // The case running now and when it started (ms since `epoch`), for the watchdog.
    let epoch = Instant::now();
    let now = Arc::new((AtomicU64::new(u64::MAX), AtomicU64::new(0), AtomicBool::new(false)));
    let progress = now.clone();
    let worker = std::thread::spawn(move || {
        let (mut refused, mut failures, mut slowest) = (0usize, Vec::new(), (Duration::ZERO, 0));
        for &i in &cases {
            let (s, bytes, log) = input(&t, seed, i);
            if verbose {
                eprintln!("{name} case {i}: {} ({} bytes) {log:?}", s.name, bytes.len());
            }
            progress.1.store(epoch.elapsed().as_millis() as u64, Ordering::SeqCst);
            progress.0.store(i, Ordering::SeqCst);
            CURRENT.set(Some((name, i)));
            let start = Instant::now();
            let result = catch_unwind(AssertUnwindSafe(|| (t.read)(&bytes)));
            let took = start.elapsed();
            CURRENT.set(None);
            slowest = slowest.max((took, i));
            match result {
                Ok(Ok(what)) => {
                    if verbose {
                        eprintln!("  read: {what}");
                    }
                }
                Ok(Err(e)) => {
                    refused += 1;
                    if verbose {
                        eprintln!("  refused: {e}");
                    }
                }
                Err(p) => failures.push(format!(
                    "{name} case {i} (GANTRY_FUZZ_SEED={seed:#x} GANTRY_FUZZ_CASE={name}:{i}): {} mutated by {log:?} panicked: {}",
                    s.name,
                    panic_message(&*p)
                )),
            }
        }
        progress.2.store(true, Ordering::SeqCst);
        (cases.len(), refused, failures, slowest)
    });
    while !now.2.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20));
        let since = (epoch.elapsed().as_millis() as u64).saturating_sub(now.1.load(Ordering::SeqCst));
        let i = now.0.load(Ordering::SeqCst);
        assert!(
            now.2.load(Ordering::SeqCst) || i == u64::MAX || since < HANG.as_millis() as u64,
            "{name} case {i} hangs: still reading after {since} ms; rerun it with GANTRY_FUZZ_SEED={seed:#x} GANTRY_FUZZ_CASE={name}:{i}"
        );
    }
    let (n, refused, failures, (slow, slow_case)) = worker.join().unwrap();
    eprintln!(
        "fuzz {name}: {n} inputs, {refused} refused, {} read, {} panicked; slowest case {slow_case} took {slow:.1?} ({:.1?} in all)",
        n - refused - failures.len(),
        failures.len(),
        epoch.elapsed()
    );
    assert!(failures.is_empty(), "{} of {n} inputs panicked:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn fuzz_pth_zip() {
    fuzz(pth_zip);
}

#[test]
fn fuzz_pth_legacy() {
    fuzz(pth_legacy);
}

#[test]
fn fuzz_pickle() {
    fuzz(pickle);
}

#[test]
fn fuzz_safetensors() {
    fuzz(safetensors);
}

#[test]
fn fuzz_png() {
    fuzz(png);
}

#[test]
fn fuzz_jpeg() {
    fuzz(jpeg);
}

/// The seeds themselves read (or, for the hostile ones, are refused) without damage, and the
/// zip writer above makes archives the reader takes.
#[test]
fn seeds_are_sound() {
    for t in [pth_zip(), pth_legacy(), pickle(), safetensors(), png(), jpeg()] {
        assert!(!t.seeds.is_empty());
        for s in &t.seeds {
            let ok = (t.read)(&(t.wrap)(s, s.bytes.clone()));
            let hostile = ["evil", "bad_view"].iter().any(|h| s.name.contains(h));
            assert_eq!(ok.is_ok(), !hostile, "{} {}: {ok:?}", t.name, s.name);
            let stops = s.ops.iter().filter(|&&(at, _)| s.bytes[at] == b'.').count();
            match t.name {
                "pth-legacy" => assert_eq!(stops, 5, "{}: the pickle walk stopped early", s.name),
                "pickle" => assert_eq!(s.ops.last().map(|(at, n)| at + n), Some(s.bytes.len()), "{}", s.name),
                _ => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Regressions: inputs that once made a reader panic, hang or allocate without bound.

/// The first three pickles of a legacy file (an empty system-information dict).
const LEGACY_HEADER: &[u8] =
    b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\x80\x02M\xe9\x03.\x80\x02}.";

/// A legacy file whose object is a list of `copies` memo copies of one tensor, a broadcast
/// view (stride 0) of shape [`numel`] over a storage holding one float.
fn broadcast_copies(numel: i32, copies: usize) -> Vec<u8> {
    let tensor = [
        &b"\x80\x02]ctorch._utils\n_rebuild_tensor_v2\n("[..],
        b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00kX\x03\x00\x00\x00cpuK\x01NtQ",
        b"K\x00J",
        &numel.to_le_bytes(),
        b"\x85K\x00\x85tRq\x01a(",
        &b"h\x01".repeat(copies - 1),
        b"e.",
    ]
    .concat();
    let keys = b"\x80\x02]X\x01\x00\x00\x00ka.";
    [LEGACY_HEADER, &tensor, keys, &1u64.to_le_bytes(), &1f32.to_le_bytes()].concat()
}

#[test]
fn memo_copies_of_a_broadcast_tensor_are_bounded() {
    let entry = Entry::from_bytes(&broadcast_copies(3, 2)).unwrap();
    assert_eq!(entry.tensors().len(), 2);
    let start = Instant::now();
    let err = Entry::from_bytes(&broadcast_copies(1 << 24, 10_000)).unwrap_err();
    assert!(err.contains("elements"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
}

/// A legacy file holding the object pickle `object` and no storages.
fn legacy_file(object: &[u8]) -> Vec<u8> {
    [LEGACY_HEADER, object, &b"\x80\x02]."[..]].concat()
}

#[test]
fn memo_copies_of_a_long_string_are_bounded() {
    // A string of 100 kB, memoised, then pushed 40000 times: 4 GB from 180 kB.
    let copies = [
        &b"\x80\x02X"[..],
        &100_000u32.to_le_bytes(),
        &vec![b'a'; 100_000],
        b"q\x00(",
        &b"h\x00".repeat(40_000),
        b"l.",
    ]
    .concat();
    let err = Entry::from_bytes(&legacy_file(&copies)).unwrap_err();
    assert!(err.contains("grow the pickle far beyond its size"), "{err}");
}

#[test]
fn memo_copies_of_a_tensor_of_many_dimensions_are_bounded() {
    // A tensor of 20000 dimensions (size and stride 320 kB in memory), memoised, then pushed
    // 20000 times: 6 GB from 120 kB.
    let d = 20_000;
    let copies = [
        &b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n("[..],
        b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00kX\x03\x00\x00\x00cpuK\x01NtQ",
        b"K\x00(",
        &b"K\x01".repeat(d),
        b"t(",
        &b"K\x01".repeat(d),
        b"ttRq\x01(",
        &b"h\x01".repeat(20_000),
        b"l.",
    ]
    .concat();
    let err = Entry::from_bytes(&legacy_file(&copies)).unwrap_err();
    assert!(err.contains("grow the pickle far beyond its size"), "{err}");
}

/// A grey image of a fixture as a JPEG or PNG, its declared size then set to 16000 x 16000:
/// 256 MB as decoded, 768 MB as RGB, from a few hundred bytes.
fn huge_grey(format: image::ImageFormat) -> Vec<u8> {
    let img = image::load_from_memory(&fixture("stargan/translate_in.png").1).unwrap().to_luma8();
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), format).unwrap();
    let size = 16_000u32.to_be_bytes();
    if format == image::ImageFormat::Jpeg {
        let sof = bytes.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
        bytes[sof + 5..sof + 7].copy_from_slice(&size[2..]);
        bytes[sof + 7..sof + 9].copy_from_slice(&size[2..]);
    } else {
        bytes[16..20].copy_from_slice(&size);
        bytes[20..24].copy_from_slice(&size);
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    }
    bytes
}

#[test]
fn images_declaring_more_than_512_mib_as_rgb_are_refused() {
    // jpeg case 31483 of the first campaign: a 15888 x 14864 grey JPEG of 460 bytes decoded
    // (2.4 s) and became a 708 MB RGB image.
    for format in [image::ImageFormat::Jpeg, image::ImageFormat::Png] {
        let err = decode_rgb(&huge_grey(format)).unwrap_err();
        assert!(err.contains("16000x16000 image is too large"), "{format:?}: {err}");
    }
}

#[test]
fn a_grey_jpeg_of_height_65535_with_subsampling_is_refused() {
    // jpeg case 20867 of the campaign with GANTRY_FUZZ_SEED=1: a grey JPEG whose component
    // has sampling factors 1x2 and whose height is 65535 panicked in debug builds ("attempt
    // to add with overflow" in zune-jpeg's mcu.rs: (height + 7) / 8 in u16).
    let img = image::load_from_memory(&fixture("stargan/translate_in.png").1).unwrap().to_luma8();
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Jpeg).unwrap();
    let sof = bytes.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
    bytes[sof + 5..sof + 7].copy_from_slice(&[0xff, 0xff]);
    bytes[sof + 11] = 0x12;
    let err = catch_unwind(|| decode_rgb(&bytes)).expect("no panic").unwrap_err();
    assert!(err.contains("65535") && err.contains("JPEG"), "{err}");
}
