//! Elementwise functions of one tensor (shaders/unary.wgsl), each with its gradient rule.
//! Masks used by gradient rules (`step`, `sign`, ...) are constants: they record no history,
//! which is exact because their derivative is zero almost everywhere.

use crate::autograd::is_grad_enabled;
use crate::error::Result;
use crate::gpu::shaders::UNARY;
use crate::ops::binary::{unary_grad, UnaryGrad};
use crate::tensor::Tensor;

/// The shader's OP codes.
#[derive(Clone, Copy)]
enum UnaryOp {
    Neg = 0,
    Abs = 1,
    Exp = 2,
    Log = 3,
    Sqrt = 4,
    Rsqrt = 5,
    Powf = 6,
    Relu = 7,
    LeakyRelu = 8,
    Sigmoid = 9,
    Tanh = 10,
    Clamp = 11,
    Sign = 12,
    Step = 13,
    LeakyMask = 14,
    InRange = 15,
    Affine = 16,
}

/// Runs one map and returns its output storage.
fn launch(x: &Tensor, op: UnaryOp, a: f32, b: f32) -> Result<crate::gpu::Storage> {
    let n = x.numel();
    let device = x.device();
    let out = device.alloc(n)?;
    if n > 0 {
        let params = [n as u32, a.to_bits(), b.to_bits(), 0];
        let input = x.storage();
        // Four elements per invocation where they divide evenly.
        let (entry, invocations) = if n.is_multiple_of(4) { ("unary_map4", n / 4) } else { ("unary_map", n) };
        device.dispatch_linear(
            &UNARY,
            entry,
            &[("OP", op as u32 as f64)],
            &[&input],
            &[&out],
            &params,
            invocations,
        );
    }
    Ok(out)
}

type Rule = fn(&Tensor, &Tensor, &Tensor, f32, f32) -> Result<Tensor>;

/// A differentiable map: `rule(x, y, grad_y, a, b)` gives the gradient w.r.t. x.
fn map(x: &Tensor, op: UnaryOp, name: &'static str, a: f32, b: f32, rule: Rule) -> Result<Tensor> {
    let out = launch(x, op, a, b)?;
    Ok(Tensor::from_op(x.shape().to_vec(), out, name, &[x], move |inp, y, g| {
        Ok(vec![Some(rule(&inp[0], y, g, a, b)?)])
    }))
}

/// A rule's gradient `g`·f'(`v`): in one pass (`unary_grad`) when no graph of the gradient
/// is recorded, else as the tensor ops of `composite`, which are differentiable.
fn through(
    g: &Tensor,
    v: &Tensor,
    op: UnaryGrad,
    scalars: [f32; 2],
    composite: impl FnOnce() -> Result<Tensor>,
) -> Result<Tensor> {
    if is_grad_enabled() {
        composite()
    } else {
        unary_grad(g, v, op, scalars)
    }
}

/// A map treated as a constant (no history).
fn constant(x: &Tensor, op: UnaryOp, a: f32, b: f32) -> Result<Tensor> {
    let out = launch(x, op, a, b)?;
    Ok(Tensor::from_storage(x.device(), x.shape().to_vec(), std::rc::Rc::new(out)))
}

impl Tensor {
    /// 1 where x > 0, else `slope`: LeakyReLU's derivative as a constant (ReLU's at slope 0).
    pub(crate) fn leaky_mask(&self, slope: f32) -> Result<Tensor> {
        constant(self, UnaryOp::LeakyMask, slope, 0.0)
    }

    /// -x
    pub fn neg(&self) -> Result<Tensor> {
        map(self, UnaryOp::Neg, "neg", 0.0, 0.0, |_, _, g, _, _| g.neg())
    }

    /// |x|; the gradient at 0 is 0, as in PyTorch.
    pub fn abs(&self) -> Result<Tensor> {
        map(self, UnaryOp::Abs, "abs", 0.0, 0.0, |x, _, g, _, _| {
            through(g, x, UnaryGrad::Abs, [0.0; 2], || g.mul(&x.sign()?))
        })
    }

    /// e^x
    pub fn exp(&self) -> Result<Tensor> {
        map(self, UnaryOp::Exp, "exp", 0.0, 0.0, |_, y, g, _, _| g.mul(y))
    }

    /// Natural logarithm.
    pub fn log(&self) -> Result<Tensor> {
        map(self, UnaryOp::Log, "log", 0.0, 0.0, |x, _, g, _, _| g.div(x))
    }

    /// Square root.
    pub fn sqrt(&self) -> Result<Tensor> {
        map(self, UnaryOp::Sqrt, "sqrt", 0.0, 0.0, |_, y, g, _, _| g.div(y)?.mul_scalar(0.5))
    }

    /// 1 / sqrt(x); d/dx = -y³ / 2.
    pub fn rsqrt(&self) -> Result<Tensor> {
        map(self, UnaryOp::Rsqrt, "rsqrt", 0.0, 0.0, |_, y, g, _, _| g.mul(&y.powf(3.0)?)?.mul_scalar(-0.5))
    }

    /// x^p for a scalar exponent; d/dx = p·x^(p-1).
    pub fn powf(&self, p: f32) -> Result<Tensor> {
        map(self, UnaryOp::Powf, "powf", p, 0.0, |x, _, g, p, _| {
            if p == 0.0 {
                return Tensor::zeros_like(x);
            }
            g.mul(&x.powf(p - 1.0)?)?.mul_scalar(p)
        })
    }

    /// max(x, 0)
    pub fn relu(&self) -> Result<Tensor> {
        map(self, UnaryOp::Relu, "relu", 0.0, 0.0, |x, _, g, _, _| {
            through(g, x, UnaryGrad::Relu, [0.0; 2], || g.mul(&x.step()?))
        })
    }

    /// x for x > 0, slope·x otherwise.
    pub fn leaky_relu(&self, slope: f32) -> Result<Tensor> {
        map(self, UnaryOp::LeakyRelu, "leaky_relu", slope, 0.0, |x, _, g, s, _| {
            through(g, x, UnaryGrad::LeakyRelu, [s, 0.0], || g.mul(&constant(x, UnaryOp::LeakyMask, s, 0.0)?))
        })
    }

    /// 1 / (1 + e^-x); d/dx = y (1 - y).
    pub fn sigmoid(&self) -> Result<Tensor> {
        map(self, UnaryOp::Sigmoid, "sigmoid", 0.0, 0.0, |_, y, g, _, _| {
            through(g, y, UnaryGrad::Sigmoid, [0.0; 2], || g.mul(&y.mul(&y.affine(-1.0, 1.0)?)?))
        })
    }

    /// Hyperbolic tangent; d/dx = 1 - y².
    pub fn tanh(&self) -> Result<Tensor> {
        map(self, UnaryOp::Tanh, "tanh", 0.0, 0.0, |_, y, g, _, _| {
            through(g, y, UnaryGrad::Tanh, [0.0; 2], || g.mul(&y.mul(y)?.affine(-1.0, 1.0)?))
        })
    }

    /// Limits x to [low, high]; the gradient passes where low <= x <= high, as in PyTorch.
    pub fn clamp(&self, low: f32, high: f32) -> Result<Tensor> {
        map(self, UnaryOp::Clamp, "clamp", low, high, |x, _, g, lo, hi| {
            through(g, x, UnaryGrad::Clamp, [lo, hi], || g.mul(&constant(x, UnaryOp::InRange, lo, hi)?))
        })
    }

    /// x·scale + shift.
    pub fn affine(&self, scale: f32, shift: f32) -> Result<Tensor> {
        map(self, UnaryOp::Affine, "affine", scale, shift, |_, _, g, s, _| g.mul_scalar(s))
    }

    /// x + s.
    pub fn add_scalar(&self, s: f32) -> Result<Tensor> {
        self.affine(1.0, s)
    }

    /// x·s.
    pub fn mul_scalar(&self, s: f32) -> Result<Tensor> {
        self.affine(s, 0.0)
    }

    /// -1, 0 or 1 by the sign of x (a constant: no history).
    pub fn sign(&self) -> Result<Tensor> {
        constant(self, UnaryOp::Sign, 0.0, 0.0)
    }

    /// 1 where x > 0, else 0 (a constant: no history).
    pub fn step(&self) -> Result<Tensor> {
        constant(self, UnaryOp::Step, 0.0, 0.0)
    }
}
