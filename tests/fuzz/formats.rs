//! Each format's fields, and damage that knows where they are.

use super::*;

// Formats: fields and format-aware damage.

/// A file to start from, with what its format says about it.
pub(crate) struct Seed {
    pub(crate) name: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) fields: Vec<Field>,
    /// Pickle opcodes (position, length), for the pickle-aware mutations.
    pub(crate) ops: Vec<(usize, usize)>,
    /// For the `pickle` reader: the zip entries the mutated `data.pkl` goes back among.
    pub(crate) entries: Vec<(String, Vec<u8>)>,
}

pub(crate) fn fixture(name: &str) -> (String, Vec<u8>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (name.to_string(), bytes)
}

pub(crate) fn u16_le(b: &[u8], at: usize) -> usize {
    b.get(at..at + 2).map_or(0, |s| usize::from(u16::from_le_bytes([s[0], s[1]])))
}

pub(crate) fn u32_le(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

pub(crate) fn u32_be(b: &[u8], at: usize) -> usize {
    b.get(at..at + 4).map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)
}

/// The size, offset and count fields of every zip record found in `b`.
pub(crate) fn zip_fields(b: &[u8]) -> Vec<Field> {
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
pub(crate) fn pickle_ops(
    b: &[u8],
    mut at: usize,
    pickles: usize,
) -> (Vec<(usize, usize)>, Vec<Field>, usize) {
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
pub(crate) fn pickle_mutation(seed: &Seed, bytes: &mut Vec<u8>, rng: &mut Rng) -> String {
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
pub(crate) fn header_numbers(b: &[u8]) -> Vec<(usize, usize)> {
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
pub(crate) fn splice_header(
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

pub(crate) fn safetensors_mutation(_: &Seed, bytes: &mut Vec<u8>, rng: &mut Rng) -> String {
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
pub(crate) fn crc32(data: &[u8]) -> u32 {
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
pub(crate) fn png_chunks(b: &[u8]) -> Vec<(usize, usize)> {
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

pub(crate) fn png_mutation(_: &Seed, bytes: &mut Vec<u8>, rng: &mut Rng) -> String {
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
pub(crate) fn jpeg_fields(b: &[u8]) -> Vec<Field> {
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

pub(crate) fn field_mutation(seed: &Seed, bytes: &mut Vec<u8>, rng: &mut Rng) -> String {
    match seed.fields.get(rng.below(seed.fields.len())) {
        Some(f) => set_field(f, bytes, rng),
        None => generic(bytes, rng),
    }
}
