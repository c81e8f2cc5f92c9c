//! Matrix products: 2-D, batched and batch-broadcast, both kernels, against PyTorch.

use crate::common::{assert_values, check_case, device, Tol};
use gantry::ops::matmul::MatmulKernel;
use gantry::Tensor;

/// Dot products of up to 71 terms in f32.
const MATMUL: Tol = Tol { atol: 1e-4, rtol: 1e-4 };

#[test]
fn products_and_gradients_match_pytorch() {
    for kernel in [MatmulKernel::Auto, MatmulKernel::Blocked, MatmulKernel::Tiled, MatmulKernel::Naive] {
        for case in ["mm", "mm_odd", "bmm", "bmm_shared_right", "bmm_shared_left"] {
            check_case(case, 2, MATMUL, |x| x[0].matmul_with(&x[1], kernel));
        }
    }
}

#[test]
fn blocked_kernel_agrees_with_its_naive_twin_on_edge_sizes() {
    let d = device();
    d.manual_seed(7);
    for (m, k, n) in [(1, 1, 1), (33, 5, 31), (64, 64, 64), (65, 7, 3), (2, 300, 129)] {
        let a = Tensor::randn(&d, &[2, m, k]).unwrap();
        let b = Tensor::randn(&d, &[2, k, n]).unwrap();
        let fast = a.matmul_with(&b, MatmulKernel::Blocked).unwrap();
        let slow = a.matmul_with(&b, MatmulKernel::Naive).unwrap();
        let what = format!("{m}x{k}x{n}");
        assert_values(
            &what,
            &fast.to_vec().unwrap(),
            fast.shape(),
            &slow.to_vec().unwrap(),
            slow.shape(),
            MATMUL,
        );
    }
}

/// Compares `kernel` with the naive twin on op(A)·op(B) for every transpose pair.
fn agree_with_naive(kernel: MatmulKernel, sizes: &[(usize, usize, usize)], transposes: &[(bool, bool)]) {
    let d = device();
    d.manual_seed(11);
    for &(m, k, n) in sizes {
        for &(ta, tb) in transposes {
            let a = Tensor::randn(&d, &if ta { [2, k, m] } else { [2, m, k] }).unwrap();
            // A batch-shared right operand, as a Linear layer's weight is.
            let b = Tensor::randn(&d, &if tb { [n, k] } else { [k, n] }).unwrap();
            let fast = a.matmul_transposed_with(&b, ta, tb, kernel).unwrap();
            let slow = a.matmul_transposed_with(&b, ta, tb, MatmulKernel::Naive).unwrap();
            let what = format!("{kernel:?} {m}x{k}x{n} ta={ta} tb={tb}");
            let (f, s) = (fast.to_vec().unwrap(), slow.to_vec().unwrap());
            assert_values(&what, &f, fast.shape(), &s, slow.shape(), MATMUL);
        }
    }
}

#[test]
fn tiled_kernel_agrees_with_its_naive_twin_on_edge_sizes() {
    // Tiles of 64 x 64, k in steps of 16: partial tiles on every side, k past one step and
    // not a multiple of it, a single element, and more than one tile each way.
    let sizes = [(1, 1, 1), (5, 17, 3), (64, 16, 64), (70, 33, 130), (129, 40, 65)];
    let all = [(false, false), (true, false), (false, true), (true, true)];
    agree_with_naive(MatmulKernel::Tiled, &sizes, &all);
}

#[test]
fn cpu_kernel_agrees_with_its_naive_twin_on_edge_sizes() {
    if !device().cpu_subgroup8() {
        eprintln!("skipped: the CPU matmul kernel needs a CPU adapter with 8-lane subgroups");
        return;
    }
    // Each operand is read as vec4s along its contiguous side, so m, n, k % 4 == 0 here;
    // tiles of 32 rows x 64 columns, k in steps of 8 (k % 8 == 4 leaves half a step).
    let sizes = [(4, 4, 4), (36, 12, 60), (64, 64, 64), (68, 36, 132), (8, 300, 8)];
    let all = [(false, false), (true, false), (false, true), (true, true)];
    agree_with_naive(MatmulKernel::Cpu, &sizes, &all);
}

#[test]
fn auto_kernel_agrees_with_naive_where_the_cpu_kernel_does_not_apply() {
    // n and k odd: Auto falls back to the blocked kernel on every adapter.
    agree_with_naive(MatmulKernel::Auto, &[(17, 7, 9)], &[(false, false), (false, true), (true, true)]);
}

#[test]
fn cpu_kernel_refuses_shapes_it_cannot_read() {
    let d = device();
    let a = Tensor::zeros(&d, &[8, 6]).unwrap();
    let b = Tensor::zeros(&d, &[6, 7]).unwrap();
    let err = a.matmul_with(&b, MatmulKernel::Cpu).unwrap_err().to_string();
    assert!(err.contains("CPU kernel") && err.contains("n 7"), "{err}");
    // k = 6 cannot be read as vec4s along A's rows either.
    let b = Tensor::zeros(&d, &[6, 8]).unwrap();
    assert!(a.matmul_with(&b, MatmulKernel::Cpu).is_err());
}
