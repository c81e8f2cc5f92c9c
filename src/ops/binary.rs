//! Elementwise functions of two tensors with NumPy broadcasting (shaders/binary.wgsl).
//! A broadcast operand's gradient is summed back to its own shape with `sum_to`.

use crate::autograd::needs_grad;
use crate::error::Result;
use crate::gpu::{shaders::BINARY, Storage};
use crate::tensor::shape::{broadcast, broadcast_strides4, check_rank, collapse, pad4};
use crate::tensor::Tensor;

/// The shader's OP codes.
#[derive(Clone, Copy)]
enum BinaryOp {
    Add = 0,
    Sub = 1,
    Mul = 2,
    Div = 3,
    Max = 4,
    Min = 5,
    Gt = 6,
    Lt = 7,
    Ge = 8,
    Le = 9,
    Eq = 10,
}

/// The gradients of unary maps that `unary_grad` computes in one pass (OP codes 11 on).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum UnaryGrad {
    Relu = 11,
    LeakyRelu = 12,
    /// From the output y: 1 − y².
    Tanh = 13,
    /// From the output y: y (1 − y).
    Sigmoid = 14,
    Abs = 15,
    Clamp = 16,
}

fn launch(a: &Tensor, b: &Tensor, op: BinaryOp, name: &'static str) -> Result<(Vec<usize>, Storage)> {
    launch_code(a, b, op as u32, [0.0; 2], name)
}

fn launch_code(
    a: &Tensor,
    b: &Tensor,
    code: u32,
    scalars: [f32; 2],
    name: &'static str,
) -> Result<(Vec<usize>, Storage)> {
    a.same_device(name, &[b])?;
    let shape = broadcast(name, a.shape(), b.shape())?;
    check_rank(name, &shape)?;
    let n: usize = shape.iter().product();
    let device = a.device();
    let out = device.alloc(n)?;
    if n > 0 {
        let constants = [("OP", f64::from(code))];
        let (sa, sb) = (a.storage(), b.storage());
        let head = [n as u32, scalars[0].to_bits(), scalars[1].to_bits(), 0];
        if a.shape() == b.shape() && n.is_multiple_of(4) {
            device.dispatch_linear(&BINARY, "binary_flat4", &constants, &[&sa, &sb], &[&out], &head, n / 4);
        } else if a.shape() == b.shape() {
            device.dispatch_linear(&BINARY, "binary_flat", &constants, &[&sa, &sb], &[&out], &head, n);
        } else {
            let (sa4, sb4) = (broadcast_strides4(a.shape(), &shape), broadcast_strides4(b.shape(), &shape));
            let mut params = head.to_vec();
            match collapse(pad4(&shape), sa4, sb4) {
                Some((dims, ca, cb)) => {
                    params.extend(dims);
                    params.extend(ca);
                    params.extend(cb);
                    // Four at a time where each operand's rows are whole vec4s or one value.
                    let whole = |s: [u32; 4]| {
                        s[3] == 0 || (s[3] == 1 && s[1].is_multiple_of(4) && s[2].is_multiple_of(4))
                    };
                    let by4 = dims[3].is_multiple_of(4) && whole(ca) && whole(cb);
                    let (entry, per) = if by4 { ("binary_grid4", 4) } else { ("binary_grid", 1) };
                    let groups = [(dims[3] / per).div_ceil(256), dims[2], dims[1]];
                    device.dispatch(&BINARY, entry, &constants, &[&sa, &sb], &[&out], &params, groups);
                }
                None => {
                    params.extend(pad4(&shape));
                    params.extend(sa4);
                    params.extend(sb4);
                    device.dispatch_linear(
                        &BINARY,
                        "binary_broadcast",
                        &constants,
                        &[&sa, &sb],
                        &[&out],
                        &params,
                        n,
                    );
                }
            }
        }
    }
    Ok((shape, out))
}

/// The gradients of a and b at the broadcast shape, each where asked for.
type Grads = (Option<Tensor>, Option<Tensor>);
type Rule = fn(&Tensor, &Tensor, &Tensor, &Tensor, [bool; 2]) -> Result<Grads>;

/// A differentiable binary op: `rule(a, b, y, g, wanted)` gives the gradients at the
/// broadcast shape of the operands `wanted` (`needs_grad`: a frozen or detached operand's
/// is skipped).
fn map(a: &Tensor, b: &Tensor, op: BinaryOp, name: &'static str, rule: Rule) -> Result<Tensor> {
    let (shape, out) = launch(a, b, op, name)?;
    Ok(Tensor::from_op(shape, out, name, &[a, b], move |inp, y, g| {
        let (ga, gb) = rule(&inp[0], &inp[1], y, g, [needs_grad(0), needs_grad(1)])?;
        Ok(vec![
            ga.map(|t| t.sum_to(inp[0].shape())).transpose()?,
            gb.map(|t| t.sum_to(inp[1].shape())).transpose()?,
        ])
    }))
}

/// A comparison mask of ones and zeros (a constant: no history).
fn mask(a: &Tensor, b: &Tensor, op: BinaryOp, name: &'static str) -> Result<Tensor> {
    let (shape, out) = launch(a, b, op, name)?;
    Ok(Tensor::from_storage(a.device(), shape, std::rc::Rc::new(out)))
}

/// The gradient of a unary map from its output gradient `g` and `v` (the map's input, or
/// its output for tanh and sigmoid) in one pass, where the rule in tensor ops takes two. A
/// constant: rules use it only when no graph of the gradient is recorded.
pub(crate) fn unary_grad(g: &Tensor, v: &Tensor, op: UnaryGrad, scalars: [f32; 2]) -> Result<Tensor> {
    let (shape, out) = launch_code(g, v, op as u32, scalars, "unary_grad")?;
    Ok(Tensor::from_storage(g.device(), shape, std::rc::Rc::new(out)))
}

/// g shared between a (weight `wa`) and b (1 − `wa`), each where wanted.
fn split_by_winner(wa: &Tensor, g: &Tensor, [want_a, want_b]: [bool; 2]) -> Result<Grads> {
    Ok((want_a.then(|| g.mul(wa)).transpose()?, want_b.then(|| g.mul(&wa.affine(-1.0, 1.0)?)).transpose()?))
}

/// Weight of `a` in the gradient of max/min: 1 where it wins, ½ on ties (as PyTorch).
fn winner_weight(win: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    win.add(&a.eq(b)?.mul_scalar(0.5)?)
}

impl Tensor {
    /// a + b
    pub fn add(&self, other: &Tensor) -> Result<Tensor> {
        map(self, other, BinaryOp::Add, "add", |_, _, _, g, [wa, wb]| {
            Ok((wa.then(|| g.clone()), wb.then(|| g.clone())))
        })
    }

    /// a - b
    pub fn sub(&self, other: &Tensor) -> Result<Tensor> {
        map(self, other, BinaryOp::Sub, "sub", |_, _, _, g, [wa, wb]| {
            Ok((wa.then(|| g.clone()), wb.then(|| g.neg()).transpose()?))
        })
    }

    /// a · b
    pub fn mul(&self, other: &Tensor) -> Result<Tensor> {
        map(self, other, BinaryOp::Mul, "mul", |a, b, _, g, [wa, wb]| {
            Ok((wa.then(|| g.mul(b)).transpose()?, wb.then(|| g.mul(a)).transpose()?))
        })
    }

    /// a / b; d/db = -g·y / b.
    pub fn div(&self, other: &Tensor) -> Result<Tensor> {
        map(self, other, BinaryOp::Div, "div", |_, b, y, g, [wa, wb]| {
            let gb = wb.then(|| g.mul(y)?.div(b)?.neg()).transpose()?;
            Ok((wa.then(|| g.div(b)).transpose()?, gb))
        })
    }

    /// Elementwise maximum.
    pub fn maximum(&self, other: &Tensor) -> Result<Tensor> {
        map(self, other, BinaryOp::Max, "maximum", |a, b, _, g, wanted| {
            split_by_winner(&winner_weight(&a.gt(b)?, a, b)?, g, wanted)
        })
    }

    /// Elementwise minimum.
    pub fn minimum(&self, other: &Tensor) -> Result<Tensor> {
        map(self, other, BinaryOp::Min, "minimum", |a, b, _, g, wanted| {
            split_by_winner(&winner_weight(&a.lt(b)?, a, b)?, g, wanted)
        })
    }

    /// 1 where a > b, else 0.
    pub fn gt(&self, other: &Tensor) -> Result<Tensor> {
        mask(self, other, BinaryOp::Gt, "gt")
    }

    /// 1 where a < b, else 0.
    pub fn lt(&self, other: &Tensor) -> Result<Tensor> {
        mask(self, other, BinaryOp::Lt, "lt")
    }

    /// 1 where a >= b, else 0.
    pub fn ge(&self, other: &Tensor) -> Result<Tensor> {
        mask(self, other, BinaryOp::Ge, "ge")
    }

    /// 1 where a <= b, else 0.
    pub fn le(&self, other: &Tensor) -> Result<Tensor> {
        mask(self, other, BinaryOp::Le, "le")
    }

    /// 1 where a == b, else 0.
    pub fn eq(&self, other: &Tensor) -> Result<Tensor> {
        mask(self, other, BinaryOp::Eq, "eq")
    }
}
