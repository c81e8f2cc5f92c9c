//! The allow-list of the restricted unpickler: the only globals a checkpoint may name, the
//! storage element types they stand for, and what calling them or naming a storage makes.

use super::pickle::{StorageRef, TensorSpec, Value};

type R<T> = std::result::Result<T, String>;

/// The storage element types a checkpoint may use, by their legacy class names.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum StorageType {
    F32,
    F64,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl StorageType {
    fn from_class(name: &str) -> Option<StorageType> {
        Some(match name {
            "FloatStorage" => StorageType::F32,
            "DoubleStorage" => StorageType::F64,
            "HalfStorage" => StorageType::F16,
            "BFloat16Storage" => StorageType::BF16,
            "LongStorage" => StorageType::I64,
            "IntStorage" => StorageType::I32,
            "ShortStorage" => StorageType::I16,
            "CharStorage" => StorageType::I8,
            "ByteStorage" => StorageType::U8,
            "BoolStorage" => StorageType::Bool,
            _ => return None,
        })
    }

    pub fn size(self) -> usize {
        match self {
            StorageType::F64 | StorageType::I64 => 8,
            StorageType::F32 | StorageType::I32 => 4,
            StorageType::F16 | StorageType::BF16 | StorageType::I16 => 2,
            StorageType::I8 | StorageType::U8 | StorageType::Bool => 1,
        }
    }
}

/// The only globals a checkpoint may name.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Global {
    OrderedDict,
    RebuildTensorV2,
    RebuildTensor,
    RebuildParameter,
    Storage(StorageType),
}

pub(crate) fn allowed(module: &str, name: &str) -> R<Global> {
    match (module, name) {
        ("collections", "OrderedDict") => Ok(Global::OrderedDict),
        ("torch._utils", "_rebuild_tensor_v2") => Ok(Global::RebuildTensorV2),
        ("torch._utils", "_rebuild_tensor") => Ok(Global::RebuildTensor),
        ("torch._utils", "_rebuild_parameter") => Ok(Global::RebuildParameter),
        ("torch", class) => StorageType::from_class(class)
            .map(Global::Storage)
            .ok_or_else(|| format!("refuses the global torch.{class}: only state dicts of tensors can be loaded")),
        _ => Err(format!(
            "refuses the global {module}.{name}: only state dicts of tensors can be loaded (was a whole model or other object pickled?)"
        )),
    }
}

fn ints(v: &Value, what: &str) -> R<Vec<usize>> {
    match v {
        Value::Tuple(items) | Value::List(items) => items
            .iter()
            .map(|x| match x {
                Value::Int(i) if *i >= 0 => Ok(*i as usize),
                _ => Err(format!("{what} holds a non-negative integer, not {x:?}")),
            })
            .collect(),
        _ => Err(format!("{what} is a tuple, not {v:?}")),
    }
}

/// What calling an allowed global makes (REDUCE and NEWOBJ): a dict, a tensor view, or
/// the tensor a parameter wraps.
pub(crate) fn call(callable: Value, args: Value) -> R<Value> {
    let Value::Global(g) = callable else { return Err(format!("cannot call {callable:?}")) };
    let args = match args {
        Value::Tuple(a) => a,
        other => return Err(format!("call arguments are a tuple, not {other:?}")),
    };
    match g {
        Global::OrderedDict if args.is_empty() => Ok(Value::Dict(Vec::new())),
        // Python 2 pickles an OrderedDict as a call with its items, `[[key, value], …]`.
        Global::OrderedDict if args.len() == 1 => {
            let Some(Value::List(pairs)) = args.into_iter().next() else {
                return Err("OrderedDict's argument is a list of pairs".into());
            };
            let pair = |p: Value| {
                let kv = match p {
                    Value::List(kv) | Value::Tuple(kv) => kv,
                    other => vec![other],
                };
                <[Value; 2]>::try_from(kv)
                    .map(|[k, v]| (k, v))
                    .map_err(|kv| format!("an OrderedDict item is a [key, value] pair, not {kv:?}"))
            };
            Ok(Value::Dict(pairs.into_iter().map(pair).collect::<R<_>>()?))
        }
        Global::RebuildParameter => {
            args.into_iter().next().ok_or_else(|| "empty _rebuild_parameter".to_string())
        }
        Global::RebuildTensorV2 | Global::RebuildTensor if args.len() >= 4 => {
            let Value::Storage { dtype, key, window } = &args[0] else {
                return Err(format!("tensor storage expected, got {:?}", args[0]));
            };
            let Value::Int(offset) = args[1] else { return Err("storage offset is an integer".into()) };
            let size = ints(&args[2], "a tensor size")?;
            let stride = ints(&args[3], "a tensor stride")?;
            if size.len() != stride.len() || offset < 0 {
                return Err(format!("tensor size {size:?} and stride {stride:?} disagree"));
            }
            Ok(Value::Tensor(TensorSpec {
                dtype: *dtype,
                key: key.clone(),
                window: *window,
                offset: offset as usize,
                size,
                stride,
            }))
        }
        g => Err(format!("unexpected call of {g:?} with {} arguments", args.len())),
    }
}

/// A storage's persistent id: `('storage', type, key, location, numel)` in zip files,
/// with a sixth item in legacy files, the view `(view key, offset, numel)` or None.
pub(crate) fn persistent_storage(pid: Value) -> R<(StorageRef, Value)> {
    let Value::Tuple(t) = pid else { return Err("persistent id is a tuple".into()) };
    let (dtype, key, numel, view) = match t.as_slice() {
        [Value::Str(kind), Value::Global(Global::Storage(dtype)), Value::Str(key), _, Value::Int(n), rest @ ..]
            if kind == "storage" && *n >= 0 && rest.len() <= 1 =>
        {
            (*dtype, key.clone(), *n as usize, rest.first())
        }
        other => return Err(format!("unsupported persistent id {other:?}")),
    };
    let window = match view {
        None | Some(Value::None) => None,
        Some(Value::Tuple(v)) => match v.as_slice() {
            [Value::Str(_), Value::Int(at), Value::Int(n)] if *at >= 0 && *n >= 0 => {
                Some((*at as usize, *n as usize))
            }
            _ => return Err(format!("unsupported storage view {v:?} of storage {key}")),
        },
        Some(other) => return Err(format!("unsupported storage view {other:?} of storage {key}")),
    };
    Ok((StorageRef { key: key.clone(), dtype, numel }, Value::Storage { dtype, key, window }))
}
