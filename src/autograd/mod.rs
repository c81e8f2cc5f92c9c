//! Reverse-mode autograd. Each op output that depends on a tensor requiring grad holds a
//! [`Node`]: its inputs and a backward rule written with the engine's own tensor ops. Walking
//! the nodes in reverse topological order and *adding* the contributions gives gradients;
//! because the rules are tensor ops, running them with recording on (`create_graph`) puts
//! the gradients themselves on the tape, which is what WGAN-GP and R1 penalties need.

use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::cell::Cell;
use std::collections::{HashMap, HashSet};

/// A backward rule: given the node's inputs, its output and the gradient of the output,
/// returns one gradient per input (`None` where an input gets none).
pub(crate) type BackwardFn = Box<dyn Fn(&[Tensor], &Tensor, &Tensor) -> Result<Vec<Option<Tensor>>>>;

/// One recorded op.
pub(crate) struct Node {
    pub name: &'static str,
    pub inputs: Vec<Tensor>,
    pub backward: BackwardFn,
}

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether ops record history on this thread now.
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(Cell::get)
}

/// While alive, ops record no history on this thread (like `torch.no_grad()`).
pub struct NoGradGuard(bool);

impl NoGradGuard {
    pub fn new() -> Self {
        NoGradGuard(GRAD_ENABLED.with(|g| g.replace(false)))
    }
}

impl Default for NoGradGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.0));
    }
}

/// Runs `f` with history recording off.
pub fn no_grad<T>(f: impl FnOnce() -> T) -> T {
    let _guard = NoGradGuard::new();
    f()
}

/// Whether an op with these inputs should record a node.
pub(crate) fn should_record(inputs: &[&Tensor]) -> bool {
    is_grad_enabled() && inputs.iter().any(|t| t.requires_grad())
}

/// Every tensor reachable from `roots` through nodes that require grad, inputs before users.
fn topological_order(roots: &[Tensor]) -> Vec<Tensor> {
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<(Tensor, bool)> = roots.iter().map(|t| (t.clone(), false)).collect();
    while let Some((t, expanded)) = stack.pop() {
        if expanded {
            order.push(t);
            continue;
        }
        if !seen.insert(t.id()) {
            continue;
        }
        stack.push((t.clone(), true));
        if let Some(node) = &t.0.node {
            for input in node.inputs.iter().filter(|i| i.requires_grad()) {
                if !seen.contains(&input.id()) {
                    stack.push((input.clone(), false));
                }
            }
        }
    }
    order
}

thread_local! {
    /// Which inputs of the node whose backward rule is running need a gradient.
    static NEEDED: std::cell::RefCell<Vec<bool>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether the backward rule now running must compute the gradient of its input `i`: false
/// when that input does not require grad, or when no gradient asked for depends on it (a
/// frozen discriminator's weights in the generator step; every weight of a critic whose
/// input gradient alone a penalty asks for). Rules may skip those and return None; outside
/// a rule every input counts as needed.
pub fn needs_grad(i: usize) -> bool {
    NEEDED.with(|n| n.borrow().get(i).copied().unwrap_or(true))
}

/// The tensors whose gradient some wanted gradient depends on: the wanted ones, and every
/// tensor with a path from a needed one through ops (`order` lists inputs before users).
fn needed(order: &[Tensor], wanted: &HashSet<usize>) -> HashSet<usize> {
    let mut needed = HashSet::new();
    for t in order {
        let feeds = t.0.node.as_ref().is_some_and(|n| n.inputs.iter().any(|i| needed.contains(&i.id())));
        if wanted.contains(&t.id()) || feeds {
            needed.insert(t.id());
        }
    }
    needed
}

/// Propagates `seeds` (one per output) back through the graph and returns the gradients
/// of the tensors whose ids are in `wanted`.
fn propagate(
    outputs: &[Tensor],
    seeds: Vec<Tensor>,
    wanted: &HashSet<usize>,
) -> Result<HashMap<usize, Tensor>> {
    let mut grads: HashMap<usize, Tensor> = HashMap::new();
    for (out, seed) in outputs.iter().zip(seeds) {
        accumulate(&mut grads, out.id(), seed)?;
    }
    let mut found = HashMap::new();
    let order = topological_order(outputs);
    let needed = needed(&order, wanted);
    for t in order.into_iter().rev() {
        let Some(g) = grads.remove(&t.id()) else {
            continue;
        };
        if let Some(node) = &t.0.node {
            let flags = node.inputs.iter().map(|i| i.requires_grad() && needed.contains(&i.id())).collect();
            let previous = NEEDED.with(|n| n.replace(flags));
            let input_grads = (node.backward)(&node.inputs, &t, &g);
            NEEDED.with(|n| n.replace(previous));
            for (input, gi) in node.inputs.iter().zip(input_grads?) {
                let Some(gi) = gi else { continue };
                if !input.requires_grad() || !needed.contains(&input.id()) {
                    continue;
                }
                if gi.shape() != input.shape() {
                    return Err(Error::Grad(format!(
                        "the backward rule of {} gave a gradient of shape {:?} for an input of shape {:?}",
                        node.name,
                        gi.shape(),
                        input.shape()
                    )));
                }
                accumulate(&mut grads, input.id(), gi)?;
            }
        }
        if wanted.contains(&t.id()) {
            found.insert(t.id(), g);
        }
    }
    Ok(found)
}

fn accumulate(grads: &mut HashMap<usize, Tensor>, id: usize, g: Tensor) -> Result<()> {
    let sum = match grads.remove(&id) {
        Some(old) => old.add(&g)?,
        None => g,
    };
    grads.insert(id, sum);
    Ok(())
}

fn leaves(roots: &[Tensor]) -> Vec<Tensor> {
    topological_order(roots).into_iter().filter(|t| t.0.node.is_none() && t.requires_grad()).collect()
}

fn check_scalar(op: &str, t: &Tensor) -> Result<()> {
    if !t.requires_grad() {
        return Err(Error::Grad(format!(
            "{op}: the tensor {:?} does not require grad (no input of it was marked with requires_grad)",
            t.shape()
        )));
    }
    if t.numel() != 1 {
        return Err(Error::Grad(format!(
            "{op}: a gradient can only be implied for a one-element output, not shape {:?}",
            t.shape()
        )));
    }
    Ok(())
}

impl Tensor {
    /// Accumulates d(self)/d(leaf) into the `.grad()` of every leaf that requires grad.
    /// `self` must hold one element.
    pub fn backward(&self) -> Result<()> {
        check_scalar("backward", self)?;
        let _guard = NoGradGuard::new();
        let leaves = leaves(std::slice::from_ref(self));
        let wanted = leaves.iter().map(Tensor::id).collect();
        let seed = Tensor::ones_like(self)?;
        let mut grads = propagate(std::slice::from_ref(self), vec![seed], &wanted)?;
        for leaf in leaves {
            if let Some(g) = grads.remove(&leaf.id()) {
                let total = match leaf.grad() {
                    Some(old) => old.add(&g)?,
                    None => g,
                };
                leaf.set_grad(Some(total));
            }
        }
        Ok(())
    }
}

/// Gradients of the sum of `outputs` (each one element) with respect to `inputs`, like
/// `torch.autograd.grad`. With `create_graph` the gradients are recorded on the tape, so
/// they can be differentiated again. Leaves' `.grad()` are left untouched. An input that
/// receives no gradient gets zeros (PyTorch's `materialize_grads`): in GAN penalties that
/// is common and correct, e.g. a bias that only moves a leaky ReLU's kink.
pub fn grad(outputs: &[Tensor], inputs: &[Tensor], create_graph: bool) -> Result<Vec<Tensor>> {
    let mut seeds = Vec::with_capacity(outputs.len());
    for out in outputs {
        check_scalar("grad", out)?;
        seeds.push(Tensor::ones_like(out)?);
    }
    grad_with(outputs, seeds, inputs, create_graph)
}

/// [`grad`] with explicit output gradients (`grad_outputs` in PyTorch), one per output.
pub fn grad_with(
    outputs: &[Tensor],
    grad_outputs: Vec<Tensor>,
    inputs: &[Tensor],
    create_graph: bool,
) -> Result<Vec<Tensor>> {
    for (out, g) in outputs.iter().zip(&grad_outputs) {
        if out.shape() != g.shape() {
            return Err(Error::ShapeMismatch {
                op: "grad",
                lhs: out.shape().to_vec(),
                rhs: g.shape().to_vec(),
            });
        }
    }
    let wanted = inputs.iter().map(Tensor::id).collect();
    let grads = {
        let _guard = (!create_graph).then(NoGradGuard::new);
        propagate(outputs, grad_outputs, &wanted)?
    };
    inputs.iter().map(|t| grads.get(&t.id()).cloned().map_or_else(|| Tensor::zeros_like(t), Ok)).collect()
}

impl Tensor {
    /// Wraps an op's output, recording a node when any input requires grad and recording is
    /// on. `backward` maps (inputs, output, output gradient) to one gradient per input.
    pub(crate) fn from_op(
        shape: Vec<usize>,
        storage: impl Into<std::rc::Rc<crate::gpu::Storage>>,
        name: &'static str,
        inputs: &[&Tensor],
        backward: impl Fn(&[Tensor], &Tensor, &Tensor) -> Result<Vec<Option<Tensor>>> + 'static,
    ) -> Tensor {
        let device = inputs[0].device().clone();
        let node = should_record(inputs).then(|| Node {
            name,
            inputs: inputs.iter().map(|t| (*t).clone()).collect(),
            backward: Box::new(backward),
        });
        Tensor::with_node(&device, shape, storage.into(), node)
    }
}

#[cfg(test)]
mod pruning {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// a·b through an op that records which input gradients its rule was asked for.
    fn product(a: &Tensor, b: &Tensor, asked: &Rc<RefCell<Vec<(bool, bool)>>>) -> Tensor {
        let out = a.mul(b).unwrap();
        let storage = out.storage().clone();
        let asked = asked.clone();
        Tensor::from_op(out.shape().to_vec(), storage, "recorded_mul", &[a, b], move |inp, _, g| {
            asked.borrow_mut().push((needs_grad(0), needs_grad(1)));
            Ok(vec![Some(g.mul(&inp[1])?), Some(g.mul(&inp[0])?)])
        })
    }

    #[test]
    fn rules_are_asked_only_for_the_gradients_that_are_wanted() {
        let d =
            crate::Device::open().expect("tests need a GPU adapter; on a CPU install mesa-vulkan-drivers");
        let a = Tensor::from_slice(&d, &[2.0, 3.0], &[2]).unwrap().requires_grad_();
        let b = Tensor::from_slice(&d, &[5.0, 7.0], &[2]).unwrap().requires_grad_();
        let asked = Rc::new(RefCell::new(Vec::new()));
        // grad with respect to a alone (a penalty's input gradient): b's is not computed.
        let y = product(&a, &b, &asked).sum_all().unwrap();
        let ga = grad(std::slice::from_ref(&y), std::slice::from_ref(&a), false).unwrap().remove(0);
        assert_eq!(ga.to_vec().unwrap(), [5.0, 7.0]);
        // backward: every leaf that requires grad.
        y.backward().unwrap();
        assert_eq!(b.grad().unwrap().to_vec().unwrap(), [2.0, 3.0]);
        // A frozen input (a discriminator's weights in the generator step).
        b.set_requires_grad(false).unwrap();
        let y = product(&a, &b, &asked).sum_all().unwrap();
        y.backward().unwrap();
        assert_eq!(*asked.borrow(), [(true, false), (true, true), (true, false)]);
        assert!(needs_grad(0) && needs_grad(5), "outside a rule every input counts as needed");
    }
}
