//! Zip archives taken apart and put together again, for the `pickle` reader.

use super::*;

// Zip archives for the `pickle` reader.

/// The entries of a stored zip archive (a known-good seed: the central directory is read
/// without checks).
pub(crate) fn unzip(b: &[u8]) -> Vec<(String, Vec<u8>)> {
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
pub(crate) fn zip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
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
