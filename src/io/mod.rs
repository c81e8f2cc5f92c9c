//! Files: safetensors state dicts and PyTorch `.pth`/`.ckpt` checkpoints (a restricted
//! unpickler over a stored-only zip reader, or over the legacy format's pickles). Files are
//! told apart by content, never by extension. Everything is parsed with bounds checks: a
//! malformed file is an error naming the file, never a panic.

mod allow_list;
pub mod image;
mod legacy;
pub mod npy;
mod pickle;
mod pth;
pub mod resize;
mod safetensors;
mod zip;

pub use self::safetensors::{
    host_safetensors_bytes, load_safetensors, parse_safetensors, save_host_safetensors, save_safetensors,
};
pub use pth::{load_pth, Entry};

use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::tensor::Tensor;

/// Element values read from a file: floating types become f32, integer types stay exact.
#[derive(Clone, Debug, PartialEq)]
pub enum HostData {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

/// A tensor read from a file, still on the host.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    /// The dtype in the file, e.g. "F32", "BF16", "I64".
    pub dtype: String,
    pub data: HostData,
}

impl HostTensor {
    /// A tensor's values read back from the device (a sync point).
    pub fn from_tensor(t: &Tensor) -> Result<HostTensor> {
        Ok(HostTensor { shape: t.shape().to_vec(), dtype: "F32".into(), data: HostData::F32(t.to_vec()?) })
    }

    /// Exact integers, e.g. counters and random-generator states (a u64 is stored by its
    /// bits).
    pub fn ints(values: Vec<i64>) -> HostTensor {
        HostTensor { shape: vec![values.len()], dtype: "I64".into(), data: HostData::I64(values) }
    }

    /// The values as exact integers, or `None` for a float tensor.
    pub fn as_ints(&self) -> Option<&[i64]> {
        match &self.data {
            HostData::I64(v) => Some(v),
            HostData::F32(_) => None,
        }
    }

    /// The values as f32 (integers converted).
    pub fn to_f32(&self) -> Vec<f32> {
        match &self.data {
            HostData::F32(v) => v.clone(),
            HostData::I64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    /// Uploads the values as an f32 tensor.
    pub fn to_tensor(&self, device: &Device) -> Result<Tensor> {
        Tensor::from_slice(device, &self.to_f32(), &self.shape)
    }
}

/// Tensors by name, in file order.
pub type NamedTensors = Vec<(String, HostTensor)>;

fn file_error(path: &std::path::Path, msg: impl Into<String>) -> Error {
    Error::File { path: path.display().to_string(), msg: msg.into() }
}

/// The kinds of file a checkpoint can be.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Format {
    /// `torch.save` since PyTorch 1.6: a zip archive.
    Zip,
    /// `torch.save` before 1.6 (or `_use_new_zipfile_serialization=False`): pickles in a row.
    Legacy,
    /// An 8-byte little-endian header length, then a JSON header.
    Safetensors,
}

/// Tells a file's format from its first bytes; the error says what the file looks like.
pub fn sniff(bytes: &[u8]) -> std::result::Result<Format, String> {
    if bytes.starts_with(b"PK") {
        Ok(Format::Zip)
    } else if legacy::starts_with_magic(bytes) {
        Ok(Format::Legacy)
    } else if bytes.get(8) == Some(&b'{') {
        Ok(Format::Safetensors)
    } else {
        Err(format!(
            "is not a checkpoint: neither a torch.save file (zip or legacy) nor safetensors ({})",
            describe(bytes)
        ))
    }
}

/// A few words on what an unrecognised file looks like.
fn describe(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "the file is empty".into();
    }
    let head: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let looks = if bytes.starts_with(b"\x89PNG") {
        "a PNG image"
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        "a JPEG image"
    } else if bytes.starts_with(&[0x1f, 0x8b]) {
        "gzip-compressed data (unpack it first?)"
    } else if bytes.starts_with(b"\x93NUMPY") {
        "a NumPy .npy array"
    } else if bytes[0] == 0x80 {
        "a pickle without torch.save's magic number?"
    } else if bytes.iter().take(512).all(|&b| (b >= 0x20 && b != 0x7f) || b"\t\n\r".contains(&b)) {
        "text?"
    } else {
        "unknown binary data"
    };
    format!("starts with bytes {}: {looks}", head.join(" "))
}

/// Reads the tensors of a `.safetensors` file or a `torch.save` checkpoint (told apart by
/// content, not extension); for a checkpoint, `key` picks one top-level entry first.
pub fn load_any(path: impl AsRef<std::path::Path>, key: Option<&str>) -> Result<NamedTensors> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e.to_string()))?;
    if sniff(&bytes).map_err(|e| file_error(path, e))? == Format::Safetensors {
        if key.is_some() {
            return Err(file_error(
                path,
                "--key selects an entry of a nested .pth checkpoint; this is a safetensors file",
            ));
        }
        return parse_safetensors(&bytes).map_err(|e| file_error(path, e));
    }
    let root = Entry::from_bytes(&bytes).map_err(|e| file_error(path, e))?;
    let node = match key {
        None => &root,
        Some(k) => root.get(k).ok_or_else(|| {
            let keys: Vec<&str> = match &root {
                Entry::Dict(items) => items.iter().map(|(k, _)| k.as_str()).collect(),
                _ => Vec::new(),
            };
            file_error(path, format!("no top-level entry {k:?}; the checkpoint has {keys:?}"))
        })?,
    };
    Ok(node.tensors())
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename, so a
/// crash never leaves a half-written file under the final name.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp{}",
        path.extension().and_then(|e| e.to_str()).unwrap_or(""),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).map_err(|e| file_error(&tmp, e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        file_error(path, e.to_string())
    })
}
