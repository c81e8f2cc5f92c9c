//! The shared trainer, generic over the model and its loader and counted in steps: a
//! progress line, a JSON-lines loss log, sample grids, a loss plot and a web page, and
//! checkpoints named as the reference names them, saved every `--save-latest-freq` steps,
//! at every epoch's end and on Ctrl-C, with everything an exact resume needs.

pub mod checkpoint;
mod log;
pub mod options;
pub mod report;

pub use options::RunOptions;

use crate::data::Loader;
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::models::{GanModel, Length, Step};
use crate::tensor::Tensor;
use checkpoint::Counters;
use std::time::Instant;

/// What a run did: the last step's losses and the steps finished over the whole run.
#[derive(Debug)]
pub struct Outcome {
    pub losses: Vec<(&'static str, f32)>,
    pub steps: usize,
    /// Whether it stopped early (Ctrl-C or --stop-after) with its state saved.
    pub interrupted: bool,
}

/// Where the run's steps fall: steps per epoch and in all, and the label of step 0.
struct Plan {
    per_epoch: usize,
    total: usize,
    epoch_count: usize,
    epochs: bool,
}

impl Plan {
    fn epoch(&self, index: usize) -> usize {
        if self.epochs {
            self.epoch_count + index / self.per_epoch
        } else {
            1
        }
    }
}

/// Side-by-side images [n, c, h, w·k] of each row, the first image of the batch.
fn save_grid(path: &std::path::Path, rows: &[Vec<(&'static str, Tensor)>]) -> Result<()> {
    let mut strips = Vec::new();
    for row in rows.iter().filter(|r| !r.is_empty()) {
        let first: Vec<Tensor> = row.iter().map(|(_, t)| t.narrow(0, 0, 1)).collect::<Result<_>>()?;
        strips.push(Tensor::concat(&first, 3)?);
    }
    crate::io::image::save_png(path, &Tensor::concat(&strips, 2)?)
}

/// Trains `model` on batches from `loader` (built at the position a resume needs) under
/// the run options; `options` is what `train_opt.txt` records.
pub fn run<M, L>(
    d: &Device,
    o: &RunOptions,
    model: &mut M,
    loader: impl FnOnce(u64) -> Result<L>,
    options: &[(String, String)],
) -> Result<Outcome>
where
    M: GanModel,
    L: Loader<Batch = M::Batch>,
{
    let dir = o.run_dir();
    let images = dir.join("web").join("images");
    std::fs::create_dir_all(&images)
        .map_err(|e| Error::File { path: images.display().to_string(), msg: e.to_string() })?;
    let resumed = if o.continue_train { checkpoint::resume(&dir, &o.epoch, model, d)? } else { None };
    let start = resumed.map_or(0, |c| c.step);
    if let Some(c) = resumed {
        d.set_rng_state(c.device_rng);
        eprintln!("resuming {} after step {start}", o.name);
    } else if o.continue_train {
        eprintln!(
            "continuing {} from its {} networks with fresh optimizers, at epoch {}",
            o.name, o.epoch, o.epoch_count
        );
    }
    let mut loader = loader(resumed.map_or(0, |c| c.loader_position))?;
    let per_epoch = loader.steps_per_epoch().max(1);
    let epoch_count = resumed.map_or(o.epoch_count, |c| c.epoch_count);
    let (total, epochs) = match model.length() {
        Length::Epochs(last) => ((last + 1).saturating_sub(epoch_count) * per_epoch, true),
        Length::Steps(n) => (n, false),
    };
    let plan = Plan { per_epoch, total, epoch_count, epochs };
    let command = format!("gantry train {}", std::env::args().skip(2).collect::<Vec<_>>().join(" "));
    checkpoint::save_options(&dir, command.trim(), options)?;
    let (mut log, mut history) = log::LossLog::open(&dir, resumed.map(|c| c.step))?;
    let display_freq = o.display_freq.unwrap_or(100);
    let clock = Instant::now();
    let mut losses = Vec::new();
    for index in start..plan.total {
        let epoch = plan.epoch(index);
        let batch = loader.next_batch(d)?;
        losses = model.train_step(&batch, Step { index, epoch })?;
        let done = index + 1;
        if let Some((name, v)) = losses.iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::Invalid {
                op: "train",
                msg: format!(
                    "loss {name} became {v} at step {done} (epoch {epoch}); the last good checkpoint in {} is kept",
                    dir.display()
                ),
            });
        }
        let named: Vec<(String, f32)> = losses.iter().map(|(n, v)| (n.to_string(), *v)).collect();
        let lr = model.optimizers().first().map_or(0.0, |(_, opt)| opt.lr());
        log.append(done, epoch, lr, &named)?;
        history.push((done, named));
        let rate = (done - start) as f64 / clock.elapsed().as_secs_f64();
        let shown: Vec<String> = losses.iter().map(|(n, v)| format!("{n} {v:.3}")).collect();
        eprint!(
            "\rstep {done}/{} epoch {epoch} {rate:.2} steps/s ETA {:.0}s | {}   ",
            plan.total,
            (plan.total - done) as f64 / rate.max(1e-9),
            shown.join(" ")
        );
        let counters = Counters {
            step: done,
            epoch_count,
            loader_position: loader.position(),
            device_rng: d.rng_state(),
        };
        if o.stop_requested() || o.stop_after == Some(done) {
            checkpoint::save(&dir, model, counters, None)?;
            eprintln!("\nstopped after step {done}; saved the latest checkpoint in {} (resume with --continue-train)", dir.display());
            return Ok(Outcome { losses, steps: done, interrupted: true });
        }
        if done.is_multiple_of(display_freq) {
            save_grid(&images.join(format!("epoch{epoch:03}_step{done:07}.png")), &model.visuals())?;
            report::plot(&history, &dir.join("web").join("loss.png"))?;
            report::html(&dir, &o.name, &history)?;
        }
        let epoch_end = plan.epochs && done.is_multiple_of(plan.per_epoch);
        if epoch_end || done.is_multiple_of(o.save_latest_freq) || done == plan.total {
            let numbered = (epoch_end && epoch.is_multiple_of(o.save_epoch_freq)).then_some(epoch);
            checkpoint::save(&dir, model, counters, numbered)?;
        }
    }
    if start >= plan.total {
        eprintln!("nothing to train: the run is {} steps long and {start} are done", plan.total);
        return Ok(Outcome { losses, steps: start, interrupted: false });
    }
    report::plot(&history, &dir.join("web").join("loss.png"))?;
    report::html(&dir, &o.name, &history)?;
    eprintln!();
    Ok(Outcome { losses, steps: plan.total, interrupted: false })
}
