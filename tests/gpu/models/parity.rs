//! The one check every model's training parity test makes: run `iterations` steps of a
//! model through the contract's `train_step`, from the same weights and draws as the
//! PyTorch script, and compare every logged loss at every step and every entry of every
//! network's state dict (parameters and buffers, EMA copies included) after the last.
//!
//! Golden keys, as the `tests/reference/make_*.py` scripts write them:
//! `it{i}.loss.{name}` for each loss of step `i`, and `after.{network}.{entry}`.

use crate::common::{assert_values, Tol};
use gantry::io::HostTensor;
use gantry::models::{GanModel, Step};
use gantry::nn::ModuleExt;
use std::collections::HashMap;

/// Losses are single sums of many terms: a relative error of 1e-4 on top of 1e-5.
pub const LOSS: Tol = Tol { atol: 1e-5, rtol: 1e-4 };

/// Runs `iterations` steps on `batch(i)` at `step(i)` and asserts the losses and, after the
/// last step, every state-dict entry; `weight_tol(network, entry)` gives each entry's
/// tolerance (so a test can say, with its reason, where one entry needs a wider one).
pub fn assert_iterations_match<M: GanModel>(
    model: &mut M,
    gold: &HashMap<String, HostTensor>,
    iterations: usize,
    batch: impl Fn(usize) -> M::Batch,
    step: impl Fn(usize) -> Step,
    weight_tol: impl Fn(&str, &str) -> Tol,
) {
    assert_iterations_within(model, gold, iterations, batch, step, LOSS, weight_tol)
}

/// [`assert_iterations_match`] with the losses' tolerance given.
pub fn assert_iterations_within<M: GanModel>(
    model: &mut M,
    gold: &HashMap<String, HostTensor>,
    iterations: usize,
    batch: impl Fn(usize) -> M::Batch,
    step: impl Fn(usize) -> Step,
    loss_tol: Tol,
    weight_tol: impl Fn(&str, &str) -> Tol,
) {
    for it in 0..iterations {
        let losses = model.train_step(&batch(it), step(it)).unwrap();
        let expected: Vec<&str> =
            gold.keys().filter_map(|k| k.strip_prefix(&format!("it{it}.loss."))).collect();
        assert_eq!(
            losses.len(),
            expected.len(),
            "step {it}: logged losses {:?}, PyTorch's {expected:?}",
            losses.iter().map(|(n, _)| n).collect::<Vec<_>>()
        );
        for (name, value) in losses {
            let want = gold
                .get(&format!("it{it}.loss.{name}"))
                .unwrap_or_else(|| panic!("step {it}: loss {name} has no golden value"))
                .to_f32()[0];
            assert!(
                (value - want).abs() <= loss_tol.atol + loss_tol.rtol * want.abs(),
                "step {it}: loss {name} = {value}, PyTorch {want}"
            );
        }
    }
    let mut checked = 0;
    for (net, module) in model.networks() {
        for (entry, t) in module.state_dict() {
            let want = gold
                .get(&format!("after.{net}.{entry}"))
                .unwrap_or_else(|| panic!("{net}.{entry} has no golden value"));
            assert_values(
                &format!("{net}.{entry} after {iterations} steps"),
                &t.to_vec().unwrap(),
                t.shape(),
                &want.to_f32(),
                &want.shape,
                weight_tol(net, &entry),
            );
            checked += 1;
        }
    }
    let golden = gold.keys().filter(|k| k.starts_with("after.")).count();
    assert_eq!(checked, golden, "the model's networks hold {checked} entries, PyTorch's {golden}");
}
