//! StarGAN's training data as the reference's `get_loader` builds it: CelebA (an image
//! folder and `list_attr_celeba.txt`, the train split of the reference's shuffle) or an
//! ImageFolder (RaFD, or any folder per class), each through CenterCrop, Resize and a
//! random flip; in Both mode one loader of each, advanced together.

use super::labels::{DomainBatch, Labels, StarGanBatch};
use crate::data::celeba::{CelebA, Split};
use crate::data::image_folder::ImageFolder;
use crate::data::labelled::{Label, LabelledBatch, LabelledLoader};
use crate::data::transforms::CenterCropResize;
use crate::data::Loader;
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::tensor::Tensor;
use std::path::{Path, PathBuf};

/// The `split` of a CelebA-layout set, labelled with the `selected` attributes.
pub fn celeba_items(
    image_dir: &Path,
    attr_path: &Path,
    selected: &[String],
    split: Split,
) -> Result<Vec<(PathBuf, Label)>> {
    let set = CelebA::load(image_dir, attr_path, selected, split)?;
    if set.items.is_empty() {
        return Err(Error::File {
            path: attr_path.display().to_string(),
            msg: format!(
                "lists no images for the {split:?} split: the reference keeps the first 1,999 shuffled lines for testing and trains on the rest"
            ),
        });
    }
    Ok(set.items.into_iter().map(|(p, l)| (p, Label::Attributes(l))).collect())
}

/// The images of a folder-per-class set and their class indices; `classes` (the
/// option's value and name, for the message) must equal the number of class folders.
pub fn folder_items(root: &Path, classes: (usize, &str)) -> Result<Vec<(PathBuf, Label)>> {
    let folder = ImageFolder::load(root)?;
    if folder.classes.len() != classes.0 {
        return Err(Error::File {
            path: root.display().to_string(),
            msg: format!(
                "has {} class folder(s) ({}) but {} is {}: one label per class folder, so the two must be equal",
                folder.classes.len(),
                folder.classes.join(", "),
                classes.1,
                classes.0
            ),
        });
    }
    Ok(folder.samples.into_iter().map(|(p, c)| (p, Label::Class(c))).collect())
}

/// One dataset's loader: its items, crop and the run's image size, batch and seed.
pub struct Source {
    pub items: Vec<(PathBuf, Label)>,
    pub crop: u32,
}

/// Batches for a StarGAN step: one dataset's, or CelebA's and RaFD's in Both mode.
pub struct StarGanLoader {
    first: LabelledLoader,
    second: Option<LabelledLoader>,
}

impl StarGanLoader {
    /// Loaders over `sources` (one, or CelebA then RaFD), starting at item `start`.
    pub fn new(
        sources: Vec<Source>,
        image_size: u32,
        batch: usize,
        seed: u64,
        start: u64,
        skip_bad: bool,
    ) -> Result<StarGanLoader> {
        let mut loaders = sources.into_iter().enumerate().map(|(k, s)| {
            let transform = CenterCropResize::new(s.crop, image_size, true)?;
            // The second dataset shuffles with a seed of its own.
            LabelledLoader::new(
                s.items,
                transform,
                batch,
                seed.wrapping_add(k as u64 * 7919),
                start,
                skip_bad,
            )
        });
        let first =
            loaders.next().ok_or_else(|| Error::Invalid { op: "stargan", msg: "no dataset".into() })??;
        let second = loaders.next().transpose()?;
        Ok(StarGanLoader { first, second })
    }
}

/// A labelled batch as a step takes it: attribute rows as one (N, k) tensor, or classes.
fn domain(d: &Device, b: LabelledBatch) -> Result<DomainBatch> {
    let n = b.labels.len();
    let labels = match b.labels.first() {
        Some(Label::Attributes(first)) => {
            let k = first.len();
            let mut rows = Vec::with_capacity(n * k);
            for l in &b.labels {
                if let Label::Attributes(v) = l {
                    rows.extend_from_slice(v);
                }
            }
            Labels::Attributes(Tensor::from_slice(d, &rows, &[n, k])?)
        }
        _ => Labels::Classes(b.labels.iter().map(|l| if let Label::Class(c) = l { *c } else { 0 }).collect()),
    };
    Ok(DomainBatch { images: b.images, labels })
}

impl Loader for StarGanLoader {
    type Batch = StarGanBatch;

    fn describe(&self) -> String {
        match &self.second {
            None => self.first.describe(),
            Some(second) => format!("CelebA {}, RaFD {}", self.first.describe(), second.describe()),
        }
    }

    fn steps_per_epoch(&self) -> usize {
        self.first.steps_per_epoch()
    }

    fn next_batch(&mut self, d: &Device) -> Result<StarGanBatch> {
        let first = domain(d, self.first.next_batch(d)?)?;
        match &mut self.second {
            None => Ok(StarGanBatch::Single(first)),
            Some(second) => Ok(StarGanBatch::Both { celeba: first, rafd: domain(d, second.next_batch(d)?)? }),
        }
    }

    /// Both loaders take a batch per step, so they stand at the same position (unless
    /// --skip-bad-images skipped an image in one: a resume then restarts the second loader
    /// at the first one's position, off by the skipped images).
    fn position(&self) -> u64 {
        self.first.position()
    }
}
