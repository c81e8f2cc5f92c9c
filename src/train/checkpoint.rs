//! Checkpoints: each save writes one generation (`generation.rs`) holding the networks
//! and the state (the optimizers' moments and steps, the model's extra state such as
//! CycleGAN's image pools, the step counter, the loader's and the device generator's
//! positions: everything the next step depends on), then copies of the networks named as
//! the reference names them (`latest_net_G_A`, `<epoch>_net_D_B`, …), each written
//! atomically. Resuming reads either that full state or, as the
//! reference's `--continue_train` does, the network files alone (`.safetensors`, or the
//! reference's own `.pth`).

use super::generation;
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::{host_safetensors_bytes, load_any, load_safetensors, write_atomic, HostTensor, NamedTensors};
use crate::models::GanModel;
use crate::nn::ModuleExt;
use std::path::{Path, PathBuf};

/// The full state of runs saved before generations existed.
const STATE: &str = "latest_state.safetensors";
/// A generation's optimizer, model and trainer state.
const STATE_FILE: &str = "state.safetensors";

/// The trainer's own counters, saved beside the model's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counters {
    /// Steps finished over the whole run.
    pub step: usize,
    /// The epoch label of step 0.
    pub epoch_count: usize,
    /// The loader's position after the last finished step.
    pub loader_position: u64,
    /// The device generator's (seed, draws).
    pub device_rng: (u64, u64),
}

/// Saves the latest networks and state, and with `numbered = Some(epoch)` an
/// epoch-numbered copy of the networks.
pub fn save<M: GanModel>(dir: &Path, model: &mut M, c: Counters, numbered: Option<usize>) -> Result<()> {
    // Read every network back first: a non-finite value (a diverged last update) leaves
    // the last good checkpoint in place.
    let mut nets = Vec::new();
    for (name, net) in model.networks() {
        let sd: NamedTensors = net
            .state_dict()
            .iter()
            .map(|(n, t)| Ok((n.clone(), HostTensor::from_tensor(t)?)))
            .collect::<Result<_>>()?;
        if let Some((key, _)) = sd.iter().find(|(_, t)| t.to_f32().iter().any(|v| !v.is_finite())) {
            return Err(Error::Invalid {
                op: "train",
                msg: format!(
                    "{name}.{key} is not finite after step {}; the last good checkpoint in {} is kept",
                    c.step,
                    dir.display()
                ),
            });
        }
        nets.push((name, sd));
    }
    let ints = |v: &[i64]| HostTensor::ints(v.to_vec());
    let mut state: NamedTensors = vec![
        ("trainer.step".into(), ints(&[c.step as i64])),
        ("trainer.epoch_count".into(), ints(&[c.epoch_count as i64])),
        ("trainer.loader_position".into(), ints(&[c.loader_position as i64])),
        ("trainer.device_rng".into(), ints(&[c.device_rng.0 as i64, c.device_rng.1 as i64])),
    ];
    for (prefix, opt) in model.optimizers() {
        for (n, t) in opt.state_dict()? {
            state.push((format!("{prefix}.{n}"), HostTensor::from_tensor(&t)?));
        }
    }
    state.extend(model.extra_state()?.into_iter().map(|(n, t)| (format!("model.{n}"), t)));
    // One generation holds the whole set; the run folder's network files are copies for
    // people and for `translate`, written after it.
    let mut files = Vec::new();
    for (name, sd) in &nets {
        let file = format!("net_{name}.safetensors");
        files.push((file.clone(), host_safetensors_bytes(&dir.join(&file), sd)?));
    }
    files.push((STATE_FILE.to_string(), host_safetensors_bytes(&dir.join(STATE_FILE), &state)?));
    let set = generation::write(dir, c.step, &files)?;
    for ((name, _), (file, bytes)) in nets.iter().zip(&files) {
        let copy = |dest: PathBuf| link_or_write(&set.join(file), &dest, bytes);
        copy(dir.join(format!("latest_net_{name}.safetensors")))?;
        if let Some(epoch) = numbered {
            copy(dir.join(format!("{epoch}_net_{name}.safetensors")))?;
        }
    }
    Ok(())
}

/// Puts the generation's file `src` at `dest` as a hard link (no second write of the
/// same bytes), atomically by a rename; where links are not possible, writes `bytes`.
/// Later saves replace `dest` by rename, never in place, so the link stays a snapshot.
fn link_or_write(src: &Path, dest: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = dest.with_extension(format!("safetensors.tmp{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    if std::fs::hard_link(src, &tmp).is_ok() && std::fs::rename(&tmp, dest).is_ok() {
        return Ok(());
    }
    let _ = std::fs::remove_file(&tmp);
    write_atomic(dest, bytes)
}

/// The network file for `label` (`latest`, an epoch or a step): ours, the CycleGAN
/// reference's `<label>_net_<name>.pth`, or StarGAN's `<step>-<name>.ckpt`.
fn network_file(dir: &Path, label: &str, name: &str) -> Option<PathBuf> {
    [
        format!("{label}_net_{name}.safetensors"),
        format!("{label}_net_{name}.pth"),
        format!("{label}-{name}.ckpt"),
    ]
    .iter()
    .map(|file| dir.join(file))
    .find(|p| p.is_file())
}

/// Loads every network of `label` into the model; the error lists the missing files.
fn load_networks<M: GanModel>(dir: &Path, label: &str, model: &M) -> Result<()> {
    let nets = model.networks();
    let missing: Vec<String> = nets
        .iter()
        .filter(|(name, _)| network_file(dir, label, name).is_none())
        .map(|(name, _)| format!("{label}_net_{name}.safetensors (or .pth, or {label}-{name}.ckpt)"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::File {
            path: dir.display().to_string(),
            msg: format!(
                "continuing this run needs {}; {} missing{}",
                missing.join(", "),
                if missing.len() == 1 { "it is" } else { "they are" },
                if label == "latest" {
                    ", and no checkpoint set was saved (drop --continue-train to start afresh)"
                } else {
                    ""
                }
            ),
        });
    }
    for (name, net) in nets {
        load_network(&network_file(dir, label, name).expect("checked above"), name, net)?;
    }
    Ok(())
}

fn load_network(path: &Path, name: &str, net: &dyn crate::nn::Module) -> Result<()> {
    let tensors = load_any(path, None)?;
    net.load_state_dict(&tensors).map_err(|e| Error::File {
        path: path.display().to_string(),
        msg: format!("does not fit the {name} this run builds (check the network options): {e}"),
    })
}

fn int(state: &NamedTensors, key: &str, path: &Path) -> Result<Vec<i64>> {
    state.iter().find(|(n, _)| n == key).and_then(|(_, t)| t.as_ints().map(<[i64]>::to_vec)).ok_or_else(
        || Error::File { path: path.display().to_string(), msg: format!("has no integer entry {key}") },
    )
}

/// Loads a run's checkpoint into `model`. With `label` = latest and a saved generation
/// (or the single state file of older runs), restores everything and returns the
/// counters; otherwise loads the `label` network files alone and returns None (fresh
/// optimizers).
pub fn resume<M: GanModel>(
    dir: &Path,
    label: &str,
    model: &mut M,
    device: &Device,
) -> Result<Option<Counters>> {
    if label == "latest" {
        if let Some((folder, _)) = generation::newest(dir)? {
            for (name, net) in model.networks() {
                load_network(&folder.join(format!("net_{name}.safetensors")), name, net)?;
            }
            return restore_state(&folder.join(STATE_FILE), model, device).map(Some);
        }
    }
    let state_path = dir.join(STATE);
    if label != "latest" || !state_path.is_file() {
        if label != "latest" && label.parse::<usize>().is_err() {
            return Err(Error::Invalid {
                op: "--epoch",
                msg: format!("{label:?} is not latest or an epoch (or step) number"),
            });
        }
        load_networks(dir, label, model)?;
        return Ok(None);
    }
    load_networks(dir, label, model)?;
    restore_state(&state_path, model, device).map(Some)
}

/// Restores the optimizers, the model's extra state and the counters from a state file.
fn restore_state<M: GanModel>(state_path: &Path, model: &mut M, device: &Device) -> Result<Counters> {
    let state = load_safetensors(state_path)?;
    let counters = Counters {
        step: int(&state, "trainer.step", state_path)?[0] as usize,
        epoch_count: int(&state, "trainer.epoch_count", state_path)?[0] as usize,
        loader_position: int(&state, "trainer.loader_position", state_path)?[0] as u64,
        device_rng: match int(&state, "trainer.device_rng", state_path)?[..] {
            [seed, calls] => (seed as u64, calls as u64),
            _ => {
                return Err(Error::File {
                    path: state_path.display().to_string(),
                    msg: "trainer.device_rng is not 2 values".into(),
                })
            }
        },
    };
    let pick = |prefix: &str| -> Result<Vec<(String, crate::Tensor)>> {
        state
            .iter()
            .filter_map(|(n, t)| {
                n.strip_prefix(prefix).map(|rest| Ok((rest.to_string(), t.to_tensor(device)?)))
            })
            .collect()
    };
    for (prefix, opt) in model.optimizers() {
        opt.load_state_dict(&pick(&format!("{prefix}."))?)?;
    }
    let extra: NamedTensors =
        state.iter().filter_map(|(n, t)| Some((n.strip_prefix("model.")?.to_string(), t.clone()))).collect();
    model.load_extra_state(&extra, device)?;
    Ok(counters)
}

/// Writes the options the run uses, one `--flag: value` line each, beside the checkpoints.
pub fn save_options(dir: &Path, command: &str, options: &[(String, String)]) -> Result<()> {
    let mut text = format!("# {command}\n");
    for (k, v) in options {
        text.push_str(&format!("{k}: {v}\n"));
    }
    crate::io::write_atomic(&dir.join("train_opt.txt"), text.as_bytes())
}

/// What a run of ours leaves in its folder: checkpoint sets, network files, logs, samples.
fn run_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            matches!(name.as_str(), "generations" | "web" | "train_opt.txt" | STATE)
                || (name.contains("_net_") && name.ends_with(".safetensors"))
                || (name.starts_with("loss_log") && name.ends_with(".jsonl"))
        })
        .map(|e| e.path())
        .collect()
}

/// Lets a fresh run use `dir`: refused when it holds a run's checkpoints (a new run would
/// overwrite them), unless `overwrite`, which removes them first. Other files (datasets,
/// a reference's `.pth` or `.ckpt`) are left alone.
pub fn claim_run_folder(dir: &Path, overwrite: bool) -> Result<()> {
    let found = run_files(dir);
    let has_checkpoints = super::generation::has_sets(dir)?
        || found.iter().any(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name == STATE || name.contains("_net_")
        });
    if !has_checkpoints {
        return Ok(());
    }
    if !overwrite {
        return Err(Error::File {
            path: dir.display().to_string(),
            msg: "already holds a run: add --continue-train to go on with it, --overwrite to start it again (its checkpoints, logs and samples are removed), or --name to start another".into(),
        });
    }
    for path in found {
        let gone = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        gone.map_err(|e| Error::File { path: path.display().to_string(), msg: e.to_string() })?;
    }
    eprintln!("--overwrite: removed the earlier run's checkpoints, logs and samples from {}", dir.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_completed_set_or_network_file_makes_a_folder_hold_a_run() {
        let run = std::env::temp_dir().join(format!("gantry-claim-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&run);
        // A run killed inside its first save: options, a log and a temporary set only.
        let partial = run.join("generations").join(".000000001.tmp4242");
        std::fs::create_dir_all(&partial).unwrap();
        std::fs::write(run.join("train_opt.txt"), "# train\n").unwrap();
        std::fs::write(run.join("loss_log.jsonl"), "{}\n").unwrap();
        claim_run_folder(&run, false).unwrap();
        // Once a set is complete (intact or not) a fresh run is refused, and nothing goes.
        super::super::generation::write(&run, 1, &[("a".into(), vec![1])]).unwrap();
        let err = claim_run_folder(&run, false).unwrap_err().to_string();
        assert!(err.contains("already holds a run"), "{err}");
        assert!(run.join("generations").join("000000001").is_dir());
        std::fs::remove_dir_all(run.join("generations")).unwrap();
        std::fs::write(run.join("latest_net_G.safetensors"), [0]).unwrap();
        assert!(claim_run_folder(&run, false).is_err());
        claim_run_folder(&run, true).unwrap();
        assert!(!run.join("latest_net_G.safetensors").exists() && !run.join("loss_log.jsonl").exists());
        std::fs::remove_dir_all(&run).unwrap();
    }
}
