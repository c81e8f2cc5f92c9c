//! The built-in sets' scores: how well a generator translates the test images to every
//! target of the reference's `create_labels`, read back without a learned model
//! (`synth_celeba::measure`, `synth::recolour_score`), and how much of the rest of each
//! image it keeps.

use super::nets::Generator;
use super::translate::{targets, translate};
use super::{Dataset, StarGanOptions};
use crate::data::celeba::{read_split, Split};
use crate::data::image_folder::ImageFolder;
use crate::data::rng::HostRng;
use crate::data::synth::{recolour_score, CLASSES};
use crate::data::synth_celeba::{kept, measure, ATTRIBUTES};
use crate::data::transforms::CenterCropResize;
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::image::to_rgb;
use crate::tensor::Tensor;
use image::RgbImage;
use std::path::{Path, PathBuf};

/// The side of the built-in sets' images.
pub const SIZE: u32 = 32;

/// Test images scored (per class for the folder-per-class set).
const SCORED: usize = 64;

/// Where a run keeps its built-in CelebA-layout set.
pub fn celeba_root(run_dir: &Path) -> PathBuf {
    run_dir.join("synthetic").join("celeba")
}

/// Where a run keeps its built-in folder-per-class set.
pub fn classes_root(run_dir: &Path) -> PathBuf {
    run_dir.join("synthetic").join("classes")
}

/// The built-in set draws only CelebA's five default attributes.
pub fn check_attributes(selected: &[String]) -> Result<()> {
    match selected.iter().find(|s| !ATTRIBUTES.contains(&s.as_str())) {
        None => Ok(()),
        Some(s) => Err(Error::Invalid {
            op: "stargan",
            msg: format!(
                "the built-in set draws only {} (--selected-attrs names {s}); give --celeba-image-dir and --attr-path to train on other attributes",
                ATTRIBUTES.join(" ")
            ),
        }),
    }
}

/// A score: the share of translations whose every target label came out right (for the
/// folder-per-class set, the share of shape pixels recoloured right), and the share of
/// the rest of the image kept.
#[derive(Clone, Copy, Debug)]
pub struct Score {
    pub right: f32,
    pub kept: f32,
}

/// Images (N, 3, S, S) from files through the test transform, and as they went in.
fn load(d: &Device, files: &[PathBuf], transform: CenterCropResize) -> Result<(Tensor, Vec<RgbImage>)> {
    if files.is_empty() {
        return Err(Error::Invalid { op: "stargan", msg: "the built-in test set has no images".into() });
    }
    let mut data = Vec::new();
    let mut side = 0;
    for f in files {
        let (v, [h, _]) = transform.load(f, &mut HostRng::new(0))?;
        side = h;
        data.extend(v);
    }
    let x = Tensor::from_slice(d, &data, &[files.len(), 3, side, side])?;
    let shown = (0..files.len()).map(|i| to_rgb(&x.narrow(0, i, 1)?)).collect::<Result<_>>()?;
    Ok((x, shown))
}

/// The CelebA-layout set's score on the first test images of the reference's split.
pub fn celeba_score(d: &Device, g: &Generator, o: &StarGanOptions, crop: u32, root: &Path) -> Result<Score> {
    let attrs = root.join("list_attr_celeba.txt");
    let entries = read_split(&attrs, &o.selected_attrs, Split::Test)?;
    let entries = &entries[..SCORED.min(entries.len())];
    let files: Vec<PathBuf> = entries.iter().map(|e| root.join("images").join(&e.filename)).collect();
    let transform = CenterCropResize::new(crop, o.image_size as u32, false)?;
    let (x, inputs) = load(d, &files, transform)?;
    let k = o.selected_attrs.len();
    let own: Vec<f32> = entries.iter().flat_map(|e| e.labels.clone()).collect();
    let c_org = Tensor::from_slice(d, &own, &[entries.len(), k])?;
    let columns: Vec<usize> =
        o.selected_attrs.iter().map(|s| ATTRIBUTES.iter().position(|a| a == s).unwrap_or(0)).collect();
    let (mut right, mut kept_sum, mut n) = (0usize, 0f32, 0usize);
    for c in targets(o, &c_org)? {
        let wanted = c.to_vec()?;
        let out = translate(g, &x, &c)?;
        for (i, input) in inputs.iter().enumerate() {
            let img = to_rgb(&out.narrow(0, i, 1)?)?;
            let seen = measure(&img);
            let ok =
                columns.iter().enumerate().all(|(j, &a)| seen[a] == (wanted[i * c.shape()[1] + j] > 0.5));
            right += usize::from(ok);
            kept_sum += kept(input, &img);
            n += 1;
        }
    }
    Ok(Score { right: right as f32 / n as f32, kept: kept_sum / n as f32 })
}

/// The folder-per-class set's score on its test images, translated to every class.
pub fn classes_score(d: &Device, g: &Generator, o: &StarGanOptions, crop: u32, root: &Path) -> Result<Score> {
    let folder = ImageFolder::load(&root.join("test"))?;
    let mut per_class = vec![0; folder.classes.len()];
    let files: Vec<PathBuf> = folder
        .samples
        .iter()
        .filter(|(_, c)| {
            per_class[*c] += 1;
            per_class[*c] <= SCORED / CLASSES.len()
        })
        .map(|(p, _)| p.clone())
        .collect();
    let (x, inputs) = load(d, &files, CenterCropResize::new(crop, o.image_size as u32, false)?)?;
    let (mut right, mut kept_sum, mut count) = (0f32, 0f32, 0f32);
    for (class, (_, channel)) in CLASSES.iter().enumerate() {
        let c = super::labels::one_hot(d, &vec![class; files.len()], CLASSES.len())?;
        let out = translate(g, &x, &c)?;
        for (i, input) in inputs.iter().enumerate() {
            let (shape, background) = recolour_score(input, &to_rgb(&out.narrow(0, i, 1)?)?, *channel);
            right += shape;
            kept_sum += background;
            count += 1.0;
        }
    }
    Ok(Score { right: right / count, kept: kept_sum / count })
}

/// Prints the score after training beside the one before (None when resumed).
pub fn print_score(dataset: Dataset, before: Option<Score>, after: Score) {
    let was =
        |f: fn(&Score) -> f32| before.map(|b| format!(" (before training {:.2})", f(&b))).unwrap_or_default();
    match dataset {
        Dataset::RaFD => println!(
            "test images to every class: shapes recoloured {:.2}{}, background kept {:.2}{}; perfect is 1.00 and 1.00",
            after.right,
            was(|s| s.right),
            after.kept,
            was(|s| s.kept)
        ),
        _ => println!(
            "test images to every target: all attributes right {:.2}{}, background and mark kept {:.2}{}; perfect is 1.00 and 1.00",
            after.right,
            was(|s| s.right),
            after.kept,
            was(|s| s.kept)
        ),
    }
}
