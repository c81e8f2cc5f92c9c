//! Matrix products: 2-D, batched and batch-broadcast, both kernels, against PyTorch.

use crate::common::{assert_values, check_case, device, Tol};
use gantry::ops::matmul::MatmulKernel;
use gantry::Tensor;

/// Dot products of up to 71 terms in f32.
const MATMUL: Tol = Tol { atol: 1e-4, rtol: 1e-4 };

#[test]
fn products_and_gradients_match_pytorch() {
    for kernel in [MatmulKernel::Blocked, MatmulKernel::Naive] {
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
