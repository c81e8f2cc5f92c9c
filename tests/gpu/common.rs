//! Shared test helpers: the process-wide device, the golden fixtures written by
//! tests/reference/make_fixtures.py, and the one tolerance rule |a - b| <= atol + rtol·|b|.

use gantry::{Device, Tensor};
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::sync::OnceLock;

pub fn device() -> Device {
    Device::shared().expect("tests need a GPU adapter; on a CPU install mesa-vulkan-drivers")
}

/// A named tolerance: `|actual - expected| <= atol + rtol * |expected|` elementwise.
#[derive(Clone, Copy, Debug)]
pub struct Tol {
    pub atol: f32,
    pub rtol: f32,
}

/// Arithmetic and data movement: a few f32 roundings at most.
pub const EXACTISH: Tol = Tol { atol: 1e-6, rtol: 1e-5 };
/// Transcendentals (exp, log, pow, tanh): GPU built-ins may be a few ulp off.
pub const TRANSCENDENTAL: Tol = Tol { atol: 1e-5, rtol: 1e-4 };
/// Sums of hundreds to thousands of terms in f32, in another order than PyTorch's.
pub const REDUCTION: Tol = Tol { atol: 1e-4, rtol: 1e-4 };

pub type Fixture = (Vec<usize>, Vec<f32>);

pub fn fixtures() -> &'static HashMap<String, Fixture> {
    static FIXTURES: OnceLock<HashMap<String, Fixture>> = OnceLock::new();
    FIXTURES.get_or_init(|| read_fixtures("ops.safetensors", "make_fixtures.py"))
}

/// Every f32 tensor of `tests/fixtures/<file>`, written by `tests/reference/<script>`.
pub fn read_fixtures(file: &str, script: &str) -> HashMap<String, Fixture> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(file);
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run tests/reference/{script} to write it", path.display()));
    let st = SafeTensors::deserialize(&bytes).expect("fixture file parses");
    st.tensors()
        .into_iter()
        .map(|(name, view)| {
            let data =
                view.data().chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
            (name, (view.shape().to_vec(), data))
        })
        .collect()
}

pub fn has(name: &str) -> bool {
    fixtures().contains_key(name)
}

/// The fixture's values and shape.
pub fn golden(name: &str) -> &'static Fixture {
    fixtures().get(name).unwrap_or_else(|| panic!("fixture {name} is missing: regenerate the fixtures"))
}

/// A fixture as a tensor on the shared device.
pub fn load(name: &str) -> Tensor {
    let (shape, data) = golden(name);
    Tensor::from_slice(&device(), data, shape).unwrap()
}

/// Compares values with the tolerance rule; on failure reports max errors and the first
/// mismatches.
pub fn assert_values(
    what: &str,
    actual: &[f32],
    actual_shape: &[usize],
    expected: &[f32],
    expected_shape: &[usize],
    tol: Tol,
) {
    assert_eq!(actual_shape, expected_shape, "{what}: shape");
    let mut max_abs = 0f32;
    let mut max_rel = 0f32;
    let mut bad = Vec::new();
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let err = (a - e).abs();
        let ok = err <= tol.atol + tol.rtol * e.abs() || (a.is_nan() && e.is_nan()) || a == e;
        if err.is_finite() {
            max_abs = max_abs.max(err);
            max_rel = max_rel.max(err / e.abs().max(1e-30));
        }
        if !ok {
            bad.push((i, a, e));
        }
    }
    assert!(
        bad.is_empty(),
        "{what}: {} of {} values out of tolerance {tol:?}; max abs error {max_abs:e}, max rel error {max_rel:e}; first mismatches (index, actual, expected): {:?}",
        bad.len(),
        actual.len(),
        &bad[..bad.len().min(8)]
    );
}

/// Compares a tensor against the fixture `name`.
pub fn assert_close(actual: &Tensor, name: &str, tol: Tol) {
    let (shape, data) = golden(name);
    assert_values(name, &actual.to_vec().unwrap(), actual.shape(), data, shape, tol);
}

/// Checks one fixture case end to end: forward, the gradients of sum(out·w) w.r.t. every
/// input, and, where the fixture has them, the second-order gradients of sum(grad·w2).
pub fn check_case(case: &str, inputs: usize, tol: Tol, f: impl Fn(&[Tensor]) -> gantry::Result<Tensor>) {
    let xs: Vec<Tensor> = (0..inputs).map(|i| load(&format!("{case}.in{i}")).requires_grad_()).collect();
    let out = f(&xs).unwrap();
    assert_close(&out, &format!("{case}.out"), tol);
    let w = load(&format!("{case}.w"));
    let loss = out.mul(&w).unwrap().sum_all().unwrap();
    let grads = gantry::grad(&[loss], &xs, true).unwrap();
    for (i, g) in grads.iter().enumerate() {
        assert_close(g, &format!("{case}.grad{i}"), tol);
    }
    if !has(&format!("{case}.gg0")) {
        return;
    }
    let mut total: Option<Tensor> = None;
    for (i, g) in grads.iter().enumerate().filter(|(_, g)| g.requires_grad()) {
        let term = g.mul(&load(&format!("{case}.w2_{i}"))).unwrap().sum_all().unwrap();
        total = Some(match total {
            Some(t) => t.add(&term).unwrap(),
            None => term,
        });
    }
    let Some(total) = total else {
        // gantry's first-order gradients are constants here (abs, relu: their masks have
        // zero derivative), so PyTorch's recorded second-order gradients must be zeros.
        for i in 0..inputs {
            let (_, gg) = golden(&format!("{case}.gg{i}"));
            assert!(gg.iter().all(|&v| v == 0.0), "{case}: PyTorch has non-zero second-order gradients but gantry's first-order ones are constant");
        }
        return;
    };
    total.backward().unwrap();
    for (i, x) in xs.iter().enumerate() {
        let gg = x.grad().unwrap_or_else(|| Tensor::zeros_like(x).unwrap());
        assert_close(&gg, &format!("{case}.gg{i}"), tol);
    }
}

/// A fresh folder under the system's temporary directory, unique to this process.
pub fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("gantry-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
