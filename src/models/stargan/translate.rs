//! Translating images with a trained StarGAN generator, as the reference's test mode does:
//! the generator is built from the training options, a reference checkpoint
//! (`<iters>-G.ckpt`, written by torch.save in the legacy or the zip format; the released
//! models were saved by PyTorch 0.3 and have no `num_batches_tracked`) or one of ours is
//! loaded as it is, and images are translated in training mode, as the reference does.

use super::labels::{celeba_targets, class_targets, Kind};
use super::nets::Generator;
use super::StarGanOptions;
use crate::autograd::no_grad;
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::load_any;
use crate::nn::ModuleExt;
use crate::tensor::Tensor;
use std::path::Path;

/// The reference's checkpoint file name for a network (`G` or `D`) after `iters`
/// iterations: `200000-G.ckpt`.
pub fn checkpoint_name(iters: usize, net: &str) -> String {
    format!("{iters}-{net}.ckpt")
}

/// The generator these options build, with the weights of `path` (a reference `N-G.ckpt`
/// or our `.safetensors`, told apart by content).
pub fn load_generator(d: &Device, options: &StarGanOptions, path: &Path) -> Result<Generator> {
    let g = options.generator(d)?;
    let tensors = load_any(path, None)?;
    g.load_state_dict(&tensors).map_err(|e| Error::File {
        path: path.display().to_string(),
        msg: format!(
            "does not fit the generator of --g-conv-dim {} --g-repeat-num {} with {} label inputs (--dataset {:?}, --c-dim {}, --c2-dim {}): {e}",
            options.g_conv_dim,
            options.g_repeat_num,
            options.generator_labels(),
            options.dataset,
            options.c_dim,
            options.c2_dim
        ),
    })?;
    Ok(g)
}

/// G(x, c) without a tape. Training mode, as the reference's test(): each image is
/// normalised with its own statistics (and the running statistics move, unread).
/// Shapes: x (N, 3, H, W), c (N, generator labels) → (N, 3, H, W).
pub fn translate(g: &Generator, x: &Tensor, c: &Tensor) -> Result<Tensor> {
    no_grad(|| g.forward(x, c))
}

/// The target label sets of the reference's `create_labels` for images whose own labels are
/// `c_org` (N rows of the first dataset's labels: CelebA attributes, or for RaFD anything
/// with N rows), padded to the generator's label vector: one set per selected attribute
/// (CelebA), per class (RaFD), or CelebA's sets then one per RaFD class (Both).
pub fn targets(options: &StarGanOptions, c_org: &Tensor) -> Result<Vec<Tensor>> {
    let (d, n) = (c_org.device(), c_org.shape()[0]);
    let mut out = Vec::new();
    for layout in options.layouts() {
        let sets = match layout.kind {
            Kind::Attributes => {
                if c_org.shape() != [n, layout.width] {
                    return Err(Error::ShapeMismatch {
                        op: "stargan create_labels",
                        lhs: c_org.shape().to_vec(),
                        rhs: vec![n, layout.width],
                    });
                }
                let host = c_org.to_vec()?;
                celeba_targets(&host, &options.selected_attrs)
                    .into_iter()
                    .map(|t| Tensor::from_slice(d, &t, &[n, layout.width]))
                    .collect::<Result<Vec<_>>>()?
            }
            Kind::Classes => class_targets(d, n, layout.width)?,
        };
        for c in sets {
            out.push(layout.generator_labels(&c)?);
        }
    }
    Ok(out)
}
