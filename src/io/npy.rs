//! NumPy `.npy` arrays (format versions 1-3): little-endian f4 or f8, C order, read into
//! a host tensor of f32 values. Latent codes for sampling come this way.

use super::{file_error, HostData, HostTensor};
use crate::error::Result;
use std::path::Path;

/// Reads a `.npy` file's array; anything but a C-ordered little-endian float array is an
/// error naming the file and what it holds.
pub fn load_npy(path: &Path) -> Result<HostTensor> {
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e.to_string()))?;
    parse_npy(&bytes).map_err(|e| file_error(path, e))
}

fn parse_npy(bytes: &[u8]) -> std::result::Result<HostTensor, String> {
    if !bytes.starts_with(b"\x93NUMPY") || bytes.len() < 10 {
        return Err("is not a NumPy .npy file".into());
    }
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize, 12),
        v => return Err(format!("has .npy format version {v}, which is not supported")),
    };
    let header = bytes.get(start..start + len).ok_or("has a truncated .npy header")?;
    let header = String::from_utf8_lossy(header);
    let field = |key: &str| -> Option<String> {
        let at = header.find(&format!("'{key}':"))? + key.len() + 3;
        let rest = header[at..].trim_start();
        let end = if rest.starts_with('(') { rest.find(')')? + 1 } else { rest.find([',', '}'])? };
        Some(rest[..end].trim().trim_matches('\'').to_string())
    };
    if field("fortran_order").as_deref() != Some("False") {
        return Err("is a Fortran-ordered array: save it with C order".into());
    }
    let descr = field("descr").ok_or("has no dtype in its header")?;
    let size = match descr.as_str() {
        "<f4" => 4,
        "<f8" => 8,
        other => return Err(format!("holds {other} values; latent codes must be float32 or float64")),
    };
    let shape_text = field("shape").ok_or("has no shape in its header")?;
    let shape: Vec<usize> = shape_text
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| format!("has an unreadable shape {shape_text}")))
        .collect::<std::result::Result<_, _>>()?;
    let count: usize = shape.iter().product();
    let data = &bytes[start + len..];
    if data.len() != count * size {
        return Err(format!("holds {} bytes of data for shape {shape:?} of {descr}", data.len()));
    }
    let values: Vec<f32> = if size == 4 {
        data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
    } else {
        data.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32).collect()
    };
    Ok(HostTensor {
        shape,
        data: HostData::F32(values),
        dtype: if size == 4 { "F32".into() } else { "F64".into() },
    })
}
