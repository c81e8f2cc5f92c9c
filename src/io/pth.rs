//! PyTorch checkpoints (`torch.save`, zip or legacy format): state dicts, possibly nested
//! (`{generator: …, mapping_network: …}`, `{g: …, d: …, g_ema: […]}`).

use super::allow_list::StorageType;
use super::pickle::{unpickle, TensorSpec, Value};
use super::zip::Zip;
use super::{file_error, legacy, sniff, Format, HostData, HostTensor, NamedTensors};
use crate::error::Result;
use std::path::Path;

/// A node of a checkpoint: a tensor, a dict or list of nodes, or another value (kept as
/// its text, e.g. an optimizer's step count).
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    Tensor(HostTensor),
    Dict(Vec<(String, Entry)>),
    List(Vec<Entry>),
    Other(String),
}

impl Entry {
    /// The entry under a top-level key of a dict.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        match self {
            Entry::Dict(items) => items.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Every tensor with its dotted name (list items by index), a leading `module.` (what
    /// DataParallel adds) stripped from each key.
    pub fn tensors(&self) -> NamedTensors {
        let mut out = Vec::new();
        self.collect("", &mut out);
        out
    }

    fn collect(&self, prefix: &str, out: &mut NamedTensors) {
        let join = |k: &str| if prefix.is_empty() { k.to_string() } else { format!("{prefix}.{k}") };
        match self {
            Entry::Tensor(t) => out.push((prefix.to_string(), t.clone())),
            Entry::Dict(items) => {
                for (k, v) in items {
                    v.collect(&join(k.strip_prefix("module.").unwrap_or(k)), out);
                }
            }
            Entry::List(items) => {
                for (i, v) in items.iter().enumerate() {
                    v.collect(&join(&i.to_string()), out);
                }
            }
            Entry::Other(_) => {}
        }
    }
}

fn element(dtype: StorageType, b: &[u8]) -> (Option<f32>, Option<i64>) {
    match dtype {
        StorageType::F32 => (Some(f32::from_le_bytes([b[0], b[1], b[2], b[3]])), None),
        StorageType::F64 => (Some(f64::from_le_bytes(b.try_into().unwrap()) as f32), None),
        StorageType::F16 => (Some(super::safetensors::half_to_f32(u16::from_le_bytes([b[0], b[1]]))), None),
        StorageType::BF16 => (Some(f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16)), None),
        StorageType::I64 => (None, Some(i64::from_le_bytes(b.try_into().unwrap()))),
        StorageType::I32 => (None, Some(i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])))),
        StorageType::I16 => (None, Some(i64::from(i16::from_le_bytes([b[0], b[1]])))),
        StorageType::I8 => (None, Some(i64::from(b[0] as i8))),
        StorageType::U8 | StorageType::Bool => (None, Some(i64::from(b[0]))),
    }
}

/// The most elements one tensor may hold: a stored tensor has at most as many elements as
/// its file has bytes, unless it is a broadcast view (stride 0) of a few stored elements, for
/// which a fixed allowance of 16 Mi elements remains.
fn max_elements(file_len: usize) -> usize {
    file_len.max(1 << 24)
}

/// The most elements all the tensors of a checkpoint may hold together: four per byte of
/// the file (a tensor the pickle names several times is read once per name) and the
/// broadcast allowance once, so that memo copies of one large view cannot make a file of a
/// few hundred bytes fill the memory.
fn max_total_elements(file_len: usize) -> usize {
    file_len.saturating_mul(4).saturating_add(1 << 24)
}

/// Reads a tensor view out of its storage's bytes, checking that every element lies inside
/// and drawing its elements from `left`, what remains of [`max_total_elements`].
fn materialise(
    storage: &[u8],
    spec: &TensorSpec,
    file_len: usize,
    left: &mut usize,
) -> std::result::Result<HostTensor, String> {
    let item = spec.dtype.size();
    let bytes = match spec.window {
        None => storage,
        Some((at, n)) => at
            .checked_add(n)
            .and_then(|end| storage.get(at.checked_mul(item)?..end.checked_mul(item)?))
            .ok_or_else(|| {
                format!(
                    "the view of {n} elements at {at} runs past the {} elements of storage {}",
                    storage.len() / item,
                    spec.key
                )
            })?,
    };
    let available = bytes.len() / item;
    let numel = spec
        .size
        .iter()
        .try_fold(1usize, |acc, &s| acc.checked_mul(s))
        .filter(|&n| n <= max_elements(file_len))
        .ok_or_else(|| {
            format!("a tensor of shape {:?} is too large for a file of {file_len} bytes", spec.size)
        })?;
    *left = left.checked_sub(numel).ok_or_else(|| {
        format!(
            "the tensors hold more than {} elements together, too many for a file of {file_len} bytes",
            max_total_elements(file_len)
        )
    })?;
    if numel > 0 {
        let last = spec
            .size
            .iter()
            .zip(&spec.stride)
            .try_fold(spec.offset, |acc, (&s, &st)| acc.checked_add((s - 1).checked_mul(st)?));
        if last.is_none_or(|l| l >= available) {
            return Err(format!(
                "a tensor of shape {:?} (offset {}, strides {:?}) needs more than the {available} elements of storage {}",
                spec.size, spec.offset, spec.stride, spec.key
            ));
        }
    }
    let (mut floats, mut ints) = (Vec::new(), Vec::new());
    let mut index = vec![0usize; spec.size.len()];
    for _ in 0..numel {
        let at = spec.offset + index.iter().zip(&spec.stride).map(|(i, s)| i * s).sum::<usize>();
        match element(spec.dtype, &bytes[at * item..(at + 1) * item]) {
            (Some(f), _) => floats.push(f),
            (_, Some(i)) => ints.push(i),
            _ => unreachable!("every storage type decodes to a float or an integer"),
        }
        for d in (0..index.len()).rev() {
            index[d] += 1;
            if index[d] < spec.size[d] {
                break;
            }
            index[d] = 0;
        }
    }
    let is_float =
        matches!(spec.dtype, StorageType::F32 | StorageType::F64 | StorageType::F16 | StorageType::BF16);
    let data = if is_float { HostData::F32(floats) } else { HostData::I64(ints) };
    Ok(HostTensor { shape: spec.size.clone(), dtype: format!("{:?}", spec.dtype), data })
}

/// Finds a storage's bytes by its key.
pub(crate) type FindStorage<'a> = dyn Fn(&str) -> Option<&'a [u8]> + 'a;

/// Turns an unpickled checkpoint into entries, reading each tensor from its storage in a
/// file of `file_len` bytes.
pub(crate) fn convert(v: Value, find: &FindStorage, file_len: usize) -> std::result::Result<Entry, String> {
    convert_within(v, find, file_len, &mut max_total_elements(file_len))
}

/// [`convert`], the tensors' elements drawn from `left`.
fn convert_within(
    v: Value,
    find: &FindStorage,
    file_len: usize,
    left: &mut usize,
) -> std::result::Result<Entry, String> {
    Ok(match v {
        Value::Tensor(spec) => {
            let bytes =
                find(&spec.key).ok_or_else(|| format!("storage {} is missing from the file", spec.key))?;
            Entry::Tensor(materialise(bytes, &spec, file_len, left)?)
        }
        Value::Dict(items) => Entry::Dict(
            items
                .into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::Str(s) => s,
                        Value::Int(i) => i.to_string(),
                        other => return Err(format!("dict key {other:?} is not a string or integer")),
                    };
                    Ok((key, convert_within(v, find, file_len, left)?))
                })
                .collect::<std::result::Result<_, String>>()?,
        ),
        Value::List(items) | Value::Tuple(items) => Entry::List(
            items
                .into_iter()
                .map(|v| convert_within(v, find, file_len, left))
                .collect::<std::result::Result<_, String>>()?,
        ),
        Value::Int(i) => Entry::Other(i.to_string()),
        Value::Float(f) => Entry::Other(f.to_string()),
        Value::Str(s) => Entry::Other(s),
        Value::Bool(b) => Entry::Other(b.to_string()),
        Value::None => Entry::Other("None".into()),
        other => return Err(format!("unexpected value in a checkpoint: {other:?}")),
    })
}

impl Entry {
    /// Parses a checkpoint held in memory, told apart by content: a `torch.save` file (zip
    /// or legacy), or safetensors (a flat dict); the error says what is malformed.
    pub fn from_bytes(bytes: &[u8]) -> std::result::Result<Entry, String> {
        match sniff(bytes)? {
            Format::Zip => parse_zip(bytes),
            Format::Legacy => legacy::parse(bytes),
            Format::Safetensors => Ok(Entry::Dict(
                super::parse_safetensors(bytes)?.into_iter().map(|(k, t)| (k, Entry::Tensor(t))).collect(),
            )),
        }
    }
}

fn parse_zip(bytes: &[u8]) -> std::result::Result<Entry, String> {
    let zip = Zip::parse(bytes)?;
    if let Some(order) = zip.find("byteorder") {
        if zip.data(order) != b"little" {
            return Err("big-endian checkpoints are not supported".into());
        }
    }
    let pkl = zip.find("data.pkl").ok_or("no data.pkl in the archive: not a torch.save checkpoint")?;
    let find = |key: &str| zip.find(&format!("data/{key}")).map(|e| zip.data(e));
    convert(unpickle(zip.data(pkl))?.value, &find, bytes.len())
}

/// Reads a `.pth`/`.ckpt` file written by `torch.save` (either format; a safetensors file
/// is read too, as a flat dict).
pub fn load_pth(path: impl AsRef<Path>) -> Result<Entry> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e.to_string()))?;
    Entry::from_bytes(&bytes).map_err(|e| file_error(path, e))
}
