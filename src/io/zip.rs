//! A zip reader for the archives `torch.save` writes: stored (uncompressed) entries, with
//! zip64 records where present. Every offset and length is checked against the file.

/// One file in the archive.
pub(crate) struct ZipEntry {
    pub name: String,
    data_offset: usize,
    size: usize,
}

pub(crate) struct Zip<'a> {
    bytes: &'a [u8],
    pub entries: Vec<ZipEntry>,
}

type R<T> = std::result::Result<T, String>;

fn field(b: &[u8], at: usize, n: usize) -> Option<&[u8]> {
    b.get(at..at.checked_add(n)?)
}

fn u16_at(b: &[u8], at: usize) -> R<u16> {
    field(b, at, 2).map(|s| u16::from_le_bytes([s[0], s[1]])).ok_or_else(|| format!("truncated at byte {at}"))
}

fn u32_at(b: &[u8], at: usize) -> R<u32> {
    field(b, at, 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| format!("truncated at byte {at}"))
}

fn u64_at(b: &[u8], at: usize) -> R<u64> {
    field(b, at, 8)
        .map(|s| u64::from_le_bytes(s.try_into().unwrap()))
        .ok_or_else(|| format!("truncated at byte {at}"))
}

fn to_usize(v: u64) -> R<usize> {
    usize::try_from(v).map_err(|_| format!("offset {v} does not fit this machine"))
}

/// The end-of-central-directory record: (entry count, directory offset).
fn directory(b: &[u8]) -> R<(usize, usize)> {
    const EOCD: u32 = 0x0605_4b50;
    let lowest = b.len().saturating_sub(22 + 65535);
    let pos = (lowest..=b.len().saturating_sub(22))
        .rev()
        .find(|&i| u32_at(b, i).ok() == Some(EOCD))
        .ok_or("not a zip archive (no end-of-central-directory record)")?;
    let count = u16_at(b, pos + 10)?;
    let offset = u32_at(b, pos + 16)?;
    if count != 0xFFFF && offset != 0xFFFF_FFFF {
        return Ok((count as usize, offset as usize));
    }
    // Zip64: a locator sits just before the record and points at the zip64 record.
    let loc = pos.checked_sub(20).ok_or("zip64 locator missing")?;
    if u32_at(b, loc)? != 0x0706_4b50 {
        return Err("zip64 locator missing".into());
    }
    let rec = to_usize(u64_at(b, loc + 8)?)?;
    if u32_at(b, rec)? != 0x0606_4b50 {
        return Err("zip64 end-of-central-directory record missing".into());
    }
    Ok((to_usize(u64_at(b, rec + 32)?)?, to_usize(u64_at(b, rec + 48)?)?))
}

impl<'a> Zip<'a> {
    pub fn parse(b: &'a [u8]) -> R<Zip<'a>> {
        let (count, mut at) = directory(b)?;
        let mut entries = Vec::with_capacity(count.min(4096));
        for _ in 0..count {
            if u32_at(b, at)? != 0x0201_4b50 {
                return Err(format!("bad central directory entry at byte {at}"));
            }
            let method = u16_at(b, at + 10)?;
            let mut size = u64::from(u32_at(b, at + 24)?);
            let mut local = u64::from(u32_at(b, at + 42)?);
            let (n, e, c) =
                (u16_at(b, at + 28)? as usize, u16_at(b, at + 30)? as usize, u16_at(b, at + 32)? as usize);
            let name_bytes = b.get(at + 46..at + 46 + n).ok_or("truncated file name")?;
            let name = String::from_utf8_lossy(name_bytes).into_owned();
            // Zip64 extra field: 8-byte values for the fields saturated above, in order.
            let extra = b.get(at + 46 + n..at + 46 + n + e).ok_or("truncated extra field")?;
            let mut x = 0;
            while x + 4 <= extra.len() {
                let (id, len) = (u16_at(extra, x)?, u16_at(extra, x + 2)? as usize);
                if id == 1 {
                    let mut f = x + 4;
                    let compressed = u32_at(b, at + 20)?;
                    if u32_at(b, at + 24)? == 0xFFFF_FFFF {
                        size = u64_at(extra, f)?;
                        f += 8;
                    }
                    if compressed == 0xFFFF_FFFF {
                        f += 8;
                    }
                    if u32_at(b, at + 42)? == 0xFFFF_FFFF {
                        local = u64_at(extra, f)?;
                    }
                }
                x += 4 + len;
            }
            if method != 0 {
                return Err(format!(
                    "entry {name} is compressed (method {method}); torch.save writes stored entries only"
                ));
            }
            let local = to_usize(local)?;
            if u32_at(b, local)? != 0x0403_4b50 {
                return Err(format!("bad local header for {name}"));
            }
            let data_offset = local + 30 + u16_at(b, local + 26)? as usize + u16_at(b, local + 28)? as usize;
            let size = to_usize(size)?;
            if data_offset.checked_add(size).is_none_or(|end| end > b.len()) {
                return Err(format!("entry {name} runs past the end of the file"));
            }
            entries.push(ZipEntry { name, data_offset, size });
            at += 46 + n + e + c;
        }
        Ok(Zip { bytes: b, entries })
    }

    /// The entry whose name ends with `suffix` (archives nest everything in one folder
    /// named after the file).
    pub fn find(&self, suffix: &str) -> Option<&ZipEntry> {
        self.entries.iter().find(|e| e.name == suffix || e.name.ends_with(&format!("/{suffix}")))
    }

    pub fn data(&self, e: &ZipEntry) -> &'a [u8] {
        &self.bytes[e.data_offset..e.data_offset + e.size]
    }
}
