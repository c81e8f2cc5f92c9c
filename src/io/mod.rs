//! Files: safetensors state dicts and PyTorch `.pth`/`.ckpt` checkpoints (a restricted
//! unpickler over a stored-only zip reader). Everything is parsed with bounds checks: a
//! malformed file is an error naming the file, never a panic.

mod pickle;
mod pth;
mod safetensors;
mod zip;

pub use self::safetensors::{load_safetensors, parse_safetensors, save_safetensors};
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
