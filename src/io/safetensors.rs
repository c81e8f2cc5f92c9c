//! safetensors state dicts, through the `safetensors` crate.

use super::{file_error, write_atomic, HostData, HostTensor, NamedTensors};
use crate::error::Result;
use crate::tensor::Tensor;
use safetensors::{tensor::TensorView, Dtype, SafeTensors};
use std::path::Path;

/// Saves tensors as f32 under their names (one sync: every tensor is read back).
pub fn save_safetensors(path: impl AsRef<Path>, tensors: &[(String, Tensor)]) -> Result<()> {
    let host = tensors
        .iter()
        .map(|(name, t)| {
            let data = HostData::F32(t.to_vec()?);
            Ok((name.clone(), HostTensor { shape: t.shape().to_vec(), dtype: "F32".into(), data }))
        })
        .collect::<Result<NamedTensors>>()?;
    save_host_safetensors(path, &host)
}

/// Saves host tensors: floats as F32, integers as I64 (BatchNorm's counter stays exact).
pub fn save_host_safetensors(path: impl AsRef<Path>, tensors: &NamedTensors) -> Result<()> {
    let path = path.as_ref();
    write_atomic(path, &host_safetensors_bytes(path, tensors)?)
}

/// The safetensors file `save_host_safetensors` writes, as bytes (`path` names it in errors).
pub fn host_safetensors_bytes(path: &Path, tensors: &NamedTensors) -> Result<Vec<u8>> {
    let bytes: Vec<(Dtype, Vec<u8>)> = tensors
        .iter()
        .map(|(_, t)| match &t.data {
            HostData::F32(v) => (Dtype::F32, bytemuck::cast_slice(v).to_vec()),
            HostData::I64(v) => (Dtype::I64, bytemuck::cast_slice(v).to_vec()),
        })
        .collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, t), (dtype, data))| {
            TensorView::new(*dtype, t.shape.clone(), data)
                .map(|v| (name.clone(), v))
                .map_err(|e| file_error(path, e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, None).map_err(|e| file_error(path, e.to_string()))
}

fn decode(dtype: Dtype, bytes: &[u8]) -> Option<HostData> {
    let f = |n: usize, conv: &dyn Fn(&[u8]) -> f32| {
        Some(HostData::F32(bytes.chunks_exact(n).map(conv).collect()))
    };
    let i = |n: usize, conv: &dyn Fn(&[u8]) -> i64| {
        Some(HostData::I64(bytes.chunks_exact(n).map(conv).collect()))
    };
    match dtype {
        Dtype::F32 => f(4, &|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        Dtype::F64 => f(8, &|c| f64::from_le_bytes(c.try_into().unwrap()) as f32),
        Dtype::F16 => f(2, &|c| half_to_f32(u16::from_le_bytes([c[0], c[1]]))),
        Dtype::BF16 => f(2, &|c| f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16)),
        Dtype::I64 => i(8, &|c| i64::from_le_bytes(c.try_into().unwrap())),
        Dtype::I32 => i(4, &|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
        Dtype::I16 => i(2, &|c| i64::from(i16::from_le_bytes([c[0], c[1]]))),
        Dtype::I8 => i(1, &|c| i64::from(c[0] as i8)),
        Dtype::U8 | Dtype::BOOL => i(1, &|c| i64::from(c[0])),
        _ => None,
    }
}

/// IEEE half to f32, subnormals included.
pub(crate) fn half_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = (h >> 10) & 0x1f;
    let frac = f32::from(h & 0x3ff);
    match exp {
        0 => sign * frac * 2f32.powi(-24),
        31 if frac == 0.0 => sign * f32::INFINITY,
        31 => f32::NAN,
        e => sign * (1.0 + frac / 1024.0) * 2f32.powi(i32::from(e) - 15),
    }
}

/// Reads every tensor of a safetensors file; floating types become f32.
pub fn load_safetensors(path: impl AsRef<Path>) -> Result<NamedTensors> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e.to_string()))?;
    parse_safetensors(&bytes).map_err(|e| file_error(path, e))
}

/// Parses safetensors bytes held in memory; the error says what is malformed.
pub fn parse_safetensors(bytes: &[u8]) -> std::result::Result<NamedTensors, String> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| format!("not a valid safetensors file: {e}"))?;
    let mut out: NamedTensors = Vec::new();
    for (name, view) in st.iter() {
        let data = decode(view.dtype(), view.data())
            .ok_or_else(|| format!("tensor {name} has unsupported dtype {:?}", view.dtype()))?;
        out.push((
            name.to_string(),
            HostTensor { shape: view.shape().to_vec(), dtype: format!("{:?}", view.dtype()), data },
        ));
    }
    Ok(out)
}
