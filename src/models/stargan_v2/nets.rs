//! StarGAN v2's four networks (core/model.py): the generator with its optional mask path,
//! the mapping network F, the style encoder E and the multi-task discriminator D; their
//! He initialisation. State-dict names are the reference's.

use super::blocks::{AdainResBlk, HighPass, ResBlk, SLOPE};
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::nn::module::visit_child;
use crate::nn::{init, Activation, Conv2d, Layer, Linear, Module, Norm, Role, Sequential};
use crate::ops::conv2d::Conv2d as ConvOpts;
use crate::tensor::Tensor;

/// The image sides StarGAN v2 builds: powers of two from 32 (below, the generator has no
/// down-sampling block and the reference fails).
pub fn check_size(img_size: usize) -> Result<()> {
    if img_size.is_power_of_two() && (32..=16384).contains(&img_size) {
        return Ok(());
    }
    Err(Error::Invalid {
        op: "stargan-v2",
        msg: format!(
            "--img-size {img_size} is not supported: use a power of two from 32 (the reference trains 256)"
        ),
    })
}

/// The base width: 2¹⁴ / img_size (64 at 256 px), capped by max_conv_dim.
fn base_width(img_size: usize, max_conv_dim: usize) -> usize {
    (16384 / img_size).min(max_conv_dim)
}

/// Each sample's row of its domain from `stacked` [n, K, width], as the reference's
/// `out[idx, y]`: [n, width].
fn pick_rows(stacked: &Tensor, y: &[usize]) -> Result<Tensor> {
    let [n, domains, width] = [stacked.shape()[0], stacked.shape()[1], stacked.shape()[2]];
    if let Some(&bad) = y.iter().find(|&&k| k >= domains) {
        return Err(Error::Invalid {
            op: "stargan-v2",
            msg: format!("domain {bad} asked of a network with {domains} domains (0-{})", domains - 1),
        });
    }
    if y.len() != n {
        return Err(Error::Invalid {
            op: "stargan-v2",
            msg: format!("{} domain labels for a batch of {n}", y.len()),
        });
    }
    let rows: Vec<usize> = y.iter().enumerate().map(|(i, &k)| i * domains + k).collect();
    stacked.reshape(&[n * domains, width])?.index_select(0, &rows)
}

/// Per-domain head outputs (each [n, width]) stacked to [n, K, width], then picked.
fn pick(outs: &[Tensor], y: &[usize]) -> Result<Tensor> {
    let [n, width] = [outs[0].shape()[0], outs[0].shape()[1]];
    let stacked =
        Tensor::concat(&outs.iter().map(|o| o.reshape(&[n, 1, width])).collect::<Result<Vec<_>>>()?, 1)?;
    pick_rows(&stacked, y)
}

/// He initialisation (`utils.he_init`): every conv and linear weight ~ kaiming_normal
/// (fan_in, ReLU), every conv and linear bias 0. IN affine parameters keep 1 and 0, and
/// the high-pass filter is a buffer.
pub fn he_init(net: &dyn Module) -> Result<()> {
    let mut params: Vec<(String, Tensor)> = Vec::new();
    net.visit(&mut |name, t, role| {
        if role == Role::Parameter {
            params.push((name.to_string(), t.clone()))
        }
    });
    for (name, t) in &params {
        // Weights of convs and linears have rank 2 or 4; IN weights and every bias rank 1.
        if name.ends_with("weight") && t.rank() >= 2 {
            init::kaiming_normal(t, 0.0)?;
        } else if name.ends_with("bias") {
            let stem = name.strip_suffix("bias").unwrap();
            let weight = params.iter().find(|(n, _)| *n == format!("{stem}weight"));
            if weight.is_none_or(|(_, w)| w.rank() >= 2) {
                init::constant(t, 0.0)?;
            }
        }
    }
    Ok(())
}

/// The generator G(x, s): an encoder of ResBlks, a decoder of AdainResBlks steered by the
/// style s, to_rgb without tanh. With w_hpf > 0 one more down/up pair, and the mask path.
pub struct Generator {
    pub img_size: usize,
    pub style_dim: usize,
    pub w_hpf: f32,
    pub from_rgb: Conv2d,
    pub encode: Vec<ResBlk>,
    pub decode: Vec<AdainResBlk>,
    pub to_rgb: Sequential,
    pub hpf: Option<HighPass>,
}

impl Generator {
    /// PyTorch's default initialisation (call `he_init` for the reference's training init).
    pub fn new(
        d: &Device,
        img_size: usize,
        style_dim: usize,
        max_conv_dim: usize,
        w_hpf: f32,
    ) -> Result<Generator> {
        check_size(img_size)?;
        let mut dim_in = base_width(img_size, max_conv_dim);
        let first = dim_in;
        let mut repeat = img_size.trailing_zeros() as usize - 4;
        if w_hpf > 0.0 {
            repeat += 1;
        }
        let (mut encode, mut decode) = (Vec::new(), Vec::new());
        let mut dim_out = dim_in;
        for _ in 0..repeat {
            dim_out = (dim_in * 2).min(max_conv_dim);
            encode.push(ResBlk::new(d, dim_in, dim_out, true, true)?);
            decode.insert(0, AdainResBlk::new(d, dim_out, dim_in, style_dim, w_hpf, true)?);
            dim_in = dim_out;
        }
        for _ in 0..2 {
            encode.push(ResBlk::new(d, dim_out, dim_out, true, false)?);
            decode.insert(0, AdainResBlk::new(d, dim_out, dim_out, style_dim, w_hpf, false)?);
        }
        let to_rgb = Sequential::new()
            .push(Norm::instance(d, first, true, false)?)
            .push(Activation::LeakyRelu(SLOPE))
            .push(Conv2d::new(d, first, 3, 1, ConvOpts::default(), true)?);
        Ok(Generator {
            img_size,
            style_dim,
            w_hpf,
            from_rgb: Conv2d::new(d, 3, first, 3, ConvOpts::default().padding(1), true)?,
            encode,
            decode,
            to_rgb,
            hpf: if w_hpf > 0.0 { Some(HighPass::new(d, w_hpf)?) } else { None },
        })
    }

    /// Shapes: x [n, 3, S, S], s [n, style_dim], masks (w_hpf > 0) two [n, 1, h, w] maps →
    /// [n, 3, S, S]. Encoder inputs of side 32, 64 and 128 are kept; after each decoder
    /// block of those sides, x += HPF(mask ⊙ kept), the mask resized bilinearly (the
    /// first mask at 32, the second at 64 and 128).
    pub fn forward(&self, x: &Tensor, s: &Tensor, masks: Option<&[Tensor; 2]>) -> Result<Tensor> {
        let s_img = self.img_size;
        if x.rank() != 4 || x.shape()[1..] != [3, s_img, s_img] || s.shape() != [x.shape()[0], self.style_dim]
        {
            return Err(Error::Invalid {
                op: "stargan-v2",
                msg: format!(
                    "the generator takes images [n, 3, {s_img}, {s_img}] and styles [n, {}], not {:?} and {:?}",
                    self.style_dim,
                    x.shape(),
                    s.shape()
                ),
            });
        }
        let hpf = match (masks, &self.hpf) {
            (Some(_), None) => {
                return Err(Error::Invalid {
                    op: "stargan-v2",
                    msg: "masks given to a generator with w_hpf 0".into(),
                })
            }
            (Some(m), Some(h)) => Some((m, h)),
            (None, _) => None,
        };
        let mut x = self.from_rgb.forward(x)?;
        let mut cache: Vec<(usize, Tensor)> = Vec::new();
        for block in &self.encode {
            let side = x.shape()[2];
            if hpf.is_some() && [32, 64, 128].contains(&side) {
                cache.push((side, x.clone()));
            }
            x = block.forward(&x)?;
        }
        for block in &self.decode {
            x = block.forward(&x, s)?;
            let side = x.shape()[2];
            if let Some((masks, hpf)) = hpf {
                if [32, 64, 128].contains(&side) {
                    let mask = if side == 32 { &masks[0] } else { &masks[1] };
                    let mask = mask.resize_bilinear(side, side)?;
                    let kept =
                        &cache.iter().find(|(c, _)| *c == side).expect("an encoder input of this side").1;
                    x = x.add(&hpf.forward(&mask.mul(kept)?)?)?;
                }
            }
        }
        self.to_rgb.forward(&x)
    }
}

impl Module for Generator {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        visit_child(&self.from_rgb, "from_rgb", f);
        for (i, b) in self.encode.iter().enumerate() {
            visit_child(b, &format!("encode.{i}"), f);
        }
        for (i, b) in self.decode.iter().enumerate() {
            visit_child(b, &format!("decode.{i}"), f);
        }
        visit_child(&self.to_rgb, "to_rgb", f);
        if let Some(h) = &self.hpf {
            visit_child(h, "hpf", f);
        }
    }
}

/// The mapping network F(z, y): a shared MLP, then one head per domain; every head runs and
/// each sample keeps its domain's style.
pub struct MappingNetwork {
    pub latent_dim: usize,
    pub shared: Sequential,
    pub unshared: Vec<Sequential>,
}

impl MappingNetwork {
    /// `hidden` is 512 in the reference (its `--hidden_dim` option is never read).
    pub fn new(
        d: &Device,
        latent_dim: usize,
        style_dim: usize,
        num_domains: usize,
        hidden: usize,
    ) -> Result<Self> {
        let mut shared =
            Sequential::new().push(Linear::new(d, latent_dim, hidden, true)?).push(Activation::Relu);
        for _ in 0..3 {
            shared = shared.push(Linear::new(d, hidden, hidden, true)?).push(Activation::Relu);
        }
        let head = || -> Result<Sequential> {
            let mut h = Sequential::new();
            for _ in 0..3 {
                h = h.push(Linear::new(d, hidden, hidden, true)?).push(Activation::Relu);
            }
            Ok(h.push(Linear::new(d, hidden, style_dim, true)?))
        };
        Ok(MappingNetwork {
            latent_dim,
            shared,
            unshared: (0..num_domains).map(|_| head()).collect::<Result<_>>()?,
        })
    }

    /// Shapes: z [n, latent_dim], y n domain indices → s [n, style_dim].
    pub fn forward(&self, z: &Tensor, y: &[usize]) -> Result<Tensor> {
        if z.rank() != 2 || z.shape()[1] != self.latent_dim {
            return Err(Error::Invalid {
                op: "stargan-v2",
                msg: format!(
                    "latent codes {:?}, the mapping network takes [n, {}]",
                    z.shape(),
                    self.latent_dim
                ),
            });
        }
        let h = self.shared.forward(z)?;
        let outs = self.unshared.iter().map(|head| head.forward(&h)).collect::<Result<Vec<_>>>()?;
        pick(&outs, y)
    }
}

impl Module for MappingNetwork {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        visit_child(&self.shared, "shared", f);
        for (i, h) in self.unshared.iter().enumerate() {
            visit_child(h, &format!("unshared.{i}"), f);
        }
    }
}

/// The trunk E and D share: conv3×3, ResBlks down to 4×4 (no norm), LReLU, conv4×4 to
/// 1×1, LReLU. Returns it and its output width.
fn trunk(d: &Device, img_size: usize, max_conv_dim: usize) -> Result<(Sequential, usize)> {
    check_size(img_size)?;
    let mut dim_in = base_width(img_size, max_conv_dim);
    let mut seq = Sequential::new().push(Conv2d::new(d, 3, dim_in, 3, ConvOpts::default().padding(1), true)?);
    let mut dim_out = dim_in;
    for _ in 0..img_size.trailing_zeros() as usize - 2 {
        dim_out = (dim_in * 2).min(max_conv_dim);
        seq = seq.push(ResBlk::new(d, dim_in, dim_out, false, true)?);
        dim_in = dim_out;
    }
    let seq = seq
        .push(Activation::LeakyRelu(SLOPE))
        .push(Conv2d::new(d, dim_out, dim_out, 4, ConvOpts::default(), true)?)
        .push(Activation::LeakyRelu(SLOPE));
    Ok((seq, dim_out))
}

fn check_images(x: &Tensor, img_size: usize, what: &str) -> Result<()> {
    if x.rank() != 4 || x.shape()[1..] != [3, img_size, img_size] {
        return Err(Error::Invalid {
            op: "stargan-v2",
            msg: format!("the {what} takes images [n, 3, {img_size}, {img_size}], not {:?}", x.shape()),
        });
    }
    Ok(())
}

/// The style encoder E(x, y): the shared trunk, then one linear head per domain.
pub struct StyleEncoder {
    pub img_size: usize,
    pub shared: Sequential,
    pub unshared: Vec<Linear>,
}

impl StyleEncoder {
    pub fn new(
        d: &Device,
        img_size: usize,
        style_dim: usize,
        num_domains: usize,
        max_conv_dim: usize,
    ) -> Result<Self> {
        let (shared, width) = trunk(d, img_size, max_conv_dim)?;
        let unshared =
            (0..num_domains).map(|_| Linear::new(d, width, style_dim, true)).collect::<Result<_>>()?;
        Ok(StyleEncoder { img_size, shared, unshared })
    }

    /// Shapes: x [n, 3, S, S], y n domain indices → s [n, style_dim].
    pub fn forward(&self, x: &Tensor, y: &[usize]) -> Result<Tensor> {
        check_images(x, self.img_size, "style encoder")?;
        let h = self.shared.forward(x)?;
        let h = h.reshape(&[h.shape()[0], h.numel() / h.shape()[0]])?;
        let outs = self.unshared.iter().map(|head| head.forward(&h)).collect::<Result<Vec<_>>>()?;
        pick(&outs, y)
    }
}

impl Module for StyleEncoder {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        visit_child(&self.shared, "shared", f);
        for (i, h) in self.unshared.iter().enumerate() {
            visit_child(h, &format!("unshared.{i}"), f);
        }
    }
}

/// The discriminator D(x, y): the same trunk, then a 1×1 conv to one logit per domain; each
/// sample keeps its domain's.
pub struct Discriminator {
    pub img_size: usize,
    pub num_domains: usize,
    pub main: Sequential,
}

impl Discriminator {
    pub fn new(d: &Device, img_size: usize, num_domains: usize, max_conv_dim: usize) -> Result<Self> {
        let (main, width) = trunk(d, img_size, max_conv_dim)?;
        let main = main.push(Conv2d::new(d, width, num_domains, 1, ConvOpts::default(), true)?);
        Ok(Discriminator { img_size, num_domains, main })
    }

    /// Shapes: x [n, 3, S, S], y n domain indices → logits [n].
    pub fn forward(&self, x: &Tensor, y: &[usize]) -> Result<Tensor> {
        check_images(x, self.img_size, "discriminator")?;
        let out = self.main.forward(x)?; // [n, K, 1, 1]
        let n = out.shape()[0];
        pick_rows(&out.reshape(&[n, self.num_domains, 1])?, y)?.reshape(&[n])
    }
}

impl Module for Discriminator {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        visit_child(&self.main, "main", f);
    }
}
