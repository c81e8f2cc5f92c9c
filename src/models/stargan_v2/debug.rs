//! The reference's debug samples (utils.debug_image), written with the EMA networks every
//! --sample-every iterations: `{step:06d}_cycle_consistency.jpg` (sources, references,
//! translations, reconstructions), `{step:06d}_latent_psi_{0.5,0.7,1.0}.jpg` (sources, then
//! per target domain (at most 5) a row per latent code) and `{step:06d}_reference.jpg`.

use super::synthesis::{average_style, generate, latent_styles, reference_styles, truncate};
use super::translate::{reference_grid, tile};
use super::{MaskNet, Nets};
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::tensor::Tensor;
use image::RgbImage;
use std::path::{Path, PathBuf};

/// A fixed validation batch: sources and references with their domains.
pub struct DebugInputs {
    pub x_src: Tensor,
    pub y_src: Vec<usize>,
    pub x_ref: Tensor,
    pub y_ref: Vec<usize>,
}

/// Latent codes per target domain in the ψ grids (the reference's num_outs_per_domain).
pub const OUTS_PER_DOMAIN: usize = 10;

fn save_jpg(path: &Path, img: &RgbImage) -> Result<()> {
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Jpeg)
        .map_err(|e| Error::File { path: path.display().to_string(), msg: e.to_string() })?;
    crate::io::write_atomic(path, &bytes)
}

fn each(t: &Tensor) -> Result<Vec<Tensor>> {
    (0..t.shape()[0]).map(|i| t.narrow(0, i, 1)).collect()
}

/// Writes the five files for `step` into `dir`; returns their paths. Draws its codes from
/// the device's generator and puts the generator's state back, so that sampling does not
/// change the run's draws.
pub fn write(
    d: &Device,
    nets: &Nets,
    fan: Option<&dyn MaskNet>,
    inputs: &DebugInputs,
    step: usize,
    dir: &Path,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::File { path: dir.display().to_string(), msg: e.to_string() })?;
    d.keeping_rng(|| {
        let (x_src, x_ref) = (&inputs.x_src, &inputs.x_ref);
        let n = x_src.shape()[0];
        let mut written = Vec::new();
        // Cycle consistency, reference-guided: rows of sources, references, fakes, recoveries.
        let fake = generate(nets, fan, x_src, &reference_styles(nets, x_ref, &inputs.y_ref)?)?;
        let rec = generate(nets, fan, &fake, &reference_styles(nets, x_src, &inputs.y_src)?)?;
        let rows = [x_src, x_ref, &fake, &rec].iter().map(|t| each(t)).collect::<Result<Vec<_>>>()?;
        let path = dir.join(format!("{step:06}_cycle_consistency.jpg"));
        save_jpg(&path, &tile(&rows)?)?;
        written.push(path);
        // Latent-guided with truncation: the same codes for every ψ.
        let domains = nets.mapping_network.unshared.len().min(5);
        let latent = nets.mapping_network.latent_dim;
        let codes = Tensor::randn(d, &[OUTS_PER_DOMAIN, latent])?;
        let averages = (0..domains)
            .map(|k| average_style(nets, k, super::synthesis::AVERAGE_OVER, d))
            .collect::<Result<Vec<_>>>()?;
        for psi in [0.5f32, 0.7, 1.0] {
            let mut rows = vec![each(x_src)?];
            for (k, s_avg) in averages.iter().enumerate() {
                for j in 0..OUTS_PER_DOMAIN {
                    let z = codes.narrow(0, j, 1)?.expand(&[n, latent])?;
                    let s = truncate(&latent_styles(nets, &z, &vec![k; n])?, s_avg, psi)?;
                    rows.push(each(&generate(nets, fan, x_src, &s)?)?);
                }
            }
            let path = dir.join(format!("{step:06}_latent_psi_{psi:.1}.jpg"));
            save_jpg(&path, &tile(&rows)?)?;
            written.push(path);
        }
        let path = dir.join(format!("{step:06}_reference.jpg"));
        save_jpg(&path, &reference_grid(nets, fan, x_src, x_ref, &inputs.y_ref)?)?;
        written.push(path);
        Ok(written)
    })
}
