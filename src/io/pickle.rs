//! A restricted unpickler: it understands the opcodes and globals of a PyTorch state dict
//! and refuses everything else. It never executes or imports anything: an allowed global
//! becomes a marker that the few reductions below interpret as data.

use std::collections::HashMap;

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

fn allowed(module: &str, name: &str) -> R<Global> {
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

/// A tensor as the pickle describes it: a view into a storage.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TensorSpec {
    pub dtype: StorageType,
    pub key: String,
    pub offset: usize,
    pub size: Vec<usize>,
    pub stride: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(Global),
    Storage { dtype: StorageType, key: String },
    Tensor(TensorSpec),
    Mark,
}

struct Machine<'a> {
    b: &'a [u8],
    at: usize,
    stack: Vec<Value>,
    memo: HashMap<u64, Value>,
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

impl<'a> Machine<'a> {
    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| format!("truncated pickle at byte {}", self.at))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn uint(&mut self, n: usize) -> R<u64> {
        Ok(self.take(n)?.iter().rev().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }
    fn len(&mut self, n: usize) -> R<usize> {
        let v = self.uint(n)?;
        usize::try_from(v)
            .ok()
            .filter(|&l| l <= self.b.len())
            .ok_or_else(|| format!("length {v} exceeds the pickle"))
    }
    fn line(&mut self) -> R<String> {
        let rest = &self.b[self.at..];
        let end = rest.iter().position(|&c| c == b'\n').ok_or("unterminated GLOBAL")?;
        let s = String::from_utf8_lossy(&rest[..end]).into_owned();
        self.at += end + 1;
        Ok(s)
    }
    fn pop(&mut self) -> R<Value> {
        match self.stack.pop() {
            Some(Value::Mark) | None => Err(format!("stack underflow at byte {}", self.at)),
            Some(v) => Ok(v),
        }
    }
    fn pop_mark(&mut self) -> R<Vec<Value>> {
        let pos = self.stack.iter().rposition(|v| *v == Value::Mark).ok_or("MARK missing")?;
        let items = self.stack.split_off(pos + 1);
        self.stack.pop();
        Ok(items)
    }
    fn top(&mut self) -> R<&mut Value> {
        self.stack.last_mut().ok_or_else(|| "empty stack".to_string())
    }
    fn set_items(&mut self, items: Vec<Value>) -> R<()> {
        if !items.len().is_multiple_of(2) {
            return Err("odd number of dict items".into());
        }
        let Value::Dict(d) = self.top()? else { return Err("SETITEMS on a non-dict".into()) };
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            d.push((k, v));
        }
        Ok(())
    }
    fn append(&mut self, items: Vec<Value>) -> R<()> {
        match self.top()? {
            Value::List(l) => {
                l.extend(items);
                Ok(())
            }
            _ => Err("APPEND on a non-list".into()),
        }
    }

    fn reduce(&mut self, callable: Value, args: Value) -> R<Value> {
        let Value::Global(g) = callable else { return Err(format!("cannot call {callable:?}")) };
        let args = match args {
            Value::Tuple(a) => a,
            other => return Err(format!("call arguments are a tuple, not {other:?}")),
        };
        match g {
            Global::OrderedDict if args.is_empty() => Ok(Value::Dict(Vec::new())),
            Global::RebuildParameter => {
                args.into_iter().next().ok_or_else(|| "empty _rebuild_parameter".to_string())
            }
            Global::RebuildTensorV2 | Global::RebuildTensor if args.len() >= 4 => {
                let Value::Storage { dtype, key } = &args[0] else {
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
                    offset: offset as usize,
                    size,
                    stride,
                }))
            }
            g => Err(format!("unexpected call of {g:?} with {} arguments", args.len())),
        }
    }

    fn persistent(&mut self, pid: Value) -> R<Value> {
        let Value::Tuple(t) = pid else { return Err("persistent id is a tuple".into()) };
        match t.as_slice() {
            [Value::Str(kind), Value::Global(Global::Storage(dtype)), Value::Str(key), _, _]
                if kind == "storage" =>
            {
                Ok(Value::Storage { dtype: *dtype, key: key.clone() })
            }
            other => Err(format!("unsupported persistent id {other:?}")),
        }
    }

    fn run(&mut self) -> R<Value> {
        loop {
            let op_at = self.at;
            let op = *self.take(1)?.first().unwrap();
            match op {
                0x80 => drop(self.take(1)?), // PROTO
                0x95 => drop(self.take(8)?), // FRAME
                b'}' => self.stack.push(Value::Dict(Vec::new())),
                b']' => self.stack.push(Value::List(Vec::new())),
                b')' => self.stack.push(Value::Tuple(Vec::new())),
                b'(' => self.stack.push(Value::Mark),
                b'q' | b'r' | 0x94 => {
                    let key = match op {
                        b'q' => self.uint(1)?,
                        b'r' => self.uint(4)?,
                        _ => self.memo.len() as u64,
                    };
                    let v = self.stack.last().cloned().ok_or("memo of an empty stack")?;
                    self.memo.insert(key, v);
                }
                b'h' | b'j' => {
                    let key = self.uint(if op == b'h' { 1 } else { 4 })?;
                    let v = self.memo.get(&key).cloned().ok_or_else(|| format!("memo key {key} missing"))?;
                    self.stack.push(v);
                }
                b'c' => {
                    let (module, name) = (self.line()?, self.line()?);
                    self.stack.push(Value::Global(allowed(&module, &name)?));
                }
                0x93 => {
                    let (name, module) = (self.pop()?, self.pop()?);
                    let (Value::Str(module), Value::Str(name)) = (module, name) else {
                        return Err("STACK_GLOBAL needs strings".into());
                    };
                    self.stack.push(Value::Global(allowed(&module, &name)?));
                }
                b'X' | 0x8c | 0x8d | b'T' | b'U' => {
                    let n = match op {
                        b'X' | b'T' => self.len(4)?,
                        0x8d => self.len(8)?,
                        _ => self.len(1)?,
                    };
                    let s = String::from_utf8_lossy(self.take(n)?).into_owned();
                    self.stack.push(Value::Str(s));
                }
                b'B' | b'C' => {
                    let n = if op == b'B' { self.len(4)? } else { self.len(1)? };
                    let bytes = self.take(n)?.to_vec();
                    self.stack.push(Value::Bytes(bytes));
                }
                b'J' => {
                    let v = i32::from_le_bytes(self.take(4)?.try_into().unwrap());
                    self.stack.push(Value::Int(i64::from(v)));
                }
                b'K' => {
                    let v = self.uint(1)?;
                    self.stack.push(Value::Int(v as i64));
                }
                b'M' => {
                    let v = self.uint(2)?;
                    self.stack.push(Value::Int(v as i64));
                }
                0x8a | 0x8b => {
                    let n = if op == 0x8a { self.len(1)? } else { self.len(4)? };
                    let bytes = self.take(n)?;
                    if n > 8 {
                        return Err(format!("integer of {n} bytes is too large"));
                    }
                    let mut v: i64 = 0;
                    for (i, &x) in bytes.iter().enumerate() {
                        v |= i64::from(x) << (8 * i);
                    }
                    if n > 0 && n < 8 && bytes[n - 1] & 0x80 != 0 {
                        v -= 1i64 << (8 * n);
                    }
                    self.stack.push(Value::Int(v));
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.take(8)?.try_into().unwrap());
                    self.stack.push(Value::Float(v));
                }
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'N' => self.stack.push(Value::None),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut items = (0..n).map(|_| self.pop()).collect::<R<Vec<_>>>()?;
                    items.reverse();
                    self.stack.push(Value::Tuple(items));
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::List(items));
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Dict(Vec::new()));
                    self.set_items(items)?;
                }
                b'R' | 0x81 => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let v = self.reduce(callable, args)?;
                    self.stack.push(v);
                }
                // BUILD: object state such as a state dict's `_metadata`; data only, ignored.
                b'b' => drop(self.pop()?),
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.set_items(vec![k, v])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    self.set_items(items)?;
                }
                b'a' => {
                    let v = self.pop()?;
                    self.append(vec![v])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.append(items)?;
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let v = self.persistent(pid)?;
                    self.stack.push(v);
                }
                b'0' => drop(self.pop()?),
                b'1' => drop(self.pop_mark()?),
                b'2' => {
                    let v = self.stack.last().cloned().ok_or("DUP of an empty stack")?;
                    self.stack.push(v);
                }
                b'.' => return self.pop(),
                other => {
                    return Err(format!("unknown or unsupported pickle opcode 0x{other:02x} at byte {op_at}"))
                }
            }
        }
    }
}

/// Unpickles `bytes` under the restrictions above.
pub(crate) fn unpickle(bytes: &[u8]) -> R<Value> {
    Machine { b: bytes, at: 0, stack: Vec::new(), memo: HashMap::new() }.run()
}
