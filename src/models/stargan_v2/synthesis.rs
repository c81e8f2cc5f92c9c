//! Synthesis with the EMA networks (core/utils.py): a style from the style encoder on a
//! reference image, or from the mapping network on a latent code, optionally truncated
//! toward the domain's average style; then the generator on the source images.

use super::{MaskNet, Nets};
use crate::autograd::no_grad;
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::tensor::Tensor;

/// The codes the reference averages for truncation (`translate_using_latent`).
pub const AVERAGE_OVER: usize = 10_000;

/// The mean style of `domain` over `count` random codes: [1, style_dim]. Runs in chunks
/// of 1000 codes.
pub fn average_style(nets: &Nets, domain: usize, count: usize, d: &Device) -> Result<Tensor> {
    let latent = nets.mapping_network.latent_dim;
    no_grad(|| {
        let mut sum: Option<Tensor> = None;
        let mut left = count;
        while left > 0 {
            let n = left.min(1000);
            let z = Tensor::randn(d, &[n, latent])?;
            let part = average_of(nets, &z, domain)?.mul_scalar(n as f32)?;
            sum = Some(match sum {
                Some(s) => s.add(&part)?,
                None => part,
            });
            left -= n;
        }
        sum.expect("count > 0").mul_scalar(1.0 / count as f32)
    })
}

/// The mean style of `domain` over the given codes z [n, latent_dim]: [1, style_dim].
pub fn average_of(nets: &Nets, z: &Tensor, domain: usize) -> Result<Tensor> {
    no_grad(|| nets.mapping_network.forward(z, &vec![domain; z.shape()[0]])?.mean(&[0], true))
}

/// s_avg + ψ·(s − s_avg), the reference's `torch.lerp(s_avg, s, psi)`.
pub fn truncate(s: &Tensor, s_avg: &Tensor, psi: f32) -> Result<Tensor> {
    s_avg.add(&s.sub(s_avg)?.mul_scalar(psi)?)
}

/// Styles of reference images `x_ref` of domains `y`: [n, style_dim].
pub fn reference_styles(nets: &Nets, x_ref: &Tensor, y: &[usize]) -> Result<Tensor> {
    no_grad(|| nets.style_encoder.forward(x_ref, y))
}

/// Styles of latent codes z [n, latent_dim] for domains `y`: [n, style_dim].
pub fn latent_styles(nets: &Nets, z: &Tensor, y: &[usize]) -> Result<Tensor> {
    if z.rank() != 2 || z.shape()[1] != nets.mapping_network.latent_dim {
        return Err(Error::Invalid {
            op: "stargan-v2",
            msg: format!(
                "latent codes of shape {:?}: the mapping network takes [rows, {}]",
                z.shape(),
                nets.mapping_network.latent_dim
            ),
        });
    }
    no_grad(|| nets.mapping_network.forward(z, y))
}

/// G(src, s) with the masks of `src` when the generator takes them.
pub fn generate(nets: &Nets, fan: Option<&dyn MaskNet>, src: &Tensor, s: &Tensor) -> Result<Tensor> {
    no_grad(|| {
        let masks =
            match (nets.generator.hpf.is_some(), fan) {
                (false, _) => None,
                (true, Some(fan)) => Some(fan.get_heatmap(src)?),
                (true, None) => return Err(Error::Invalid {
                    op: "stargan-v2",
                    msg:
                        "this generator has w_hpf above 0 and needs the FAN masks: give --wing-path wing.ckpt"
                            .into(),
                }),
            };
        nets.generator.forward(src, s, masks.as_ref())
    })
}
