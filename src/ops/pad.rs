//! Padding of the last two axes (shaders/pad.wgsl): zeros, reflect, replicate. The pad and
//! its adjoint differentiate into each other, so second order works through padding.

use crate::error::{Error, Result};
use crate::gpu::shaders::PAD;
use crate::tensor::Tensor;

/// How padded pixels are filled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PadMode {
    /// Zeros (PyTorch's `constant` mode with value 0, and a conv's own padding).
    Zeros = 0,
    /// Mirror without repeating the edge pixel (`ReflectionPad2d`).
    Reflect = 1,
    /// Repeat the edge pixel (`ReplicationPad2d`).
    Replicate = 2,
}

/// Padding sizes (left, right, top, bottom), in the order of `torch.nn.functional.pad`.
pub type Padding = (usize, usize, usize, usize);

#[derive(Clone, Copy)]
struct Plan {
    planes: usize,
    h: usize,
    w: usize,
    pad: Padding,
    mode: PadMode,
}

impl Plan {
    fn ho(&self) -> usize {
        self.h + self.pad.2 + self.pad.3
    }
    fn wo(&self) -> usize {
        self.w + self.pad.0 + self.pad.1
    }
    fn params(&self) -> [u32; 8] {
        [self.planes, self.h, self.w, self.ho(), self.wo(), self.pad.2, self.pad.0, 0].map(|v| v as u32)
    }
}

fn launch(
    src: &Tensor,
    entry: &'static str,
    shape: Vec<usize>,
    plan: Plan,
) -> Result<(Vec<usize>, crate::gpu::Storage)> {
    let n: usize = shape.iter().product();
    let out = src.device().alloc(n)?;
    if n > 0 {
        let s = src.storage();
        let constants = [("MODE", plan.mode as u32 as f64)];
        src.device().dispatch_linear(&PAD, entry, &constants, &[&s], &[&out], &plan.params(), n);
    }
    Ok((shape, out))
}

fn with_last_two(shape: &[usize], h: usize, w: usize) -> Vec<usize> {
    let mut s = shape.to_vec();
    let r = s.len();
    s[r - 2] = h;
    s[r - 1] = w;
    s
}

fn pad(x: &Tensor, plan: Plan) -> Result<Tensor> {
    let (shape, out) = launch(x, "pad2d", with_last_two(x.shape(), plan.ho(), plan.wo()), plan)?;
    Ok(Tensor::from_op(shape, out, "pad2d", &[x], move |_, _, g| Ok(vec![Some(adjoint(g, plan)?)])))
}

fn adjoint(g: &Tensor, plan: Plan) -> Result<Tensor> {
    let (shape, out) = launch(g, "pad2d_adjoint", with_last_two(g.shape(), plan.h, plan.w), plan)?;
    Ok(Tensor::from_op(shape, out, "pad2d_adjoint", &[g], move |_, _, gg| Ok(vec![Some(pad(gg, plan)?)])))
}

impl Tensor {
    /// Pads the last two axes by (left, right, top, bottom). Reflect needs each pad smaller
    /// than its axis, as in PyTorch.
    pub fn pad2d(&self, padding: Padding, mode: PadMode) -> Result<Tensor> {
        const OP: &str = "pad2d";
        if self.rank() < 2 {
            return Err(Error::Rank {
                op: OP,
                expected: "at least 2 dimensions".into(),
                shape: self.shape().to_vec(),
            });
        }
        let r = self.rank();
        let (h, w) = (self.shape()[r - 2], self.shape()[r - 1]);
        let (l, rt, t, b) = padding;
        let fits = match mode {
            PadMode::Reflect => l < w && rt < w && t < h && b < h,
            PadMode::Replicate => h > 0 && w > 0,
            PadMode::Zeros => true,
        };
        if !fits {
            return Err(Error::Invalid {
                op: OP,
                msg: format!(
                    "{mode:?} padding {padding:?} does not fit an input of shape {:?}",
                    self.shape()
                ),
            });
        }
        let planes = self.shape()[..r - 2].iter().product();
        pad(self, Plan { planes, h, w, pad: padding, mode })
    }
}
