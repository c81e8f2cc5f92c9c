//! The built-in few-shot run: 100 procedurally drawn flowers at 256 px
//! (`data::synth_fewshot`), small widths so that lavapipe trains it in minutes, and two
//! scores of the generator that need no learned model: realism (do its images share the
//! set's colour, layout and edge statistics?) and diversity (do they differ from each
//! other, or has the generator collapsed?).

use super::FastGan;
use crate::autograd::no_grad;
use crate::data::rng::HostRng;
use crate::data::synth_fewshot::{
    diversity, features, matched, realism, reference_features, write_fewshot, Features,
};
use crate::error::Result;
use crate::gpu::Device;
use crate::tensor::Tensor;
use std::path::{Path, PathBuf};

/// The built-in run's image side, widths, decoder width, batch, iterations and save interval.
pub const SIZE: usize = 256;
pub const WIDTH: usize = 8;
pub const DEC_NF: usize = 4;
pub const BATCH: usize = 4;
pub const ITERATIONS: usize = 120;
pub const SAVE_INTERVAL: usize = 6;
/// Images in the set, and images generated per score.
pub const IMAGES: usize = 100;
const SCORED: usize = 32;

/// Where the set lives in a run folder.
pub fn root(run_dir: &Path) -> PathBuf {
    run_dir.join("fewshot")
}

/// Writes the set into `dir/images/`.
pub fn write(dir: &Path, seed: u64) -> Result<()> {
    write_fewshot(&dir.join("images"), IMAGES, SIZE as u32, seed)
}

/// Realism (0-1: images that get every statistic of the set right), the share of the set's
/// statistics matched (0-1: partial credit), and diversity (mean pairwise distance) of the
/// generator's images, with the real set's diversity for comparison.
#[derive(Clone, Copy, Debug)]
pub struct Score {
    pub realism: f64,
    pub matched: f64,
    pub diversity: f64,
    pub real_diversity: f64,
}

/// Scores the live generator (in train mode, as it trains) on SCORED codes drawn from a
/// fixed host generator; the device's generator is put back afterwards, so scoring does
/// not change the run's draws.
pub fn score(d: &Device, model: &FastGan, run_dir: &Path) -> Result<Score> {
    let reference = reference_features(&root(run_dir).join("images"), SIZE)?;
    let mut rng = HostRng::new(0x5C0E);
    let codes: Vec<f32> = (0..SCORED * model.options.nz)
        .map(|_| {
            // Box-Muller from two uniforms.
            let (u, v) = (rng.uniform().max(1e-12), rng.uniform());
            ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
        })
        .collect();
    let z = Tensor::from_slice(d, &codes, &[SCORED, model.options.nz])?;
    let images = d.keeping_rng(|| no_grad(|| Ok(model.g.forward(&z)?.0)))?.to_vec()?;
    let per = 3 * SIZE * SIZE;
    let generated: Vec<Features> = images.chunks_exact(per).map(|img| features(img, SIZE)).collect();
    Ok(Score {
        realism: realism(&reference, &generated),
        matched: matched(&reference, &generated),
        diversity: diversity(&generated),
        real_diversity: diversity(&reference),
    })
}

pub fn print_score(before: Score, after: Score) {
    println!(
        "generated flowers: statistics of the set matched {:.2} (before training {:.2}), realism {:.2} (before {:.2}; held-out real flowers score about 1 on both), diversity {:.3} (before {:.3}; the real set {:.3}; 0 is a collapsed generator)",
        after.matched, before.matched, after.realism, before.realism, after.diversity, before.diversity, after.real_diversity
    );
}
