//! The one contract every GAN model meets, after the reference's BaseModel. A model owns
//! its options, its batch type, its networks (EMA copies included), its optimizers and
//! their learning-rate schedules, and any state a resumed run needs (an image pool, a
//! decaying weight); the trainer only feeds it batches and saves what it lists.

use crate::error::Result;
use crate::gpu::Device;
use crate::io::NamedTensors;
use crate::nn::Module;
use crate::optim::Adam;
use crate::tensor::Tensor;

/// Where a training step stands: `index` counts steps from 0 over the whole run (resumes
/// included); `epoch` is the reference's 1-based epoch label for models trained in epochs
/// (`--epoch-count` onwards), and 1 for models counted in steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub index: usize,
    pub epoch: usize,
}

/// How long a model trains by default: up to an epoch label (CycleGAN's `n_epochs +
/// n_epochs_decay`), or a number of steps (StarGAN's `num_iters`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Length {
    Epochs(usize),
    Steps(usize),
}

/// Rows of labelled images for a sample grid; rows may differ in image size.
pub type Visuals = Vec<Vec<(&'static str, Tensor)>>;

pub trait GanModel {
    /// What one step consumes, as its loader produces it.
    type Batch;

    /// How long training runs.
    fn length(&self) -> Length;

    /// One training iteration in the paper's order, with the learning rates its schedule
    /// gives at `at`; returns the named losses (one sync point).
    fn train_step(&mut self, batch: &Self::Batch, at: Step) -> Result<Vec<(&'static str, f32)>>;

    /// The last step's images, for sample grids.
    fn visuals(&self) -> Visuals;

    /// Networks by the reference's checkpoint names (`G_A`, `D_B`, or `G`, `D`).
    fn networks(&self) -> Vec<(&'static str, &dyn Module)>;

    /// Optimizers by name, for saving and resuming their state.
    fn optimizers(&mut self) -> Vec<(&'static str, &mut Adam)>;

    /// Whatever else the next step depends on (an image pool and its generator, counters,
    /// decays), by name; saved beside the optimizers.
    fn extra_state(&self) -> Result<NamedTensors> {
        Ok(Vec::new())
    }

    /// Restores what `extra_state` saved.
    fn load_extra_state(&mut self, _state: &NamedTensors, _device: &Device) -> Result<()> {
        Ok(())
    }
}
