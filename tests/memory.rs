//! The buffer pool reaches a steady state: a training loop allocates nothing new after its
//! second iteration. Its own test binary, so no other test shares the pool's counters.

use gantry::{no_grad, Device, Tensor};

/// One step of SGD on a two-layer MLP regression, the shape of every training iteration:
/// forward, loss, backward, update under no_grad, gradients cleared.
fn step(device: &Device, params: &[Tensor], lr: f32) -> gantry::Result<f32> {
    let x = Tensor::randn(device, &[16, 24])?;
    let target = Tensor::randn(device, &[16, 8])?;
    let h = x.matmul(&params[0])?.add(&params[1])?.leaky_relu(0.2)?;
    let y = h.matmul(&params[2])?.add(&params[3])?.tanh()?;
    let loss = y.sub(&target)?.powf(2.0)?.mean_all()?;
    loss.backward()?;
    no_grad(|| -> gantry::Result<()> {
        for p in params {
            let g = p.grad().expect("every parameter is used");
            p.assign(&p.sub(&g.mul_scalar(lr)?)?)?;
            p.zero_grad();
        }
        Ok(())
    })?;
    loss.item()
}

#[test]
fn pool_peak_does_not_grow_after_the_second_iteration() {
    let device = Device::open().expect("tests need a GPU adapter");
    device.manual_seed(3);
    let shapes: [&[usize]; 4] = [&[24, 32], &[32], &[32, 8], &[8]];
    let params: Vec<Tensor> = shapes
        .iter()
        .map(|s| Tensor::randn(&device, s).unwrap().mul_scalar(0.2).unwrap().requires_grad_())
        .collect();
    let mut after_two = None;
    let mut first_loss = 0.0;
    let mut last_loss = 0.0;
    for i in 0..100 {
        let loss = step(&device, &params, 0.05).unwrap();
        assert!(loss.is_finite(), "iteration {i}: loss {loss}");
        if i == 0 {
            first_loss = loss;
        }
        last_loss = loss;
        if i == 1 {
            after_two = Some(device.pool_stats());
        }
    }
    let after_two = after_two.unwrap();
    let end = device.pool_stats();
    assert_eq!(end.peak_in_use, after_two.peak_in_use, "peak bytes in use grew: {after_two:?} -> {end:?}");
    assert_eq!(
        end.peak_reserved, after_two.peak_reserved,
        "the pool allocated more: {after_two:?} -> {end:?}"
    );
    assert_eq!(end.allocations, after_two.allocations, "new buffers after iteration 2");
    assert_eq!(end.in_use, after_two.in_use, "live bytes leak between iterations");
    assert!(last_loss < first_loss, "training reduced the loss: {first_loss} -> {last_loss}");
}
