//! The module contract: named parameters and buffers with PyTorch's `state_dict` names,
//! train/eval mode, freezing, and loading a state dict with one error listing every
//! missing, unexpected and mis-shaped key.

use crate::autograd::no_grad;
use crate::error::{Error, Result};
use crate::io::NamedTensors;
use crate::tensor::Tensor;

/// Whether a named tensor is trained (parameter) or only carried (buffer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Parameter,
    Buffer,
}

/// Anything with named tensors. `visit` names them relative to the module; containers
/// prefix their children's names, so names come out as PyTorch writes them
/// (`model.1.weight`, `conv_block.5.bias`).
pub trait Module {
    /// Calls `f` with each tensor's dotted name, the tensor and its role.
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role));

    /// Switches train or eval mode (norms, dropout, spectral norm). Default: no state.
    fn set_training(&self, _on: bool) {}

    /// Whether a key may be absent on one side when loading, as PyTorch's own loader lets it
    /// be: older PyTorch saved running statistics for InstanceNorm layers that track none
    /// (skipped when the module lacks them), and PyTorch before 0.4.1 saved no
    /// `num_batches_tracked` (the module keeps its own count when the file lacks it).
    /// Containers pass the question to the child the key names.
    fn ignores_legacy_key(&self, _name: &str) -> bool {
        false
    }

    /// A check of a file's tensors before the key-by-key comparison, for a mismatch that a
    /// list of shapes would not explain (StarGAN's discriminator names the image size a
    /// checkpoint was trained for). Default: nothing to check.
    fn check_state_dict(&self, _tensors: &NamedTensors) -> Result<()> {
        Ok(())
    }
}

/// Joins a child's name onto a prefix.
pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Visits a child module under `name`.
pub fn visit_child(child: &dyn Module, name: &str, f: &mut dyn FnMut(&str, &Tensor, Role)) {
    child.visit(&mut |n, t, r| f(&join(name, n), t, r));
}

/// The operations every module gets from `visit`.
pub trait ModuleExt: Module {
    /// Parameters and buffers by name, in definition order.
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        self.visit(&mut |n, t, _| out.push((n.to_string(), t.clone())));
        out
    }

    /// The parameters (what optimizers update), in definition order.
    fn parameters(&self) -> Vec<Tensor> {
        let mut out = Vec::new();
        self.visit(&mut |_, t, r| {
            if r == Role::Parameter {
                out.push(t.clone())
            }
        });
        out
    }

    /// The number of parameter values (PyTorch's `sum(p.numel() for p in parameters())`).
    fn parameter_count(&self) -> usize {
        self.parameters().iter().map(Tensor::numel).sum()
    }

    /// Freezes (`false`) or unfreezes every parameter, as the references do to their
    /// discriminators during the generator step.
    fn set_requires_grad(&self, on: bool) {
        for p in self.parameters() {
            p.set_requires_grad(on).expect("parameters are leaves");
        }
    }

    /// Copies values in by name. Every missing, unexpected or mis-shaped key is reported
    /// in one error, naming both shapes; nothing is changed unless all keys fit.
    fn load_state_dict(&self, tensors: &NamedTensors) -> Result<()> {
        self.check_state_dict(tensors)?;
        let own = self.state_dict();
        let (mut missing, mut reshaped, mut unexpected) = (Vec::new(), Vec::new(), Vec::new());
        for (name, t) in &own {
            match tensors.iter().find(|(n, _)| n == name) {
                None if self.ignores_legacy_key(name) => {}
                None => missing.push(format!("{name} {:?}", t.shape())),
                Some((_, h)) if h.shape != t.shape() => {
                    reshaped.push(format!("{name} (file {:?}, model {:?})", h.shape, t.shape()))
                }
                Some(_) => {}
            }
        }
        for (name, h) in tensors {
            if !own.iter().any(|(n, _)| n == name) && !self.ignores_legacy_key(name) {
                unexpected.push(format!("{name} {:?}", h.shape));
            }
        }
        unexpected.sort();
        let problems = summarise(&[
            ("missing from the file", &missing),
            ("of another shape", &reshaped),
            ("in the file but not the model", &unexpected),
        ]);
        if !problems.is_empty() {
            return Err(Error::Invalid { op: "load_state_dict", msg: problems });
        }
        no_grad(|| {
            for (name, t) in &own {
                // A key absent from the file passed the check above as legacy: keep ours.
                if let Some((_, h)) = tensors.iter().find(|(n, _)| n == name) {
                    t.assign(&h.to_tensor(t.device())?)?;
                }
            }
            Ok(())
        })
    }
}

impl<M: Module + ?Sized> ModuleExt for M {}

/// A mismatch in a few lines: each kind's count and its first few keys (in the model's
/// order, or sorted for keys the model lacks), so that even a file of another
/// architecture gives a readable message.
fn summarise(kinds: &[(&str, &Vec<String>)]) -> String {
    const SHOWN: usize = 4;
    kinds
        .iter()
        .filter(|(_, keys)| !keys.is_empty())
        .map(|(what, keys)| {
            let more =
                if keys.len() > SHOWN { format!(", … {} more", keys.len() - SHOWN) } else { String::new() };
            let first: Vec<&str> = keys.iter().take(SHOWN).map(String::as_str).collect();
            format!("{} key(s) {what}: {}{more}", keys.len(), first.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A module with one input and one output.
pub trait Layer: Module {
    fn forward(&self, x: &Tensor) -> Result<Tensor>;

    /// The activation this layer is, for a layer before it to absorb (`Sequential`).
    fn as_norm_act(&self) -> Option<crate::ops::norm::NormAct> {
        None
    }

    /// `act(forward(x))` in one op, where this layer can apply `act` itself (a norm).
    fn forward_then(&self, _x: &Tensor, _act: crate::ops::norm::NormAct) -> Option<Result<Tensor>> {
        None
    }
}

/// Layers applied in order and named by index, like `nn.Sequential` (parameterless
/// layers take an index too, so the names match PyTorch's).
#[derive(Default)]
pub struct Sequential {
    pub layers: Vec<Box<dyn Layer>>,
}

impl Sequential {
    pub fn new() -> Self {
        Sequential::default()
    }

    pub fn push(mut self, layer: impl Layer + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }
}

impl Module for Sequential {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        for (i, l) in self.layers.iter().enumerate() {
            visit_child(l.as_ref(), &i.to_string(), f);
        }
    }
    fn set_training(&self, on: bool) {
        self.layers.iter().for_each(|l| l.set_training(on));
    }
    fn ignores_legacy_key(&self, name: &str) -> bool {
        let Some((index, rest)) = name.split_once('.') else { return false };
        let child = index.parse::<usize>().ok().and_then(|i| self.layers.get(i));
        child.is_some_and(|c| c.ignores_legacy_key(rest))
    }
}

impl Layer for Sequential {
    /// Runs the layers in order; a norm followed by a ReLU or LeakyReLU runs as one op
    /// (the activation inside the norm's kernel), the same values in one pass fewer.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        let mut i = 0;
        while i < self.layers.len() {
            let fused = self.layers.get(i + 1).and_then(|next| next.as_norm_act());
            if let Some(y) = fused.and_then(|act| self.layers[i].forward_then(&h, act)) {
                h = y?;
                i += 2;
            } else {
                h = self.layers[i].forward(&h)?;
                i += 1;
            }
        }
        Ok(h)
    }
}
