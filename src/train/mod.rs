//! The shared trainer, generic over the model and its loader and counted in steps: a
//! progress line, a JSON-lines loss log, sample grids, a loss plot and a web page, and
//! checkpoints named as the reference names them, saved every `--save-latest-freq` steps,
//! at every epoch's end and on Ctrl-C, with everything an exact resume needs.

pub mod checkpoint;
mod font;
pub mod generation;
pub mod grid;
mod log;
pub mod options;
pub mod progress;
mod raster;
pub mod report;

pub use options::RunOptions;

use crate::data::Loader;
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::models::{GanModel, Length, Step};
use checkpoint::Counters;
use progress::Progress;

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
    if !o.continue_train {
        checkpoint::claim_run_folder(&dir, o.overwrite)?;
    }
    let images = dir.join("web").join("images");
    std::fs::create_dir_all(&images)
        .map_err(|e| Error::File { path: images.display().to_string(), msg: e.to_string() })?;
    let leftovers = generation::clean_leftovers(&dir);
    if leftovers > 0 {
        eprintln!("removed {leftovers} temporary file(s) an interrupted save left in {}", dir.display());
    }
    let resumed = if o.continue_train { checkpoint::resume(&dir, &o.epoch, model, d)? } else { None };
    let counted_in_steps = matches!(model.length(), Length::Steps(_));
    let start = match resumed {
        Some(c) => c.step,
        // Network files of step N alone: a step-counted run goes on from step N, as
        // StarGAN's --resume_iters does.
        None if o.continue_train && counted_in_steps => o.epoch.parse().unwrap_or(0),
        None => o.start_step.unwrap_or(0),
    };
    if let Some(c) = resumed {
        d.set_rng_state(c.device_rng);
        eprintln!("resuming {} after step {start}", o.name);
    } else if o.continue_train && counted_in_steps {
        eprintln!(
            "continuing {} from its {} networks with fresh optimizers, after step {start}",
            o.name, o.epoch
        );
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
    if start >= plan.total {
        eprintln!("nothing to train: the run is {} steps long and {start} are done", plan.total);
        return Ok(Outcome { losses: Vec::new(), steps: start, interrupted: false });
    }
    let nets: Vec<String> = model
        .networks()
        .iter()
        .map(|(n, net)| format!("{n} {:.2}M", crate::nn::ModuleExt::parameter_count(*net) as f64 / 1e6))
        .collect();
    let summary = d.summary();
    eprintln!(
        "training {} on {} ({}, {}): {}; steps {}..{} ({} per epoch); parameters {}",
        o.name,
        summary.name,
        summary.backend,
        summary.driver,
        loader.describe(),
        start + 1,
        plan.total,
        plan.per_epoch,
        nets.join(", ")
    );
    eprintln!(
        "outputs go to {}; the first step compiles the kernels it uses, so it is slow (minutes at full size on a CPU)",
        dir.display()
    );
    let mut progress = Progress::new(plan.total, start, o.print_freq);
    let last_epoch = plan.epoch(plan.total.saturating_sub(1));
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
        progress.update(done, plan.epochs.then_some((epoch, last_epoch)), &history[history.len() - 1].1);
        let counters = Counters {
            step: done,
            epoch_count,
            loader_position: loader.position(),
            device_rng: d.rng_state(),
        };
        if o.stop_requested() || o.stop_after == Some(done) {
            checkpoint::save(&dir, model, counters, None)?;
            progress.finish();
            eprintln!(
                "stopped after step {done}; saved the latest checkpoint in {} (resume with --continue-train)",
                dir.display()
            );
            return Ok(Outcome { losses, steps: done, interrupted: true });
        }
        if done.is_multiple_of(display_freq) {
            let rows: Vec<Vec<(String, crate::Tensor)>> = model
                .visuals()
                .into_iter()
                .map(|row| row.into_iter().map(|(n, t)| Ok((n.to_string(), t.narrow(0, 0, 1)?))).collect())
                .collect::<Result<_>>()?;
            // Named as the reference names its samples: by epoch and step, or for a model
            // counted in steps as StarGAN's `<iter>-images`.
            let file = if plan.epochs {
                format!("epoch{epoch:03}_step{done:07}.png")
            } else {
                format!("{done}-images.png")
            };
            grid::save(&images.join(file), &rows)?;
            report::plot_png(&history, &dir.join("web").join("loss.png"))?;
            report::html(&dir, &o.name, &history)?;
        }
        let epoch_end = plan.epochs && done.is_multiple_of(plan.per_epoch);
        let save_step = done.is_multiple_of(o.save_latest_freq);
        if epoch_end || save_step || done == plan.total {
            // Numbered copies: every --save-epoch-freq epochs, or for a model counted in
            // steps at every save (`<step>_net_G`, as StarGAN's `<step>-G.ckpt`).
            let numbered = if plan.epochs {
                (epoch_end && epoch.is_multiple_of(o.save_epoch_freq)).then_some(epoch)
            } else {
                Some(done)
            };
            checkpoint::save(&dir, model, counters, numbered)?;
        }
    }
    progress.finish();
    report::plot_png(&history, &dir.join("web").join("loss.png"))?;
    report::html(&dir, &o.name, &history)?;
    Ok(Outcome { losses, steps: plan.total, interrupted: false })
}
