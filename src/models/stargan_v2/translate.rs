//! `gantry translate stargan-v2` and `gantry sample stargan-v2`: synthesis with the EMA
//! networks of a checkpoint (the reference's `_nets_ema.ckpt`, or ours), reference- or
//! latent-guided, and the reference's `reference.jpg` grid of sample mode.

use super::args::ModelArgs;
use super::data::load_images;
use super::reference::NetworkFile;
use super::synthesis::{average_style, generate, latent_styles, reference_styles, truncate, AVERAGE_OVER};
use super::{MaskNet, Nets, StarGanV2Options};
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::image::{image_files, save_png};
use crate::models::image2image::args::positive;
use crate::tensor::Tensor;
use image::RgbImage;
use std::path::{Path, PathBuf};

fn invalid(msg: impl Into<String>) -> Error {
    Error::Invalid { op: "stargan-v2", msg: msg.into() }
}

/// Translate images with a StarGAN v2 checkpoint's EMA networks.
#[derive(clap::Args, Clone, Debug)]
pub struct TranslateArgs {
    /// The EMA networks: the reference's <step>_nets_ema.ckpt (legacy or zip format), a
    /// gantry run folder (its latest EMA networks), or one of a run's
    /// <label>_net_generator_ema.safetensors files. The model options are read from them;
    /// any given must agree.
    #[arg(long)]
    pub weights: PathBuf,
    /// An image or a folder of images to translate.
    #[arg(long)]
    pub input: PathBuf,
    /// The folder the translations go to (<stem>.png per input).
    #[arg(long)]
    pub output: PathBuf,
    /// Reference-guided: the style of this image, as the style encoder of --ref-domain reads it.
    #[arg(long, requires = "ref_domain", conflicts_with_all = ["latent", "target_domain"])]
    pub r#ref: Option<PathBuf>,
    /// The reference image's domain (0-based, in sorted folder order).
    #[arg(long, requires = "ref")]
    pub ref_domain: Option<usize>,
    /// Latent-guided: codes from a .npy of shape [rows, latent_dim]; one row for every
    /// input, or a row per input.
    #[arg(long, requires = "target_domain")]
    pub latent: Option<PathBuf>,
    /// Latent-guided: the target domain (codes from --latent, or drawn from --seed).
    #[arg(long)]
    pub target_domain: Option<usize>,
    /// Seeds the drawn codes and the codes of the average style.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Truncation: s = s_avg + ψ·(s − s_avg), s_avg the domain's mean style over 10,000
    /// codes (1: none). Latent-guided only.
    #[arg(long, default_value_t = 1.0)]
    pub psi: f32,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// The EMA networks of a checkpoint with the options read from it, and FAN when needed.
pub struct Loaded {
    pub nets: Nets,
    pub options: StarGanV2Options,
    pub fan: Option<Box<dyn MaskNet>>,
}

/// Loads `weights` (checking `model`'s flags against it).
pub fn load(d: &Device, weights: &Path, model: &ModelArgs) -> Result<Loaded> {
    let file = NetworkFile::read(weights)?;
    let options = model.from_file(&file)?;
    let nets = Nets::new(d, &options)?;
    for (name, net) in nets.named() {
        file.load(name, net)?;
    }
    let fan = super::fan_for(d, &options, model.wing_path.as_deref(), Some(&file))?;
    Ok(Loaded { nets, options, fan })
}

fn check_domain(flag: &str, k: usize, o: &StarGanV2Options) -> Result<usize> {
    if k >= o.num_domains {
        return Err(invalid(format!(
            "--{flag} {k}: the checkpoint has {} domains (0-{})",
            o.num_domains,
            o.num_domains - 1
        )));
    }
    Ok(k)
}

impl TranslateArgs {
    /// Translates every input; returns the files written.
    pub fn run(&self, d: &Device) -> Result<Vec<PathBuf>> {
        if !(0.0..=1.0).contains(&self.psi) {
            return Err(invalid(format!("--psi {} must lie in [0, 1]", self.psi)));
        }
        if self.r#ref.is_none() && self.target_domain.is_none() {
            return Err(invalid(
                "give --ref IMG --ref-domain K (reference-guided), or --target-domain K with --latent Z.npy or --seed S (latent-guided)",
            ));
        }
        let inputs = image_files(&self.input)?;
        let loaded = load(d, &self.weights, &self.model)?;
        let (nets, o) = (&loaded.nets, &loaded.options);
        let n = inputs.len();
        d.manual_seed(self.seed);
        let styles = match (&self.r#ref, self.ref_domain) {
            (Some(r), Some(k)) => {
                let k = check_domain("ref-domain", k, o)?;
                let x_ref = load_images(d, std::slice::from_ref(r), o.img_size as u32)?;
                reference_styles(nets, &x_ref, &[k])?.expand(&[n, o.style_dim])?
            }
            _ => {
                let k = check_domain("target-domain", self.target_domain.expect("checked above"), o)?;
                let z = match &self.latent {
                    Some(path) => {
                        let z = crate::io::npy::load_npy(path)?.to_tensor(d)?;
                        let rows = z.shape()[0];
                        if z.rank() != 2 || (rows != 1 && rows != n) {
                            return Err(Error::File {
                                path: path.display().to_string(),
                                msg: format!(
                                    "holds codes of shape {:?}: use [1, {}] or [{n}, {}] (one row per input)",
                                    z.shape(),
                                    o.latent_dim,
                                    o.latent_dim
                                ),
                            });
                        }
                        z
                    }
                    None => Tensor::randn(d, &[n, o.latent_dim])?,
                };
                let s = latent_styles(nets, &z, &vec![k; z.shape()[0]])?;
                let s = if self.psi < 1.0 {
                    truncate(&s, &average_style(nets, k, AVERAGE_OVER, d)?, self.psi)?
                } else {
                    s
                };
                s.expand(&[n, o.style_dim])?
            }
        };
        std::fs::create_dir_all(&self.output)
            .map_err(|e| Error::File { path: self.output.display().to_string(), msg: e.to_string() })?;
        let mut written = Vec::new();
        for (i, file) in inputs.iter().enumerate() {
            let x = load_images(d, std::slice::from_ref(file), o.img_size as u32)?;
            let out = generate(nets, loaded.fan.as_deref(), &x, &styles.narrow(0, i, 1)?)?;
            let stem =
                file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| i.to_string());
            let path = self.output.join(format!("{stem}.png"));
            save_png(&path, &out.clamp(-1.0, 1.0)?)?;
            written.push(path);
        }
        println!("wrote {} translation(s) to {}", written.len(), self.output.display());
        Ok(written)
    }
}

/// The reference's sample mode: `reference.jpg` from source and reference folders.
#[derive(clap::Args, Clone, Debug)]
pub struct SampleArgs {
    /// The EMA networks, as for translate: the reference's <step>_nets_ema.ckpt or a gantry run.
    #[arg(long)]
    pub weights: PathBuf,
    /// Source images, in domain subfolders (`<src-dir>/<domain>/*`) or directly inside.
    #[arg(long)]
    pub src_dir: PathBuf,
    /// Reference images in domain subfolders, sorted as the domains are numbered.
    #[arg(long)]
    pub ref_dir: PathBuf,
    /// Where reference.jpg goes.
    #[arg(long, alias = "result-dir")]
    pub output: PathBuf,
    /// At most this many sources and references (the reference takes one batch).
    #[arg(long, default_value_t = 32, value_parser = positive)]
    pub val_batch_size: usize,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// Image files of a folder's domain subfolders, with each one's domain (subfolders in
/// sorted order); the images directly inside when it has no subfolders (domain 0).
fn labelled_images(dir: &Path, limit: usize) -> Result<Vec<(PathBuf, usize)>> {
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::File { path: dir.display().to_string(), msg: e.to_string() })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    let mut out = Vec::new();
    if subdirs.is_empty() {
        out.extend(image_files(dir)?.into_iter().map(|p| (p, 0)));
    }
    for (k, sub) in subdirs.iter().enumerate() {
        out.extend(image_files(sub)?.into_iter().map(|p| (p, k)));
    }
    out.truncate(limit);
    Ok(out)
}

/// Tiles rows of [1, 3, S, S] images without padding, as torchvision's save_image writes
/// them: round(255·(x + 1)/2) clamped.
pub fn tile(rows: &[Vec<Tensor>]) -> Result<RgbImage> {
    let s = rows[0][0].shape()[2];
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut img = RgbImage::new((cols * s) as u32, (rows.len() * s) as u32);
    for (r, row) in rows.iter().enumerate() {
        for (c, t) in row.iter().enumerate() {
            let v = t.to_vec()?;
            for y in 0..s {
                for x in 0..s {
                    let px = |ch: usize| {
                        let u = ((v[(ch * s + y) * s + x] + 1.0) * 0.5).clamp(0.0, 1.0);
                        (u * 255.0 + 0.5).clamp(0.0, 255.0) as u8
                    };
                    img.put_pixel((c * s + x) as u32, (r * s + y) as u32, image::Rgb([px(0), px(1), px(2)]));
                }
            }
        }
    }
    Ok(img)
}

/// translate_using_reference's grid: the first row a white square and the sources; then
/// per reference, the reference and every source in its style.
pub fn reference_grid(
    nets: &Nets,
    fan: Option<&dyn MaskNet>,
    src: &Tensor,
    refs: &Tensor,
    y_ref: &[usize],
) -> Result<RgbImage> {
    let n = src.shape()[0];
    let each = |t: &Tensor| (0..t.shape()[0]).map(|i| t.narrow(0, i, 1)).collect::<Result<Vec<_>>>();
    let white = Tensor::ones(src.device(), &[1, 3, src.shape()[2], src.shape()[3]])?;
    let mut rows =
        vec![std::iter::once(Ok(white)).chain(each(src)?.into_iter().map(Ok)).collect::<Result<Vec<_>>>()?];
    let s_ref = reference_styles(nets, refs, y_ref)?;
    for i in 0..refs.shape()[0] {
        let s = s_ref.narrow(0, i, 1)?.expand(&[n, s_ref.shape()[1]])?;
        let fake = generate(nets, fan, src, &s)?;
        let mut row = vec![refs.narrow(0, i, 1)?];
        row.extend(each(&fake)?);
        rows.push(row);
    }
    tile(&rows)
}

impl SampleArgs {
    /// Writes reference.jpg; returns its path.
    pub fn run(&self, d: &Device) -> Result<PathBuf> {
        let loaded = load(d, &self.weights, &self.model)?;
        let o = &loaded.options;
        let src = labelled_images(&self.src_dir, self.val_batch_size)?;
        let refs = labelled_images(&self.ref_dir, self.val_batch_size)?;
        if let Some((p, k)) = refs.iter().find(|(_, k)| *k >= o.num_domains) {
            return Err(Error::File {
                path: p.display().to_string(),
                msg: format!(
                    "is in the reference folder's domain {k}, but the checkpoint has {} domains",
                    o.num_domains
                ),
            });
        }
        let paths = |v: &[(PathBuf, usize)]| v.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
        let x_src = load_images(d, &paths(&src), o.img_size as u32)?;
        let x_ref = load_images(d, &paths(&refs), o.img_size as u32)?;
        let y_ref: Vec<usize> = refs.iter().map(|(_, k)| *k).collect();
        let grid = reference_grid(&loaded.nets, loaded.fan.as_deref(), &x_src, &x_ref, &y_ref)?;
        std::fs::create_dir_all(&self.output)
            .map_err(|e| Error::File { path: self.output.display().to_string(), msg: e.to_string() })?;
        let path = self.output.join("reference.jpg");
        let mut bytes = Vec::new();
        grid.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Jpeg)
            .map_err(|e| Error::File { path: path.display().to_string(), msg: e.to_string() })?;
        crate::io::write_atomic(&path, &bytes)?;
        println!(
            "wrote {} ({} sources along the first row, {} references down the first column)",
            path.display(),
            src.len(),
            refs.len()
        );
        Ok(path)
    }
}
