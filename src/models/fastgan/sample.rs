//! `gantry sample fastgan`: images from a generator checkpoint, as eval.py writes them
//! (`{i}.png`, `--batch` codes per forward). From the reference's `all_N.pth` the EMA
//! parameters with G's buffers; from `N.pth` or our `*_net_G_ema` file the generator in it.
//! By default, as eval.py (which never calls `eval()`), BatchNorm normalises with each
//! batch's statistics and spectral norm iterates; `--eval` uses the running statistics
//! and the stored singular vectors instead.

use super::nets::Generator;
use super::reference::load_generator;
use crate::autograd::no_grad;
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::models::image2image::args::positive;
use crate::nn::Module;
use crate::tensor::Tensor;
use std::path::{Path, PathBuf};

/// Sample images from a FastGAN generator.
#[derive(clap::Args, Clone, Debug)]
pub struct SampleArgs {
    /// The checkpoint: the reference's models/N.pth or all_N.pth, or our
    /// <step>_net_G_ema.safetensors (size, width and nz are read from it).
    #[arg(long)]
    pub weights: PathBuf,
    /// The folder the images go to ({i}.png).
    #[arg(long)]
    pub output: PathBuf,
    /// How many images (ignored with --noise).
    #[arg(long, default_value_t = 2000, value_parser = positive)]
    pub n_sample: usize,
    /// Seeds the latent codes and noise maps.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Latent codes from a .npy array of shape [rows, nz], one image per row.
    #[arg(long)]
    pub noise: Option<PathBuf>,
    /// Codes per forward pass (in the default mode the batch's statistics depend on it).
    #[arg(long, default_value_t = 16, value_parser = positive)]
    pub batch: usize,
    /// Use BatchNorm's running statistics and spectral norm's stored vectors (the
    /// reference samples without this: batch statistics).
    #[arg(long)]
    pub eval: bool,
}

/// A [1, 3, h, w] image in [-1, 1] as torchvision's save_image writes x·0.5 + 0.5:
/// round(255·v) after clamping to [0, 1].
pub fn save_image(path: &Path, t: &Tensor) -> Result<()> {
    let [_, _, h, w] = t.shape().try_into().map_err(|_| Error::Rank {
        op: "save_image",
        expected: "[1, 3, h, w]".into(),
        shape: t.shape().to_vec(),
    })?;
    let v = t.to_vec()?;
    let img = image::RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let at = |c: usize| {
            let u = (v[(c * h + y as usize) * w + x as usize] + 1.0) * 0.5;
            (u * 255.0 + 0.5).clamp(0.0, 255.0) as u8
        };
        image::Rgb([at(0), at(1), at(2)])
    });
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .map_err(|e| Error::File { path: path.display().to_string(), msg: e.to_string() })?;
    crate::io::write_atomic(path, &bytes)
}

/// The big images of `g` for codes `z` [n, nz], `batch` rows per forward.
pub fn generate(g: &Generator, z: &Tensor, batch: usize) -> Result<Vec<Tensor>> {
    let n = z.shape()[0];
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    while start < n {
        let rows = batch.min(n - start);
        let big = no_grad(|| Ok(g.forward(&z.narrow(0, start, rows)?)?.0))?;
        for i in 0..rows {
            out.push(big.narrow(0, i, 1)?);
        }
        start += rows;
    }
    Ok(out)
}

impl SampleArgs {
    /// The codes: from --noise, else --n-sample draws.
    fn codes(&self, d: &Device, nz: usize) -> Result<Tensor> {
        let Some(path) = &self.noise else { return Tensor::randn(d, &[self.n_sample, nz]) };
        let t = crate::io::npy::load_npy(path)?;
        if t.shape.len() != 2 || t.shape[1] != nz || t.shape[0] == 0 {
            return Err(Error::File {
                path: path.display().to_string(),
                msg: format!("holds an array of shape {:?}; the generator needs [rows, {nz}]", t.shape),
            });
        }
        t.to_tensor(d)
    }

    /// Writes the images; returns their paths.
    pub fn run(&self, d: &Device) -> Result<Vec<PathBuf>> {
        let g = load_generator(d, &self.weights)?;
        g.set_training(!self.eval);
        d.manual_seed(self.seed);
        let z = self.codes(d, g.nz)?;
        std::fs::create_dir_all(&self.output)
            .map_err(|e| Error::File { path: self.output.display().to_string(), msg: e.to_string() })?;
        let mut written = Vec::new();
        for (i, img) in generate(&g, &z, self.batch)?.iter().enumerate() {
            let path = self.output.join(format!("{i}.png"));
            save_image(&path, img)?;
            written.push(path);
        }
        Ok(written)
    }
}
