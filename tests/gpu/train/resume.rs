//! Continuing runs: from the reference repo's own network files (fresh optimizers, as its
//! --continue_train) against PyTorch, and exact resumes of our own checkpoints, which must
//! reproduce an uninterrupted run bit for bit.

use crate::cli::{cyclegan_args, pix2pix_args};
use crate::common::temp;
use crate::common::{assert_values, device, Tol};
use gantry::io::{load_safetensors, HostTensor};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn fixture(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/continue").join(p)
}

/// Each logged step's losses, by name.
fn logged(run: &Path) -> Vec<HashMap<String, f32>> {
    std::fs::read_to_string(run.join("loss_log.jsonl"))
        .unwrap()
        .lines()
        .map(|line| {
            let body = line.trim_matches(|c| c == '{' || c == '}');
            body.split(',')
                .filter_map(|f| {
                    let (k, v) = f.split_once(':')?;
                    Some((k.trim_matches('"').to_string(), v.parse().ok()?))
                })
                .collect()
        })
        .collect()
}

/// `gantry train cyclegan --continue-train` on a folder holding only the reference's
/// `latest_net_*.pth` files: three steps on one image pair give PyTorch's losses at every
/// step and its weights after the third.
#[test]
fn continuing_from_reference_network_files_matches_pytorch() {
    let d = device();
    let root = temp("continue-ref");
    let run = root.join("run");
    std::fs::create_dir_all(&run).unwrap();
    for net in ["G_A", "G_B", "D_A", "D_B"] {
        let name = format!("latest_net_{net}.pth");
        std::fs::copy(fixture("run").join(&name), run.join(&name)).unwrap();
    }
    let data = fixture("data");
    let args = cyclegan_args(&[
        "--dataroot",
        data.to_str().unwrap(),
        "--checkpoints-dir",
        root.to_str().unwrap(),
        "--name",
        "run",
        "--continue-train",
        "--netG",
        "resnet_6blocks",
        "--ngf",
        "4",
        "--ndf",
        "4",
        "--no-flip",
        "--preprocess",
        "none",
        "--n-epochs",
        "3",
        "--n-epochs-decay",
        "0",
    ]);
    assert_eq!(args.run(&d).unwrap().steps, 3);
    let gold: HashMap<String, HostTensor> =
        load_safetensors(fixture("expected.safetensors")).unwrap().into_iter().collect();
    for (step, losses) in logged(&run).iter().enumerate() {
        for name in ["D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"] {
            let (got, want) = (losses[name], gold[&format!("step{}.{name}", step + 1)].to_f32()[0]);
            assert!(
                (got - want).abs() <= 1e-5 + 1e-4 * want.abs(),
                "step {}: {name} = {got}, PyTorch {want}",
                step + 1
            );
        }
    }
    assert_eq!(logged(&run).len(), 3);
    for net in ["G_A", "G_B", "D_A", "D_B"] {
        for (name, t) in load_safetensors(run.join(format!("latest_net_{net}.safetensors"))).unwrap() {
            let want = &gold[&format!("after.{net}.{name}")];
            // As in the three-iteration test: a bias that a non-affine InstanceNorm cancels
            // has a zero true gradient, and Adam walks it by about ±lr per step on either
            // side's rounding noise: 2 · 3 · lr apart at most.
            let cancelled = name.ends_with(".bias")
                && !["model.23.bias", "model.0.bias", "model.11.bias"].contains(&name.as_str());
            let tol = if cancelled {
                Tol { atol: 2.0 * 3.0 * 2e-4, rtol: 0.0 }
            } else {
                Tol { atol: 2e-5, rtol: 1e-3 }
            };
            assert_values(
                &format!("{net}.{name} after 3 steps"),
                &t.to_f32(),
                &t.shape,
                &want.to_f32(),
                &want.shape,
                tol,
            );
        }
    }
    std::fs::remove_dir_all(&root).unwrap();
}

/// Runs the same tiny training uninterrupted and stopped after each of `stops` steps then
/// resumed; the loss logs and every checkpoint file must be identical.
fn resumes_exactly(kind: &str, data: &Path, stops: &[usize]) {
    let d = device();
    let root = temp(&format!("exact-{kind}"));
    let run = |name: &str, extra: &[&str]| {
        let mut args = vec![
            "--dataroot",
            data.to_str().unwrap(),
            "--checkpoints-dir",
            root.to_str().unwrap(),
            "--name",
            name,
            "--netG",
            "resnet_6blocks",
            "--ngf",
            "4",
            "--ndf",
            "4",
            "--load-size",
            "34",
            "--crop-size",
            "32",
            "--n-epochs",
            "2",
            "--n-epochs-decay",
            "1",
            "--display-freq",
            "100",
            "--seed",
            "5",
        ];
        args.extend_from_slice(extra);
        match kind {
            "cyclegan" => {
                args.extend_from_slice(&["--pool-size", "2"]);
                cyclegan_args(&args).run(&d).unwrap()
            }
            _ => pix2pix_args(&args).run(&d).unwrap(),
        }
    };
    assert_eq!(run("whole", &[]).steps, 6);
    let whole = root.join("whole");
    for &k in stops {
        let name = format!("stop{k}");
        let stop_after = k.to_string();
        let first = run(&name, &["--stop-after", &stop_after]);
        assert!(first.interrupted && first.steps == k);
        assert_eq!(run(&name, &["--continue-train"]).steps, 6);
        let resumed = root.join(&name);
        let text = |dir: &Path| std::fs::read_to_string(dir.join("loss_log.jsonl")).unwrap();
        let (got, want) = (text(&resumed), text(&whole));
        for (line, (g, w)) in got.lines().zip(want.lines()).enumerate() {
            assert_eq!(g, w, "{kind}: line {} of the loss log after stopping at step {k}", line + 1);
        }
        assert_eq!(got.lines().count(), want.lines().count(), "{kind}: steps logged after stopping at {k}");
        for entry in std::fs::read_dir(&whole).unwrap() {
            let file = entry.unwrap().file_name();
            if file.to_string_lossy().ends_with(".safetensors") {
                let same =
                    std::fs::read(whole.join(&file)).unwrap() == std::fs::read(resumed.join(&file)).unwrap();
                assert!(same, "{kind}: {file:?} differs after stopping at step {k}");
            }
        }
    }
    std::fs::remove_dir_all(&root).unwrap();
}

/// Stops inside epoch 1, after the pool has started swapping (step 3, pool of 2) and at
/// an epoch's end; epoch 3 decays the learning rate.
#[test]
fn a_stopped_cyclegan_run_resumes_exactly() {
    let data = temp("exact-cyclegan-data");
    gantry::data::synth::write_colors(&data, 2, 18, 3).unwrap();
    resumes_exactly("cyclegan", &data, &[1, 3, 4]);
    std::fs::remove_dir_all(&data).unwrap();
}

/// pix2pix with dropout in the generator: the device's random stream resumes too.
#[test]
fn a_stopped_pix2pix_run_resumes_exactly() {
    let data = temp("exact-pix2pix-data");
    gantry::data::synth::write_pairs(&data, 2, 18, 3).unwrap();
    resumes_exactly("pix2pix", &data, &[3]);
    std::fs::remove_dir_all(&data).unwrap();
}
