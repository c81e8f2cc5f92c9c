//! A restricted unpickler: it understands the opcodes and globals of a PyTorch state dict
//! and refuses everything else. It never executes or imports anything: an allowed global
//! becomes a marker that the few calls in `allow_list` interpret as data. Every value is
//! bounded: containers nest at most 64 deep, and memo copies and depth checks draw on
//! budgets proportional to the pickle's length.

use super::allow_list::{allowed, call, persistent_storage, Global, StorageType};
use std::collections::HashMap;

type R<T> = std::result::Result<T, String>;

/// A tensor as the pickle describes it: a view into a storage.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TensorSpec {
    pub dtype: StorageType,
    pub key: String,
    /// A window of the storage (element offset, element count) that the tensor's offset
    /// counts from: old legacy files share one storage between several such views.
    pub window: Option<(usize, usize)>,
    pub offset: usize,
    pub size: Vec<usize>,
    pub stride: Vec<usize>,
}

/// A storage as a persistent id names it: its key, element type and element count.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StorageRef {
    pub key: String,
    pub dtype: StorageType,
    pub numel: usize,
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
    Storage { dtype: StorageType, key: String, window: Option<(usize, usize)> },
    Tensor(TensorSpec),
    Mark,
}

/// How deeply containers may nest: a state dict needs a handful of levels, and the limit
/// keeps every recursive walk over a value (and its drop) far from the stack's end.
const MAX_DEPTH: usize = 64;

struct Machine<'a> {
    b: &'a [u8],
    at: usize,
    stack: Vec<Value>,
    memo: HashMap<u64, Value>,
    /// Every storage the persistent ids named, in order.
    storages: Vec<StorageRef>,
    /// Values left to copy through the memo or DUP: each copy costs its node count, so a
    /// small pickle cannot double a value into an allocation far beyond its own size.
    copy_budget: usize,
    /// Nodes left to visit in depth checks, so that a pickle which pops one large value
    /// again and again cannot keep the checks busy for hours.
    walk_budget: usize,
}

/// A copy of a value for the memo or DUP, paid for from the copy budget.
fn copy(budget: &mut usize, at: usize, v: Option<&Value>) -> R<Value> {
    let v = v.ok_or_else(|| format!("nothing to copy at byte {at}"))?;
    *budget = budget
        .checked_sub(weigh(v).0)
        .ok_or_else(|| format!("memo copies at byte {at} grow the pickle far beyond its size"))?;
    Ok(v.clone())
}

/// The nodes of a value and how deeply its containers nest. A value that owns a buffer (a
/// string, bytes, a storage's key, a tensor's key, size and stride) weighs one node more
/// per 16 bytes of it, so copies of a long string cost their length.
fn weigh(v: &Value) -> (usize, usize) {
    let items = |vs: &mut dyn Iterator<Item = &Value>| {
        vs.map(weigh).fold((1, 1), |(n, d), (vn, vd)| (n + vn, d.max(vd + 1)))
    };
    let buffer = |bytes: usize| (1 + bytes / 16, 0);
    match v {
        Value::Tuple(vs) | Value::List(vs) => items(&mut vs.iter()),
        Value::Dict(kv) => items(&mut kv.iter().flat_map(|(k, v)| [k, v])),
        Value::Str(s) => buffer(s.len()),
        Value::Bytes(b) => buffer(b.len()),
        Value::Storage { key, .. } => buffer(key.len()),
        Value::Tensor(t) => buffer(t.key.len() + 16 * t.size.len()),
        _ => (1, 0),
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
    /// Every value leaves the stack through here on its way into a container, a call or
    /// the result, so checking its depth here bounds the depth of every value.
    fn shallow(&mut self, v: &Value) -> R<()> {
        let (nodes, depth) = weigh(v);
        if depth > MAX_DEPTH {
            return Err(format!("containers nest deeper than {MAX_DEPTH} levels at byte {}", self.at));
        }
        self.walk_budget = self
            .walk_budget
            .checked_sub(nodes)
            .ok_or_else(|| format!("the pickle revisits its values too often (at byte {})", self.at))?;
        Ok(())
    }
    fn pop(&mut self) -> R<Value> {
        match self.stack.pop() {
            Some(Value::Mark) | None => Err(format!("stack underflow at byte {}", self.at)),
            Some(v) => self.shallow(&v).map(|_| v),
        }
    }
    fn pop_mark(&mut self) -> R<Vec<Value>> {
        let pos = self.stack.iter().rposition(|v| *v == Value::Mark).ok_or("MARK missing")?;
        let items = self.stack.split_off(pos + 1);
        self.stack.pop();
        for v in &items {
            self.shallow(v)?;
        }
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
                    let v = copy(&mut self.copy_budget, op_at, self.stack.last())?;
                    self.memo.insert(key, v);
                }
                b'h' | b'j' => {
                    let key = self.uint(if op == b'h' { 1 } else { 4 })?;
                    if !self.memo.contains_key(&key) {
                        return Err(format!("memo key {key} missing at byte {op_at}"));
                    }
                    let v = copy(&mut self.copy_budget, op_at, self.memo.get(&key))?;
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
                    let v = call(callable, args)?;
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
                    let (storage, v) = persistent_storage(pid)?;
                    self.storages.push(storage);
                    self.stack.push(v);
                }
                b'0' => drop(self.pop()?),
                b'1' => drop(self.pop_mark()?),
                b'2' => {
                    let v = copy(&mut self.copy_budget, op_at, self.stack.last())?;
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

/// One pickle read from the start of a byte slice.
pub(crate) struct Unpickled {
    pub value: Value,
    /// The bytes it took, up to and including its STOP.
    pub len: usize,
    /// Every storage its persistent ids named, in order.
    pub storages: Vec<StorageRef>,
}

/// Unpickles the pickle at the start of `bytes` under the restrictions above.
pub(crate) fn unpickle(bytes: &[u8]) -> R<Unpickled> {
    // A real pickle copies little: the memo keeps each tuple once, and strings and globals
    // come back one node at a time (one per 16 bytes of a long string). Each node is checked once per container around it.
    let copy_budget = bytes.len().saturating_mul(16).saturating_add(1 << 16);
    let mut m = Machine {
        b: bytes,
        at: 0,
        stack: Vec::new(),
        memo: HashMap::new(),
        storages: Vec::new(),
        copy_budget,
        walk_budget: copy_budget.saturating_add(bytes.len()).saturating_mul(MAX_DEPTH),
    };
    let value = m.run()?;
    Ok(Unpickled { value, len: m.at, storages: m.storages })
}
