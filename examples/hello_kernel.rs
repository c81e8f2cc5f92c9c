//! One op from shader to result: a walkthrough of what happens when you write `a.add(&b)`.
//!
//! Run it with `cargo run --release --example hello_kernel`.

use gantry::{Device, Tensor};

fn main() -> gantry::Result<()> {
    // 1. Open the GPU. `Device::shared()` picks the high-performance adapter (or the one
    //    named by GANTRY_ADAPTER) once per process; on a machine without a GPU this is
    //    Mesa's lavapipe, a Vulkan driver that runs compute shaders on the CPU.
    let device = Device::shared()?;
    let info = device.summary();
    println!("adapter: {} ({}, {})", info.name, info.backend, info.device_type);

    // 2. Upload host data. `from_slice` allocates a buffer from the size-classed pool and
    //    records a copy into the pending command batch; nothing has run yet.
    let a = Tensor::from_slice(&device, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
    let b = Tensor::from_slice(&device, &[10.0, 20.0, 30.0], &[3])?;

    // 3. Run an op. `add` checks that [2, 3] and [3] broadcast to [2, 3], takes an output
    //    buffer from the pool, and records one dispatch of `binary_broadcast` in
    //    shaders/binary.wgsl: the pipeline is compiled once (specialised by the override
    //    constant OP = add) and cached; the shapes and strides go into a slot of the
    //    batch's uniform arena. Still nothing has run.
    let c = a.add(&b)?;

    // 4. Read the result. `to_vec` is a sync point: it submits the batch, waits for the GPU
    //    and copies the values back. No op ever reads back on its own.
    println!("a + b = {:?} (shape {:?})", c.to_vec()?, c.shape());

    // 5. Gradients come from the tape: every op above recorded how to differentiate
    //    itself, in the same tensor ops, so d(sum(a·b))/da = b broadcast to a's shape.
    let x = a.clone().requires_grad_();
    let loss = x.mul(&b)?.sum_all()?;
    loss.backward()?;
    println!("d sum(a*b) / da = {:?}", x.grad().expect("x requires grad").to_vec()?);

    let stats = device.pool_stats();
    println!(
        "pool: {} bytes in use, peak {} bytes, {} buffers allocated",
        stats.in_use, stats.peak_in_use, stats.allocations
    );
    Ok(())
}
