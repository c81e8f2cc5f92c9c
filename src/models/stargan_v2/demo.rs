//! The built-in run: three colour domains (`data::synth_domains`: one object per scene,
//! its hue family the domain; shade, stripes and background the style; shape and place
//! the content) at 32 px, small widths so that lavapipe trains it in minutes, and scores
//! that need no learned model: the share of translations that land in the target domain
//! (latent- and reference-guided) and the diversity of one source's outputs over 10 styles.

use super::data::val_batch;
use super::synthesis::{generate, latent_styles, reference_styles};
use super::{Nets, StarGanV2, StarGanV2Options};
use crate::data::rng::HostRng;
use crate::data::synth_domains::{diversity, domain_of};
use crate::error::Result;
use crate::gpu::Device;
use crate::io::image::to_rgb;
use crate::tensor::Tensor;
use image::RgbImage;
use std::path::{Path, PathBuf};

/// The built-in run's size, widths, batch, iterations, rates and sample interval.
pub const SIZE: usize = 32;
pub const DOMAINS: usize = 3;
pub const PER_DOMAIN: usize = 200;
pub const BATCH: usize = 4;
pub const ITERATIONS: usize = 200;
pub const LR: f32 = 5e-4;
pub const F_LR: f32 = 5e-5;
pub const SAMPLE_EVERY: usize = 100;
pub const VAL_BATCH: usize = 6;
/// Sources scored per target domain, and styles per source for diversity.
const SCORED: usize = 12;
const STYLES: usize = 10;

/// The built-in run's networks: 32 px, widths capped at 32, a 64-wide mapping network,
/// style 16, no masks.
pub fn options() -> StarGanV2Options {
    StarGanV2Options {
        img_size: SIZE,
        num_domains: DOMAINS,
        latent_dim: 16,
        hidden_dim: 64,
        style_dim: 16,
        max_conv_dim: 32,
        w_hpf: 0.0,
        ..StarGanV2Options::default()
    }
}

/// Where the set lives in a run folder.
pub fn root(run_dir: &Path) -> PathBuf {
    run_dir.join("domains")
}

/// The shares of translations that land in their target domain, latent- and
/// reference-guided (0-1), and the diversity of one source over 10 latent styles (mean
/// pairwise distance; the real images' for comparison).
#[derive(Clone, Copy, Debug)]
pub struct Score {
    pub latent: f64,
    pub reference: f64,
    pub diversity: f64,
    pub real_diversity: f64,
}

/// Codes from a fixed host generator, so that every score uses the same.
fn codes(d: &Device, n: usize, latent: usize, seed: u64) -> Result<Tensor> {
    let mut rng = HostRng::new(seed);
    let v: Vec<f32> = (0..n * latent)
        .map(|_| {
            let (u, w) = (rng.uniform().max(1e-12), rng.uniform());
            ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * w).cos()) as f32
        })
        .collect();
    Tensor::from_slice(d, &v, &[n, latent])
}

fn images(t: &Tensor) -> Result<Vec<RgbImage>> {
    (0..t.shape()[0]).map(|i| to_rgb(&t.narrow(0, i, 1)?)).collect()
}

fn hits(t: &Tensor, target: usize) -> Result<usize> {
    Ok(images(t)?.iter().filter(|img| domain_of(img) == Some(target)).count())
}

/// Scores `nets` on the validation images under `val`.
pub fn score_nets(d: &Device, nets: &Nets, val: &Path) -> Result<Score> {
    let size = SIZE as u32;
    let (x, _) = val_batch(d, val, DOMAINS, SCORED, size, 11)?;
    let (refs, y_ref) = val_batch(d, val, DOMAINS, SCORED, size, 12)?;
    let latent = nets.mapping_network.latent_dim;
    let (mut latent_hits, mut reference_hits) = (0, 0);
    for k in 0..DOMAINS {
        let s = latent_styles(nets, &codes(d, SCORED, latent, 0x5C0E + k as u64)?, &[k; SCORED])?;
        latent_hits += hits(&generate(nets, None, &x, &s)?, k)?;
        // References of domain k (every DOMAINS-th image of the batch is).
        let picks: Vec<usize> = (0..SCORED).map(|i| k + DOMAINS * (i % (SCORED / DOMAINS))).collect();
        let r = refs.index_select(0, &picks)?;
        let s = reference_styles(nets, &r, &picks.iter().map(|&i| y_ref[i]).collect::<Vec<_>>())?;
        reference_hits += hits(&generate(nets, None, &x, &s)?, k)?;
    }
    // One source into the next domain with 10 styles.
    let src = x.narrow(0, 0, 1)?.expand(&[STYLES, 3, SIZE, SIZE])?;
    let s = latent_styles(nets, &codes(d, STYLES, latent, 0xD1FF)?, &[1; STYLES])?;
    let outs = images(&generate(nets, None, &src, &s)?)?;
    let total = (SCORED * DOMAINS) as f64;
    Ok(Score {
        latent: latent_hits as f64 / total,
        reference: reference_hits as f64 / total,
        diversity: diversity(&outs),
        real_diversity: diversity(&images(&x)?),
    })
}

/// Scores the model's live networks (its EMA copies start from PyTorch's default
/// initialisation and average over about 1000 iterations, longer than the built-in run).
/// The device's generator is put back, so scoring does not change the run's draws.
pub fn score(d: &Device, model: &StarGanV2, val: &Path) -> Result<Score> {
    d.keeping_rng(|| score_nets(d, &model.nets, val))
}

pub fn print_score(before: Score, after: Score) {
    println!(
        "translations into the target domain: latent-guided {:.0} % (before training {:.0} %), reference-guided {:.0} % (before {:.0} %); diversity of one source over 10 styles {:.3} (before {:.3}; 0 is a collapsed generator; different real images {:.3})",
        after.latent * 100.0,
        before.latent * 100.0,
        after.reference * 100.0,
        before.reference * 100.0,
        after.diversity,
        before.diversity,
        after.real_diversity
    );
}
