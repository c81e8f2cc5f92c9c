//! What a StarGAN step consumes, the random draws it makes, and the label vectors the
//! generator and the classifier see: the reference's `label2onehot`, its Both-mode
//! padding with zeros and a mask vector, and `create_labels` for sample rows.

use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::tensor::Tensor;

/// A batch's domain labels, as the loaders give them.
#[derive(Clone)]
pub enum Labels {
    /// Attribute values 0 or 1, (N, attributes), several per image (CelebA).
    Attributes(Tensor),
    /// One class index per image (RaFD, or any ImageFolder).
    Classes(Vec<usize>),
}

impl Labels {
    pub fn len(&self) -> usize {
        match self {
            Labels::Attributes(t) => t.shape().first().copied().unwrap_or(0),
            Labels::Classes(c) => c.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One dataset's images, (N, 3, image_size, image_size) in [-1, 1], and their labels.
#[derive(Clone)]
pub struct DomainBatch {
    pub images: Tensor,
    pub labels: Labels,
}

/// What one training step consumes: one dataset's batch (`--dataset CelebA` or `RaFD`),
/// or for `--dataset Both` a CelebA batch and a RaFD batch, trained in that order.
#[derive(Clone)]
pub enum StarGanBatch {
    Single(DomainBatch),
    Both { celeba: DomainBatch, rafd: DomainBatch },
}

impl StarGanBatch {
    /// The step's passes in order, each with the kind of labels it must carry.
    pub(crate) fn passes(&self) -> Vec<&DomainBatch> {
        match self {
            StarGanBatch::Single(b) => vec![b],
            StarGanBatch::Both { celeba, rafd } => vec![celeba, rafd],
        }
    }
}

/// The random draws of one dataset pass: the permutation that picks each image's target
/// labels among the batch's own (`label_trg = label_org[permutation]`), and the per-image
/// α of the gradient penalty's interpolation x̂ = α·x + (1 − α)·G(x, c).
#[derive(Clone, Debug, PartialEq)]
pub struct Draws {
    pub permutation: Vec<usize>,
    pub alpha: Vec<f32>,
}

impl Draws {
    /// Checks that these draws fit a batch of `n`.
    pub(crate) fn check(&self, n: usize) -> Result<()> {
        let mut seen = vec![false; n];
        let is_permutation = self.permutation.len() == n
            && self.permutation.iter().all(|&i| i < n && !std::mem::replace(&mut seen[i], true));
        if !is_permutation || self.alpha.len() != n {
            return Err(Error::Invalid {
                op: "stargan draws",
                msg: format!(
                    "a batch of {n} needs a permutation of 0..{n} and {n} alphas, got {:?} and {} alphas",
                    self.permutation,
                    self.alpha.len()
                ),
            });
        }
        Ok(())
    }
}

/// One-hot rows (N, width) for class indices: the reference's `label2onehot`.
pub fn one_hot(d: &Device, classes: &[usize], width: usize) -> Result<Tensor> {
    if let Some(&c) = classes.iter().find(|&&c| c >= width) {
        return Err(Error::Invalid {
            op: "stargan labels",
            msg: format!("class {c} does not exist: the model has {width} classes (--c-dim / --c2-dim)"),
        });
    }
    let mut v = vec![0f32; classes.len() * width];
    for (i, &c) in classes.iter().enumerate() {
        v[i * width + c] = 1.0;
    }
    Tensor::from_slice(d, &v, &[classes.len(), width])
}

/// Which of the two label layouts a pass uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Multi-label attributes (CelebA).
    Attributes,
    /// One class per image (RaFD).
    Classes,
}

/// Where a pass's labels sit in the generator's label vector and the classifier's logits:
/// alone (one dataset), or in Both mode `[CelebA c_dim | RaFD c2_dim | mask 2]` for G and
/// `[CelebA | RaFD]` for D, the mask being [1, 0] for CelebA and [0, 1] for RaFD.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    pub kind: Kind,
    /// The first logit of this dataset and how many it has.
    pub offset: usize,
    pub width: usize,
    /// (c_dim, c2_dim) in Both mode.
    pub both: Option<(usize, usize)>,
}

impl Layout {
    /// Labels (N, width) padded to the generator's label vector.
    pub fn generator_labels(&self, c: &Tensor) -> Result<Tensor> {
        let Some((c_dim, c2_dim)) = self.both else { return Ok(c.clone()) };
        let (d, n) = (c.device(), c.shape()[0]);
        let mask = one_hot(d, &vec![usize::from(self.kind == Kind::Classes); n], 2)?;
        let parts = match self.kind {
            Kind::Attributes => [c.clone(), Tensor::zeros(d, &[n, c2_dim])?, mask],
            Kind::Classes => [Tensor::zeros(d, &[n, c_dim])?, c.clone(), mask],
        };
        Tensor::concat(&parts, 1)
    }

    /// This dataset's logits among D's.
    pub fn own_logits(&self, logits: &Tensor) -> Result<Tensor> {
        if self.both.is_none() {
            return Ok(logits.clone());
        }
        logits.narrow(1, self.offset, self.width)
    }

    /// The labels as float rows (N, width): attributes as they are, classes one-hot.
    pub fn rows(&self, labels: &Labels, d: &Device) -> Result<Tensor> {
        let bad = |what: &str| Error::Invalid {
            op: "stargan labels",
            msg: format!("this pass expects {what} ({} per image)", self.width),
        };
        match (self.kind, labels) {
            (Kind::Attributes, Labels::Attributes(t)) if t.rank() == 2 && t.shape()[1] == self.width => {
                Ok(t.clone())
            }
            (Kind::Attributes, _) => Err(bad("attribute values")),
            (Kind::Classes, Labels::Classes(c)) => one_hot(d, c, self.width),
            (Kind::Classes, _) => Err(bad("class indices")),
        }
    }
}

/// The attributes `create_labels` treats as one hair colour among several.
const HAIR_COLOURS: [&str; 4] = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair"];

/// The reference's `create_labels` for CelebA: one target per selected attribute; a hair
/// colour becomes the only hair colour set, any other attribute is flipped.
/// `c_org` holds N rows of `selected.len()` values; returns that many sets of N rows.
pub fn celeba_targets(c_org: &[f32], selected: &[String]) -> Vec<Vec<f32>> {
    let k = selected.len();
    let hair: Vec<usize> = (0..k).filter(|&i| HAIR_COLOURS.contains(&selected[i].as_str())).collect();
    (0..k)
        .map(|i| {
            let mut t = c_org.to_vec();
            for row in t.chunks_mut(k) {
                if hair.contains(&i) {
                    hair.iter().for_each(|&j| row[j] = 0.0);
                    row[i] = 1.0;
                } else {
                    row[i] = if row[i] == 0.0 { 1.0 } else { 0.0 };
                }
            }
            t
        })
        .collect()
}

/// The reference's `create_labels` for RaFD: for each class, every image one-hot on it.
pub fn class_targets(d: &Device, n: usize, classes: usize) -> Result<Vec<Tensor>> {
    (0..classes).map(|c| one_hot(d, &vec![c; n], classes)).collect()
}
