//! `Tensor`: f32, contiguous, row-major, rank 0 to 4 (N, C, H, W for images).
//!
//! A tensor is a cheap handle: cloning shares the value. Values are immutable once made,
//! except through [`Tensor::assign`], which optimizers use to replace a parameter's value.

mod create;
pub(crate) mod shape;

use crate::autograd::Node;
use crate::error::{Error, Result};
use crate::gpu::{Device, Storage};
use std::cell::{Cell, Ref, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The most dimensions a tensor may have.
pub const MAX_RANK: usize = 4;

/// A multi-dimensional array of f32 on a GPU, with an optional autograd history.
#[derive(Clone)]
pub struct Tensor(pub(crate) Rc<Inner>);

pub(crate) struct Inner {
    pub id: usize,
    pub shape: Vec<usize>,
    pub device: Device,
    pub storage: RefCell<Rc<Storage>>,
    pub requires_grad: Cell<bool>,
    pub node: Option<Node>,
    pub grad: RefCell<Option<Tensor>>,
    /// Values derived from this tensor's contents (a conv weight's packed layouts), reused
    /// while the contents are unchanged.
    pub derived: RefCell<Vec<Derived>>,
}

/// A value derived from a tensor's contents and what it was derived from: its storage
/// (compared by identity, held weakly so the address cannot be reused) at a version, and
/// optionally a second tensor's (a bias packed with the weight).
pub(crate) struct Derived {
    pub tag: u64,
    pub from: (std::rc::Weak<Storage>, u64),
    pub with: Option<(std::rc::Weak<Storage>, u64)>,
    pub value: Tensor,
}

fn same(held: &(std::rc::Weak<Storage>, u64), now: &Rc<Storage>) -> bool {
    std::ptr::eq(held.0.as_ptr(), Rc::as_ptr(now)) && held.1 == now.version()
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

impl Tensor {
    /// Wraps a storage as a tensor with no history.
    pub(crate) fn from_storage(device: &Device, shape: Vec<usize>, storage: Rc<Storage>) -> Tensor {
        Tensor::with_node(device, shape, storage, None)
    }

    pub(crate) fn with_node(
        device: &Device,
        shape: Vec<usize>,
        storage: Rc<Storage>,
        node: Option<Node>,
    ) -> Tensor {
        Tensor(Rc::new(Inner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            requires_grad: Cell::new(node.is_some()),
            shape,
            device: device.clone(),
            storage: RefCell::new(storage),
            node,
            grad: RefCell::new(None),
            derived: RefCell::new(Vec::new()),
        }))
    }

    /// The value `make` derives from this tensor's contents (and `with`'s), under `tag`:
    /// computed once and reused until either tensor is assigned or updated in place.
    pub(crate) fn derived(
        &self,
        tag: u64,
        with: Option<&Tensor>,
        make: impl FnOnce() -> Result<Tensor>,
    ) -> Result<Tensor> {
        let now = self.storage().clone();
        let with_now = with.map(|t| t.storage().clone());
        let fresh = |d: &Derived| {
            d.tag == tag
                && same(&d.from, &now)
                && match (&d.with, &with_now) {
                    (None, None) => true,
                    (Some(held), Some(w)) => same(held, w),
                    _ => false,
                }
        };
        if let Some(d) = self.0.derived.borrow().iter().find(|d| fresh(d)) {
            return Ok(d.value.clone());
        }
        let value = make()?;
        let mut cache = self.0.derived.borrow_mut();
        cache.retain(|d| d.tag != tag);
        cache.push(Derived {
            tag,
            from: (Rc::downgrade(&now), now.version()),
            with: with_now.as_ref().map(|w| (Rc::downgrade(w), w.version())),
            value: value.clone(),
        });
        Ok(value)
    }

    /// The dimensions, outermost first.
    pub fn shape(&self) -> &[usize] {
        &self.0.shape
    }

    /// The number of dimensions.
    pub fn rank(&self) -> usize {
        self.0.shape.len()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.0.shape.iter().product()
    }

    /// The device holding this tensor.
    pub fn device(&self) -> &Device {
        &self.0.device
    }

    /// Checks that `others` live on this tensor's device: buffers cannot cross devices.
    pub(crate) fn same_device(&self, op: &'static str, others: &[&Tensor]) -> Result<()> {
        if others.iter().all(|t| t.device() == self.device()) {
            return Ok(());
        }
        Err(Error::Invalid { op, msg: "operands live on different devices; move them to one first".into() })
    }

    pub(crate) fn id(&self) -> usize {
        self.0.id
    }

    pub(crate) fn storage(&self) -> Ref<'_, Rc<Storage>> {
        self.0.storage.borrow()
    }

    /// Copies the values to the host. This is a sync point: it waits for the GPU.
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        let storage = self.storage().clone();
        self.0.device.read(&storage, self.numel())
    }

    /// The single value of a one-element tensor (a sync point).
    pub fn item(&self) -> Result<f32> {
        if self.numel() != 1 {
            return Err(Error::Rank {
                op: "item",
                expected: "a tensor with one element".into(),
                shape: self.shape().to_vec(),
            });
        }
        Ok(self.to_vec()?[0])
    }

    /// Whether gradients flow to or through this tensor.
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad.get()
    }

    /// Marks a leaf as a variable whose gradient `backward` accumulates.
    pub fn set_requires_grad(&self, on: bool) -> Result<&Tensor> {
        if self.0.node.is_some() {
            return Err(Error::Grad(
                "requires_grad can only be set on leaf tensors; use detach() first".into(),
            ));
        }
        self.0.requires_grad.set(on);
        Ok(self)
    }

    /// Builder form of [`Tensor::set_requires_grad`]`(true)` for fresh leaves.
    pub fn requires_grad_(self) -> Tensor {
        self.0.requires_grad.set(self.0.node.is_none() || self.0.requires_grad.get());
        self
    }

    /// The gradient accumulated by `backward`, if any.
    pub fn grad(&self) -> Option<Tensor> {
        self.0.grad.borrow().clone()
    }

    /// Clears the accumulated gradient.
    pub fn zero_grad(&self) {
        self.0.grad.replace(None);
    }

    /// Sets the accumulated gradient (optimizer tests, custom training loops).
    pub fn set_grad(&self, grad: Option<Tensor>) {
        self.0.grad.replace(grad);
    }

    /// The same values with no history: gradients stop here.
    pub fn detach(&self) -> Tensor {
        Tensor::from_storage(&self.0.device, self.0.shape.clone(), self.storage().clone())
    }

    /// Gives this tensor a storage of its own if it shares one (after `assign`, `reshape` or
    /// `detach`), so that an in-place update changes no other tensor.
    pub(crate) fn make_unique(&self) -> Result<()> {
        if Rc::strong_count(&self.storage()) > 1 {
            let copy = crate::autograd::no_grad(|| self.copy())?;
            let storage = copy.storage().clone();
            self.0.storage.replace(storage);
        }
        Ok(())
    }

    /// Replaces this leaf's value with `value`'s (same shape), keeping its identity, so
    /// optimizers can update parameters. Graphs recorded before see the new value too, as in
    /// PyTorch after an in-place update: record them again after assigning.
    pub fn assign(&self, value: &Tensor) -> Result<()> {
        if self.shape() != value.shape() {
            return Err(Error::ShapeMismatch {
                op: "assign",
                lhs: self.shape().to_vec(),
                rhs: value.shape().to_vec(),
            });
        }
        if self.0.node.is_some() {
            return Err(Error::Grad("assign: only leaf tensors can be assigned".into()));
        }
        let storage = value.storage().clone();
        self.0.storage.replace(storage);
        Ok(())
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor{:?}", self.shape())?;
        if let Some(node) = &self.0.node {
            write!(f, " <{}>", node.name)?;
        }
        Ok(())
    }
}
