//! `gantry translate stargan`: one label vector for every input image (`--target`), or
//! the reference's test mode (`--attr-path`): CelebA's test split, each batch translated
//! to every target of `create_labels` and written as `<i>-images.jpg`.

use super::labels::Kind;
use super::train::ModelArgs;
use super::translate::{load_generator, targets, translate};
use super::{Dataset, StarGanOptions};
use crate::data::celeba::{read_split, Split};
use crate::data::rng::HostRng;
use crate::data::transforms::CenterCropResize;
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::image::{image_files, read_rgb, save_png};
use crate::models::image2image::args::positive;
use crate::nn::Module;
use crate::tensor::Tensor;
use std::path::{Path, PathBuf};

/// StarGAN v1 translation with a trained generator.
#[derive(clap::Args, Clone, Debug)]
pub struct TranslateArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The generator's weights: the reference's <iter>-G.ckpt (torch.save of the state
    /// dict, legacy or zip format) or ours (<iter>_net_G.safetensors, latest_net_G…).
    #[arg(long)]
    pub weights: PathBuf,
    /// An image or a folder of images; with --attr-path, CelebA's image folder.
    #[arg(long)]
    pub input: PathBuf,
    /// Where the translations go: <stem>.png per input, or <i>-images.jpg grids.
    #[arg(long)]
    pub output: PathBuf,
    /// The target labels for every input: CelebA attributes as 0/1 values in
    /// --selected-attrs order (e.g. 0,1,0,1,1), or a class index (RaFD). In Both mode,
    /// c-dim values mean CelebA attributes and one index a RaFD class.
    #[arg(long, allow_hyphen_values = true)]
    pub target: Option<String>,
    /// CelebA's attribute file: translate its test split (the reference's split) to every
    /// target of the reference's create_labels, one grid per batch.
    #[arg(long)]
    pub attr_path: Option<PathBuf>,
    /// Images per grid with --attr-path.
    #[arg(long, default_value_t = 16, value_parser = positive)]
    pub batch_size: usize,
    /// Centre crop before resizing to --image-size [default: 178 with --attr-path, the
    /// reference's CelebA crop; otherwise the largest centred square].
    #[arg(long, alias = "celeba-crop-size", value_parser = positive)]
    pub crop_size: Option<usize>,
    /// Normalise with the running statistics. The reference never calls eval(), so by
    /// default each image is normalised with its own statistics, as there.
    #[arg(long)]
    pub eval: bool,
}

impl TranslateArgs {
    /// Translates; returns the files written.
    pub fn run(&self, d: &Device) -> Result<Vec<PathBuf>> {
        // No discriminator is built: one stride-2 layer keeps validate() from checking
        // --image-size against a discriminator's depth.
        let base = StarGanOptions { d_repeat_num: 1, ..StarGanOptions::default() };
        let o = self.model.apply(false, base);
        if o.dataset != Dataset::RaFD {
            crate::data::celeba::check_c_dim(&o.selected_attrs, o.c_dim)?;
        }
        o.validate()?;
        let task = match (&self.target, &self.attr_path) {
            (Some(t), None) => Task::Target(parse_target(d, &o, t)?),
            (None, Some(_)) if o.dataset == Dataset::RaFD => {
                return Err(invalid("--attr-path reads CelebA's attributes; with --dataset RaFD give --target CLASS"))
            }
            (None, Some(a)) => Task::Grid(a.clone()),
            (Some(_), Some(_)) => return Err(invalid("give --target or --attr-path, not both")),
            (None, None) => {
                return Err(invalid(
                    "give --target (one label vector for every image) or --attr-path (the reference's test grids)",
                ))
            }
        };
        let g = load_generator(d, &o, &self.weights)?;
        g.set_training(!self.eval);
        std::fs::create_dir_all(&self.output)
            .map_err(|e| Error::File { path: self.output.display().to_string(), msg: e.to_string() })?;
        match task {
            Task::Target(c) => self.each_image(d, &g, &o, &c),
            Task::Grid(attrs) => self.grids(d, &g, &o, &attrs),
        }
    }

    /// `--target`: every input translated to one label vector, `<stem>.png` each.
    fn each_image(
        &self,
        d: &Device,
        g: &super::Generator,
        o: &StarGanOptions,
        c: &Tensor,
    ) -> Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        let files = image_files(&self.input)?;
        let names = crate::models::image2image::translate::output_names(&files);
        for (file, name) in files.iter().zip(names) {
            let img = read_rgb(file)?;
            let crop = self.crop_size.map_or(img.width().min(img.height()), |c| c as u32);
            let (v, [h, w]) = CenterCropResize::new(crop, o.image_size as u32, false)?.apply(&img, false);
            let x = Tensor::from_slice(d, &v, &[1, 3, h, w])?;
            let path = self.output.join(name);
            save_png(&path, &translate(g, &x, c)?)?;
            written.push(path);
        }
        Ok(written)
    }

    /// `--attr-path`: the reference's test(): grids of [x, G(x, c_1), …] per batch.
    fn grids(
        &self,
        d: &Device,
        g: &super::Generator,
        o: &StarGanOptions,
        attrs: &Path,
    ) -> Result<Vec<PathBuf>> {
        let entries = read_split(attrs, &o.selected_attrs, Split::Test)?;
        let crop = self.crop_size.unwrap_or(178) as u32;
        let transform = CenterCropResize::new(crop, o.image_size as u32, false)?;
        let names: Vec<String> = std::iter::once("input".to_string())
            .chain(o.layouts().iter().flat_map(|l| match l.kind {
                Kind::Attributes => o.selected_attrs.clone(),
                Kind::Classes => (0..l.width).map(|k| format!("class {k}")).collect(),
            }))
            .collect();
        let mut written = Vec::new();
        for (i, chunk) in entries.chunks(self.batch_size).enumerate() {
            let mut data = Vec::new();
            for e in chunk {
                let path = self.input.join(&e.filename);
                data.extend(transform.load(&path, &mut HostRng::new(0))?.0);
            }
            let s = o.image_size;
            let x = Tensor::from_slice(d, &data, &[chunk.len(), 3, s, s])?;
            let own: Vec<f32> = chunk.iter().flat_map(|e| e.labels.clone()).collect();
            let c_org = Tensor::from_slice(d, &own, &[chunk.len(), o.c_dim])?;
            let mut columns = vec![x.clone()];
            for c in targets(o, &c_org)? {
                columns.push(translate(g, &x, &c)?);
            }
            let rows: Vec<Vec<(String, Tensor)>> = (0..chunk.len())
                .map(|r| {
                    names.iter().zip(&columns).map(|(n, t)| Ok((n.clone(), t.narrow(0, r, 1)?))).collect()
                })
                .collect::<Result<_>>()?;
            let path = self.output.join(format!("{}-images.jpg", i + 1));
            crate::train::grid::save(&path, &rows)?;
            written.push(path);
        }
        Ok(written)
    }
}

enum Task {
    Target(Tensor),
    Grid(PathBuf),
}

fn invalid(msg: &str) -> Error {
    Error::Invalid { op: "translate stargan", msg: msg.to_string() }
}

/// `--target` as the generator's label row (1, labels).
fn parse_target(d: &Device, o: &StarGanOptions, text: &str) -> Result<Tensor> {
    let values: Vec<f32> = text
        .split(',')
        .map(|v| v.trim().parse::<f32>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| {
            invalid(&format!("--target {text:?} is not a list of numbers like 1,0,0,1,1 or a class index"))
        })?;
    let layouts = o.layouts();
    let (layout, row) = match (o.dataset, values.as_slice()) {
        (Dataset::CelebA, _) | (Dataset::Both, [_, _, ..]) => {
            if values.len() != o.c_dim || values.iter().any(|&v| v != 0.0 && v != 1.0) {
                return Err(invalid(&format!(
                    "--target {text:?} must be {} values of 0 or 1, one per selected attribute ({})",
                    o.c_dim,
                    o.selected_attrs.join(" ")
                )));
            }
            (layouts[0], values)
        }
        (_, &[class]) => {
            let layout = *layouts.last().expect("every dataset has a layout");
            if class < 0.0 || class.fract() != 0.0 || class as usize >= layout.width {
                return Err(invalid(&format!(
                    "--target {text:?}: a class index must be one of 0..{} (--c-dim / --c2-dim)",
                    layout.width - 1
                )));
            }
            let mut row = vec![0.0; layout.width];
            row[class as usize] = 1.0;
            (layout, row)
        }
        (Dataset::RaFD, _) => {
            if values.len() != o.c_dim || values.iter().filter(|&&v| v == 1.0).count() != 1 {
                return Err(invalid(&format!(
                    "--target {text:?} must be a class index or {} values, one of them 1",
                    o.c_dim
                )));
            }
            (layouts[0], values)
        }
        (Dataset::Both, _) => unreachable!("a list of two or more values is matched above"),
    };
    let width = row.len();
    layout.generator_labels(&Tensor::from_slice(d, &row, &[1, width])?)
}
