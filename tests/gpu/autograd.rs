//! The tape: accumulation, no_grad, detach, grad() with and without create_graph, and the
//! second-order WGAN-GP penalty against PyTorch.

use crate::common::{assert_close, device, load, Tol};
use gantry::{grad, no_grad, Tensor};

fn t(data: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_slice(&device(), data, shape).unwrap()
}

#[test]
fn a_tensor_used_twice_receives_both_contributions() {
    // loss = sum(a) + sum(a·a) with a = x·w, so dloss/dx = w + 2·a·w.
    let x = t(&[1.0, -2.0, 3.0], &[3]).requires_grad_();
    let w = t(&[0.5, 4.0, -1.0], &[3]);
    let a = x.mul(&w).unwrap();
    let loss = a.sum_all().unwrap().add(&a.mul(&a).unwrap().sum_all().unwrap()).unwrap();
    loss.backward().unwrap();
    let expected: Vec<f32> =
        [(1.0f32, 0.5f32), (-2.0, 4.0), (3.0, -1.0)].iter().map(|&(x, w)| w + 2.0 * x * w * w).collect();
    assert_eq!(x.grad().unwrap().to_vec().unwrap(), expected);
}

#[test]
fn backward_accumulates_across_calls_until_zero_grad() {
    let x = t(&[1.0, 2.0], &[2]).requires_grad_();
    x.mul_scalar(3.0).unwrap().sum_all().unwrap().backward().unwrap();
    x.mul_scalar(3.0).unwrap().sum_all().unwrap().backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec().unwrap(), vec![6.0, 6.0]);
    x.zero_grad();
    assert!(x.grad().is_none());
}

#[test]
fn no_grad_and_detach_stop_history() {
    let x = t(&[1.0, 2.0], &[2]).requires_grad_();
    let y = no_grad(|| x.exp().unwrap());
    assert!(!y.requires_grad());
    let z = x.exp().unwrap();
    assert!(z.requires_grad());
    assert!(!z.detach().requires_grad());
    // Only the path through x·2 contributes; the detached path is a constant.
    let loss = x.mul_scalar(2.0).unwrap().add(&z.detach()).unwrap().sum_all().unwrap();
    loss.backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec().unwrap(), vec![2.0, 2.0]);
}

#[test]
fn grad_leaves_dot_grad_alone_and_records_only_with_create_graph() {
    let x = t(&[0.5, -1.5, 2.0], &[3]).requires_grad_();
    let loss = x.powf(3.0).unwrap().sum_all().unwrap();
    let g = grad(std::slice::from_ref(&loss), std::slice::from_ref(&x), false).unwrap().remove(0);
    assert!(!g.requires_grad());
    assert!(x.grad().is_none());
    assert_eq!(g.to_vec().unwrap(), vec![0.75, 6.75, 12.0]);
    let g2 = grad(&[loss], std::slice::from_ref(&x), true).unwrap().remove(0);
    assert!(g2.requires_grad());
    // d/dx sum(3x²) = 6x
    let gg = grad(&[g2.sum_all().unwrap()], &[x], false).unwrap().remove(0);
    assert_eq!(gg.to_vec().unwrap(), vec![3.0, -9.0, 12.0]);
}

#[test]
fn grad_of_an_unused_input_is_zero() {
    let x = t(&[1.0], &[1]).requires_grad_();
    let unused = t(&[1.0, 2.0], &[2]).requires_grad_();
    let g = grad(&[x.exp().unwrap().sum_all().unwrap()], &[unused], false).unwrap().remove(0);
    assert_eq!(g.to_vec().unwrap(), vec![0.0, 0.0]);
}

/// The WGAN-GP penalty of a small MLP critic, differentiated w.r.t. its weights.
#[test]
fn gradient_penalty_second_order_matches_pytorch() {
    let tol = Tol { atol: 1e-5, rtol: 1e-4 };
    let x = load("gp.x").requires_grad_();
    let names = ["w1", "b1", "w2", "b2", "w3", "b3"];
    let ws: Vec<Tensor> = names.iter().map(|n| load(&format!("gp.{n}")).requires_grad_()).collect();
    let h = x.matmul(&ws[0]).unwrap().add(&ws[1]).unwrap().leaky_relu(0.2).unwrap();
    let f = h
        .matmul(&ws[2])
        .unwrap()
        .add(&ws[3])
        .unwrap()
        .tanh()
        .unwrap()
        .matmul(&ws[4])
        .unwrap()
        .add(&ws[5])
        .unwrap();
    let gx = grad(&[f.sum_all().unwrap()], &[x], true).unwrap().remove(0);
    assert_close(&gx, "gp.gx", tol);
    let norms = gx.mul(&gx).unwrap().sum(&[1], false).unwrap().sqrt().unwrap();
    let penalty = norms.add_scalar(-1.0).unwrap().powf(2.0).unwrap().mean_all().unwrap();
    assert_close(&penalty, "gp.penalty", tol);
    let grads = grad(std::slice::from_ref(&penalty), &ws[..5], false).unwrap();
    for (name, g) in names.iter().zip(&grads) {
        assert_close(g, &format!("gp.grad_{name}"), tol);
    }
    // The penalty does not depend on the last bias: its gradient is zero.
    let g_b3 = grad(&[penalty], &ws[5..], false).unwrap().remove(0);
    assert_eq!(g_b3.to_vec().unwrap(), vec![0.0]);
}

/// Rules skip the gradients nobody asked for (`needs_grad`): asking for one operand of each
/// binary op and of a product gives what the full request gives for it, on both backward
/// paths (plain, and tensor ops under create_graph).
#[test]
fn gradients_asked_for_one_operand_equal_the_full_ones() {
    type F = fn(&Tensor, &Tensor) -> gantry::Result<Tensor>;
    let ops: [(&str, F); 7] = [
        ("add", |a, b| a.add(b)),
        ("sub", |a, b| a.sub(b)),
        ("mul", |a, b| a.mul(b)),
        ("div", |a, b| a.div(b)),
        ("maximum", |a, b| a.maximum(b)),
        ("minimum", |a, b| a.minimum(b)),
        ("matmul", |a, b| a.reshape(&[5, 7])?.matmul(&b.reshape(&[7, 5])?)),
    ];
    let d = crate::common::device();
    // b broadcasts in the elementwise ops, so its gradient is also summed back.
    let a = Tensor::uniform(&d, &[5, 7], -1.0, 1.0).unwrap().requires_grad_();
    let b = Tensor::uniform(&d, &[7], 0.5, 1.5).unwrap().requires_grad_();
    let b35 = Tensor::uniform(&d, &[35], 0.5, 1.5).unwrap().requires_grad_();
    for (name, f) in ops {
        let b = if name == "matmul" { &b35 } else { &b };
        for create_graph in [false, true] {
            let loss = || f(&a, b).unwrap().mul_scalar(1.5).unwrap().sum_all().unwrap();
            let inputs = [a.clone(), b.clone()];
            let full = gantry::grad(&[loss()], &inputs, create_graph).unwrap();
            for i in 0..2 {
                let one = gantry::grad(&[loss()], &inputs[i..=i], create_graph).unwrap();
                assert_eq!(
                    one[0].to_vec().unwrap(),
                    full[i].to_vec().unwrap(),
                    "{name}, operand {i}, {create_graph}"
                );
            }
        }
    }
}
