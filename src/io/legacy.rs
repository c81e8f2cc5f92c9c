//! PyTorch checkpoints in the legacy format: what `torch.save` wrote before PyTorch 1.6 (and
//! still writes with `_use_new_zipfile_serialization=False`), as in CycleGAN's pretrained
//! zoo and StarGAN v1 and v2's releases.
//!
//! The file is five pickles in a row, then the storages' bytes:
//! 1. the magic number 0x1950a86a20f9469cfc6c;
//! 2. the format's version, 1001;
//! 3. system information (byte order, C type sizes), which PyTorch's loader ignores, as we
//!    do: storages are written little-endian on every machine;
//! 4. the object, each storage replaced by a persistent id
//!    `('storage', type, key, location, numel, view)`;
//! 5. the list of storage keys, in the order their data follows;
//!
//! then, for each key, an 8-byte little-endian element count and the elements.

use super::pickle::{unpickle, StorageRef, Unpickled, Value};
use super::pth::{convert, Entry};
use std::collections::HashMap;

type R<T> = std::result::Result<T, String>;

const MAGIC: u128 = 0x1950_a86a_20f9_469c_fc6c;
const FORMAT_VERSION: i64 = 1001;

/// The length of the magic-number pickle at the start of `bytes`, if it is one: PROTO (2 by
/// default, up to 5 by request), a FRAME from protocol 4 on, LONG1 of ten bytes, STOP.
fn magic_len(bytes: &[u8]) -> Option<usize> {
    let [0x80, proto @ 2..=5, ..] = bytes else { return None };
    let at = if *proto >= 4 && bytes.get(2) == Some(&0x95) { 11 } else { 2 };
    let long = bytes.get(at..at + 13)?;
    let mut magic = [0u8; 16];
    magic[..10].copy_from_slice(&long[2..12]);
    let matches = long[..2] == [0x8a, 0x0a] && u128::from_le_bytes(magic) == MAGIC && long[12] == b'.';
    matches.then_some(at + 13)
}

/// Whether `bytes` begin as a legacy `torch.save` file does.
pub(crate) fn starts_with_magic(bytes: &[u8]) -> bool {
    magic_len(bytes).is_some()
}

/// Parses a legacy checkpoint held in memory; the error says what is malformed.
pub(crate) fn parse(bytes: &[u8]) -> R<Entry> {
    let mut at = magic_len(bytes).ok_or("does not start with torch.save's legacy magic number")?;
    let mut next = |what: &str| -> R<Unpickled> {
        let p = unpickle(&bytes[at..]).map_err(|e| format!("{what} (a pickle at byte {at}): {e}"))?;
        at += p.len;
        Ok(p)
    };
    let version = next("the format version")?.value;
    if version != Value::Int(FORMAT_VERSION) {
        return Err(format!("legacy format version {version:?}; only {FORMAT_VERSION} exists"));
    }
    next("the system information")?;
    let object = next("the saved object")?;
    let keys = next("the list of storage keys")?.value;
    let storages = read_storages(bytes, at, &keys, &object.storages)?;
    convert(object.value, &|key| storages.get(key).copied(), bytes.len())
}

/// Slices each storage out of the data that follows the pickles, from byte `at`: every
/// count must agree with the persistent id that named the storage and fit in the file.
fn read_storages<'a>(
    bytes: &'a [u8],
    mut at: usize,
    keys: &Value,
    named: &[StorageRef],
) -> R<HashMap<String, &'a [u8]>> {
    let Value::List(keys) = keys else { return Err(format!("the storage keys are a list, not {keys:?}")) };
    let mut out = HashMap::new();
    for key in keys {
        let Value::Str(key) = key else { return Err(format!("storage key {key:?} is not a string")) };
        let storage = named
            .iter()
            .find(|s| &s.key == key)
            .ok_or_else(|| format!("storage {key} is listed but no persistent id names it"))?;
        let count = bytes
            .get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
            .ok_or_else(|| format!("the file ends at byte {at}, before storage {key}'s element count"))?;
        if count != storage.numel as u64 {
            return Err(format!(
                "storage {key} holds {count} elements in the file but {} in its persistent id",
                storage.numel
            ));
        }
        let start = at + 8;
        let len = storage.numel.checked_mul(storage.dtype.size()).filter(|&n| n <= bytes.len() - start);
        let len = len.ok_or_else(|| {
            format!(
                "storage {key} ({} elements of {:?}) runs past the end of the file ({} bytes)",
                storage.numel,
                storage.dtype,
                bytes.len()
            )
        })?;
        out.insert(key.clone(), &bytes[start..start + len]);
        at = start + len;
    }
    Ok(out)
}
