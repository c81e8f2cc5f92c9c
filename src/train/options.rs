//! The options every model's training run shares: where the run lives, how often it
//! shows and saves its progress, and how it resumes. Named as the reference's.

use crate::models::image2image::args::positive;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(clap::Args, Clone, Debug)]
pub struct RunOptions {
    /// The run's name: checkpoints, logs and samples go to <checkpoints-dir>/<name>/.
    #[arg(long, default_value = "experiment")]
    pub name: String,
    #[arg(long, default_value = "./checkpoints")]
    pub checkpoints_dir: PathBuf,
    /// Seeds network initialisation, data order and augmentation, and every random draw.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Continue the run from its checkpoints: exactly where it stopped when a full set
    /// (generations/<step>/) is there; otherwise from the network files alone
    /// (<epoch>_net_<name>.safetensors or the reference's .pth) with fresh optimizers.
    #[arg(long)]
    pub continue_train: bool,
    /// Start again under a name that already holds a run, removing its checkpoints, logs
    /// and samples (without it such a run is refused, so nothing is lost by mistake).
    #[arg(long, conflicts_with = "continue_train")]
    pub overwrite: bool,
    /// Which networks --continue-train loads: latest, or an epoch number (a step number for
    /// models counted in steps, which then go on from that step, as StarGAN's --resume_iters).
    #[arg(long, default_value = "latest")]
    pub epoch: String,
    /// The epoch label to count from when continuing from network files alone.
    #[arg(long, default_value_t = 1, value_parser = positive)]
    pub epoch_count: usize,
    /// Steps between sample grids and plot updates [default: 100; 16 on a built-in set].
    #[arg(long, value_parser = positive)]
    pub display_freq: Option<usize>,
    /// Steps between progress lines when the output is not a terminal.
    #[arg(long, default_value_t = 100, value_parser = positive)]
    pub print_freq: usize,
    /// Steps between saves of the latest checkpoint (also saved at every epoch's end).
    #[arg(long, default_value_t = 5000, value_parser = positive)]
    pub save_latest_freq: usize,
    /// Epochs between numbered checkpoints (<epoch>_net_*.safetensors).
    #[arg(long, default_value_t = 5, value_parser = positive)]
    pub save_epoch_freq: usize,
    /// Stop after this many steps in all (saving the latest checkpoint, as Ctrl-C does);
    /// --continue-train goes on from there.
    #[arg(long, value_parser = positive)]
    pub stop_after: Option<usize>,
    /// Raised (by Ctrl-C) to stop after the current step, saving a checkpoint first.
    #[arg(skip)]
    pub stop: Option<Arc<AtomicBool>>,
    /// The step a new run starts counting from: a model already loaded from an outside
    /// checkpoint (FastGAN's --ckpt all_N.pth) goes on from there.
    #[arg(skip)]
    pub start_step: Option<usize>,
}

impl RunOptions {
    /// `<checkpoints-dir>/<name>`.
    pub fn run_dir(&self) -> PathBuf {
        self.checkpoints_dir.join(&self.name)
    }

    /// Whether Ctrl-C (or a test) asked the run to stop.
    pub fn stop_requested(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed))
    }
}
