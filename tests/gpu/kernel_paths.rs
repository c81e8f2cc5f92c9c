//! Model parity tests again with the kernels written for other adapters: the tiled GPU
//! kernels (what `Auto` runs on a discrete or integrated GPU) and the blocked ones (CPU
//! adapters without 8-lane subgroups), each checked against PyTorch's goldens as the
//! adapter's own kernels are. The kernel path belongs to the shared device, so each runs
//! in a child process of this test binary with `GANTRY_KERNELS` set.

use std::process::Command;

fn rerun(path: &str, tests: &[&str]) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "--test-threads", "2"])
        .args(tests)
        .env("GANTRY_KERNELS", path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = format!("{} passed; 0 failed", tests.len());
    assert!(
        out.status.success() && text.contains(&summary),
        "GANTRY_KERNELS={path}:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn models_match_pytorch_on_the_tiled_gpu_kernels() {
    rerun(
        "tiled",
        &[
            "models::cyclegan::three_cyclegan_iterations_match_pytorch",
            "models::stargan::gradient_penalty_matches_pytorch_to_second_order",
            "models::stargan_v2::r1_and_its_second_order_gradients_match_pytorch",
            "models::stargan_v2_train::three_iterations_match_pytorch",
            "models::fastgan_train::three_iterations_match_pytorch",
        ],
    );
}

#[test]
fn models_match_pytorch_on_the_blocked_kernels() {
    rerun(
        "blocked",
        &[
            "models::cyclegan::three_cyclegan_iterations_match_pytorch",
            "models::stargan::gradient_penalty_matches_pytorch_to_second_order",
            "models::stargan_v2::r1_and_its_second_order_gradients_match_pytorch",
        ],
    );
}
