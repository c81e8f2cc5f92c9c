//! The generator a checkpoint holds, read from its keys and shapes, so that `translate`
//! needs no architecture flags for a reference `.pth` or one of ours: ResNet generators
//! by their `model.K.conv_block` blocks, U-Nets by how deeply `model.` nests; the width
//! and channel counts from the first and last convolutions; the norm from running
//! statistics (batch) or a bias on the first convolution (instance; the reference gives
//! convolutions a bias only then).

use super::nets::NormKind;
use super::options::NetG;
use crate::io::NamedTensors;

/// What a checkpoint says about its generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inferred {
    pub net_g: NetG,
    pub ngf: usize,
    pub norm: NormKind,
    pub input_nc: usize,
    pub output_nc: usize,
}

/// The generator of `tensors`, or None when they are not a generator this project builds.
pub fn infer(tensors: &NamedTensors) -> Option<Inferred> {
    let shape = |name: &str| tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t.shape.clone());
    let has = |suffix: &str| tensors.iter().any(|(n, _)| n.ends_with(suffix));
    let batch = has("running_mean");
    if let Some(first) = shape("model.model.0.weight") {
        let levels = tensors.iter().map(|(n, _)| n.matches("model.").count()).max()? - 1;
        let net_g = match levels {
            7 => NetG::Unet128,
            8 => NetG::Unet256,
            _ => return None,
        };
        let last = shape("model.model.3.weight")?; // ConvTranspose2d: [in, out, k, k]
        let norm = norm(batch, shape("model.model.0.bias").is_some());
        return Some(Inferred { net_g, ngf: first[0], norm, input_nc: first[1], output_nc: *last.get(1)? });
    }
    let first = shape("model.1.weight")?;
    let mut blocks: Vec<usize> = tensors
        .iter()
        .filter_map(|(n, _)| n.strip_prefix("model.")?.split_once(".conv_block")?.0.parse().ok())
        .collect();
    blocks.sort_unstable();
    blocks.dedup();
    let net_g = match blocks.len() {
        9 => NetG::Resnet9,
        6 => NetG::Resnet6,
        _ => return None,
    };
    let last = tensors
        .iter()
        .filter_map(|(n, t)| {
            let k: usize = n.strip_prefix("model.")?.strip_suffix(".weight")?.parse().ok()?;
            (t.shape.len() == 4).then_some((k, t.shape[0]))
        })
        .max()?;
    let norm = norm(batch, shape("model.1.bias").is_some());
    Some(Inferred { net_g, ngf: first[0], norm, input_nc: first[1], output_nc: last.1 })
}

fn norm(batch: bool, first_conv_bias: bool) -> NormKind {
    match (batch, first_conv_bias) {
        (true, _) => NormKind::Batch,
        (false, true) => NormKind::Instance,
        (false, false) => NormKind::None,
    }
}
