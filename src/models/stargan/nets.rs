//! StarGAN v1's networks (yunjey/stargan, model.py) with the reference's state-dict names,
//! so its `N-G.ckpt` and `N-D.ckpt` load as they are: the generator's layers are `main.N`
//! (residual blocks `main.N.main.M`), the discriminator's trunk `main.N` and its two heads
//! `conv1` (real/fake map) and `conv2` (domain logits).
//!
//! Both networks stay in training mode for good: the reference never calls `eval()`, so its
//! instance norms always normalise with each image's own statistics, while updating running
//! statistics that nothing reads. Eval mode would switch to those running statistics and
//! give different (by the reference's users' reports, bad) images; see yunjey/stargan#102.

use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::NamedTensors;
use crate::nn::module::visit_child;
use crate::nn::{Activation, Conv2d, ConvTranspose2d, Layer, Module, Norm, Role, Sequential};
use crate::ops::conv2d::{Conv2d as ConvOpts, ConvTranspose2d as ConvTOpts};
use crate::tensor::Tensor;

/// The reference's instance norm: affine, with running statistics (which train mode
/// updates and never uses).
fn norm(d: &Device, c: usize) -> Result<Norm> {
    Norm::instance(d, c, true, true)
}

/// `ResidualBlock`: x + [conv3x3, IN, ReLU, conv3x3, IN](x), convolutions without bias.
pub struct ResidualBlock {
    pub main: Sequential,
}

impl ResidualBlock {
    pub fn new(d: &Device, dim: usize) -> Result<ResidualBlock> {
        let k3 = ConvOpts::default().padding(1);
        let main = Sequential::new()
            .push(Conv2d::new(d, dim, dim, 3, k3, false)?)
            .push(norm(d, dim)?)
            .push(Activation::Relu)
            .push(Conv2d::new(d, dim, dim, 3, k3, false)?)
            .push(norm(d, dim)?);
        Ok(ResidualBlock { main })
    }
}

impl Module for ResidualBlock {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        visit_child(&self.main, "main", f);
    }
    fn set_training(&self, on: bool) {
        self.main.set_training(on);
    }
    fn ignores_legacy_key(&self, name: &str) -> bool {
        name.strip_prefix("main.").is_some_and(|r| self.main.ignores_legacy_key(r))
    }
}

impl Layer for ResidualBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.add(&self.main.forward(x)?)
    }
}

/// The generator: the label vector tiled over the image and concatenated to it along
/// channels, a 7x7 conv, two stride-2 downsamplings, `repeat_num` residual blocks, two
/// transposed-conv upsamplings and a 7x7 conv to RGB with tanh. Zero padding throughout:
/// with reflection padding the label planes would be constant in every window and the
/// instance norms would cancel them.
pub struct Generator {
    pub main: Sequential,
    pub c_dim: usize,
}

impl Generator {
    /// `Generator(conv_dim, c_dim, repeat_num)`, with PyTorch's default initialisation
    /// (the reference applies none of its own).
    pub fn new(d: &Device, conv_dim: usize, c_dim: usize, repeat_num: usize) -> Result<Generator> {
        let (k7, down) = (ConvOpts::default().padding(3), ConvOpts::default().stride(2).padding(1));
        let mut main = Sequential::new()
            .push(Conv2d::new(d, 3 + c_dim, conv_dim, 7, k7, false)?)
            .push(norm(d, conv_dim)?)
            .push(Activation::Relu);
        let mut dim = conv_dim;
        for _ in 0..2 {
            main = main.push(Conv2d::new(d, dim, dim * 2, 4, down, false)?).push(norm(d, dim * 2)?);
            main = main.push(Activation::Relu);
            dim *= 2;
        }
        for _ in 0..repeat_num {
            main = main.push(ResidualBlock::new(d, dim)?);
        }
        let up = ConvTOpts::default().stride(2).padding(1);
        for _ in 0..2 {
            main = main.push(ConvTranspose2d::new(d, dim, dim / 2, 4, up, false)?).push(norm(d, dim / 2)?);
            main = main.push(Activation::Relu);
            dim /= 2;
        }
        main = main.push(Conv2d::new(d, dim, 3, 7, k7, false)?).push(Activation::Tanh);
        Ok(Generator { main, c_dim })
    }

    /// G(x, c): images translated to the domains `c`.
    /// Shapes: x (N, 3, H, W) with H and W multiples of 4, c (N, c_dim) → (N, 3, H, W).
    pub fn forward(&self, x: &Tensor, c: &Tensor) -> Result<Tensor> {
        let (xs, cs) = (x.shape(), c.shape());
        if xs.len() != 4 || xs[1] != 3 || cs != [xs[0], self.c_dim] {
            return Err(Error::Invalid {
                op: "stargan generator",
                msg: format!(
                    "expects images (N, 3, H, W) and labels (N, {}), got {xs:?} and {cs:?}",
                    self.c_dim
                ),
            });
        }
        let (n, h, w) = (xs[0], xs[2], xs[3]);
        if h % 4 != 0 || w % 4 != 0 {
            return Err(Error::Invalid {
                op: "stargan generator",
                msg: format!(
                    "image sides must be multiples of 4 (two halvings and two doublings), got {h}x{w}"
                ),
            });
        }
        let planes = c.reshape(&[n, self.c_dim, 1, 1])?.expand(&[n, self.c_dim, h, w])?; // (N, c, H, W)
        self.main.forward(&Tensor::concat(&[x.clone(), planes], 1)?) // (N, 3 + c, H, W) → (N, 3, H, W)
    }
}

impl Module for Generator {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        visit_child(&self.main, "main", f);
    }
    fn set_training(&self, on: bool) {
        self.main.set_training(on);
    }
    fn ignores_legacy_key(&self, name: &str) -> bool {
        name.strip_prefix("main.").is_some_and(|r| self.main.ignores_legacy_key(r))
    }
}

/// The discriminator: `repeat_num` stride-2 4x4 convs with bias and LeakyReLU 0.01, then two
/// heads without bias: `conv1`, a 3x3 conv to a one-channel PatchGAN map of real/fake
/// scores, and `conv2`, a conv whose kernel covers the whole remaining map
/// (image_size / 2^repeat_num) giving one logit per domain.
pub struct Discriminator {
    pub main: Sequential,
    pub conv1: Conv2d,
    pub conv2: Conv2d,
    pub image_size: usize,
    pub repeat_num: usize,
}

/// The side of the discriminator's final map, image_size / 2^repeat_num; an error unless
/// it divides exactly.
pub fn final_side(image_size: usize, repeat_num: usize) -> Result<usize> {
    let scale = 1usize.checked_shl(repeat_num as u32).filter(|&s| s <= image_size);
    match scale {
        Some(s) if image_size.is_multiple_of(s) => Ok(image_size / s),
        _ => Err(Error::Invalid {
            op: "stargan discriminator",
            msg: format!(
                "--image-size {image_size} is not a multiple of 2^{repeat_num}: the discriminator halves the image {repeat_num} times (--d-repeat-num)"
            ),
        }),
    }
}

impl Discriminator {
    /// `Discriminator(image_size, conv_dim, c_dim, repeat_num)`, PyTorch's default init.
    pub fn new(
        d: &Device,
        image_size: usize,
        conv_dim: usize,
        c_dim: usize,
        repeat_num: usize,
    ) -> Result<Discriminator> {
        let kernel = final_side(image_size, repeat_num)?;
        let down = ConvOpts::default().stride(2).padding(1);
        let mut main = Sequential::new()
            .push(Conv2d::new(d, 3, conv_dim, 4, down, true)?)
            .push(Activation::LeakyRelu(0.01));
        let mut dim = conv_dim;
        for _ in 1..repeat_num {
            main = main.push(Conv2d::new(d, dim, dim * 2, 4, down, true)?).push(Activation::LeakyRelu(0.01));
            dim *= 2;
        }
        let conv1 = Conv2d::new(d, dim, 1, 3, ConvOpts::default().padding(1), false)?;
        let conv2 = Conv2d::new(d, dim, c_dim, kernel, ConvOpts::default(), false)?;
        Ok(Discriminator { main, conv1, conv2, image_size, repeat_num })
    }

    /// (D_src(x), D_cls(x)): the real/fake map and the domain logits.
    /// Shapes: x (N, 3, S, S), S = image_size → (N, 1, k, k) and (N, c_dim), k = S / 2^repeat_num.
    pub fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let s = x.shape();
        if s.len() != 4 || s[1] != 3 || s[2] != self.image_size || s[3] != self.image_size {
            return Err(Error::Invalid {
                op: "stargan discriminator",
                msg: format!(
                    "built for --image-size {0} expects images (N, 3, {0}, {0}), got {s:?}",
                    self.image_size
                ),
            });
        }
        let h = self.main.forward(x)?; // (N, conv_dim·2^(repeat_num−1), k, k)
        let src = self.conv1.forward(&h)?; // (N, 1, k, k)
        let cls = self.conv2.forward(&h)?; // (N, c_dim, 1, 1)
        let c_dim = cls.shape()[1];
        Ok((src, cls.reshape(&[s[0], c_dim])?))
    }
}

impl Module for Discriminator {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        visit_child(&self.main, "main", f);
        visit_child(&self.conv1, "conv1", f);
        visit_child(&self.conv2, "conv2", f);
    }

    /// A `conv2` kernel of another size means the checkpoint was trained at another image
    /// size (yunjey/stargan#53, #91): say which, rather than list shapes.
    fn check_state_dict(&self, tensors: &NamedTensors) -> Result<()> {
        let Some((_, w)) = tensors.iter().find(|(n, _)| n == "conv2.weight") else { return Ok(()) };
        let own = self.conv2.weight.shape()[2];
        match w.shape[..] {
            [_, _, k, k2] if k == k2 && k != own => Err(Error::Invalid {
                op: "stargan discriminator",
                msg: format!(
                    "this checkpoint was trained at --image-size {} (its conv2 kernel is {k}x{k}, and {k} = image size / 2^{} with --d-repeat-num {}); this run builds it for --image-size {}",
                    k << self.repeat_num,
                    self.repeat_num,
                    self.repeat_num,
                    self.image_size
                ),
            }),
            _ => Ok(()),
        }
    }
}
