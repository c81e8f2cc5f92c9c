//! FastGAN's generator and discriminator (models.py), with its state-dict names, its
//! channel tables and its per-size stems. Only 256, 512 and 1024 pixels exist.

use super::blocks::{down_block, init_layer, simple_decoder, up_block, up_block_comp, DownBlockComp, Main};
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::nn::module::visit_child;
use crate::nn::{
    init, spectral_conv, Activation, Layer, Module, ModuleExt, NoiseQueue, Norm, Role, Sequential, Sle,
    SpectralNorm,
};
use crate::tensor::Tensor;

/// The image sides FastGAN builds.
pub const SIZES: [usize; 3] = [256, 512, 1024];

/// Fails unless `im_size` is one FastGAN builds (the reference crashes on others).
pub fn check_size(im_size: usize) -> Result<()> {
    if SIZES.contains(&im_size) {
        return Ok(());
    }
    Err(Error::Invalid {
        op: "fastgan",
        msg: format!("--im-size {im_size} is not supported: FastGAN builds 256, 512 or 1024 pixels"),
    })
}

/// Channels at each side: int(multiplier · width), FastGAN's `nfc` tables.
fn nfc(multipliers: &[(usize, f64)], width: usize) -> impl Fn(usize) -> usize + '_ {
    move |side| {
        let m = multipliers.iter().find(|(s, _)| *s == side).expect("a side of the table").1;
        (m * width as f64) as usize
    }
}

const G_TABLE: [(usize, f64); 9] = [
    (4, 16.0),
    (8, 8.0),
    (16, 4.0),
    (32, 2.0),
    (64, 2.0),
    (128, 1.0),
    (256, 0.5),
    (512, 0.25),
    (1024, 0.125),
];
const D_TABLE: [(usize, f64); 9] = [
    (4, 16.0),
    (8, 16.0),
    (16, 8.0),
    (32, 4.0),
    (64, 2.0),
    (128, 1.0),
    (256, 0.5),
    (512, 0.25),
    (1024, 0.125),
];

/// FastGAN's `weights_init`: every convolution's weight (through spectral norm, its
/// `weight_orig`) ~ N(0, 0.02); BatchNorm's weight ~ N(1, 0.02) and bias 0. Noise
/// injection weights stay 0.
pub fn weights_init(net: &dyn Module) -> Result<()> {
    let names: Vec<(String, Tensor)> = net.state_dict();
    let has = |n: &str| names.iter().any(|(m, _)| m == n);
    for (name, t) in &names {
        if name.ends_with("weight_orig") {
            init::normal(t, 0.0, 0.02)?;
        } else if let Some(stem) = name.strip_suffix("weight") {
            if has(&format!("{stem}running_mean")) {
                init::normal(t, 1.0, 0.02)?;
                init::constant(&names.iter().find(|(m, _)| *m == format!("{stem}bias")).unwrap().1, 0.0)?;
            }
        }
    }
    Ok(())
}

/// The generator: z [n, nz] → [image [n, 3, S, S], image [n, 3, 128, 128]].
pub struct Generator {
    pub im_size: usize,
    pub nz: usize,
    pub init: Sequential,
    pub feat: Vec<(usize, Sequential)>,
    pub se: Vec<(usize, Sle)>,
    pub to_128: SpectralNorm<crate::nn::Conv2d>,
    pub to_big: SpectralNorm<crate::nn::Conv2d>,
    /// The noise maps of the injection layers (fresh draws unless supplied).
    pub noise: NoiseQueue,
}

impl Generator {
    /// FastGAN's generator for `im_size` with width `ngf` and latent size `nz`, its
    /// weights_init applied.
    pub fn new(d: &Device, ngf: usize, nz: usize, im_size: usize) -> Result<Generator> {
        check_size(im_size)?;
        let c = nfc(&G_TABLE, ngf);
        let noise = NoiseQueue::default();
        let mut feat = Vec::new();
        let mut side = 8;
        while side <= im_size {
            // Compound blocks (with noise) at 8, 32, 128 and 512.
            let block = if side.trailing_zeros() % 2 == 1 {
                up_block_comp(d, c(side / 2), c(side), &noise)?
            } else {
                up_block(d, c(side / 2), c(side))?
            };
            feat.push((side, block));
            side *= 2;
        }
        let mut se = Vec::new();
        for big in [64, 128, 256, 512] {
            if big <= im_size.min(512) {
                se.push((big, Sle::new(d, c(big / 16), c(big))?));
            }
        }
        let g = Generator {
            im_size,
            nz,
            init: init_layer(d, nz, c(4))?,
            feat,
            se,
            to_128: spectral_conv(d, c(128), 3, 1, 1, 0)?,
            to_big: spectral_conv(d, c(im_size), 3, 3, 1, 1)?,
            noise,
        };
        weights_init(&g)?;
        Ok(g)
    }

    /// Shapes: z [n, nz] → ([n, 3, im_size, im_size], [n, 3, 128, 128]). No tanh below
    /// 1024 pixels: the reference's quirk (its author called it a leftover), kept so that
    /// its checkpoints give its images.
    pub fn forward(&self, z: &Tensor) -> Result<(Tensor, Tensor)> {
        let n = z.shape()[0];
        let mut feats: Vec<(usize, Tensor)> = vec![(4, self.init.forward(&z.reshape(&[n, self.nz, 1, 1])?)?)];
        for (side, block) in &self.feat {
            let mut x = block.forward(&feats.last().unwrap().1)?;
            if let Some((_, sle)) = self.se.iter().find(|(s, _)| s == side) {
                let small = &feats.iter().find(|(s, _)| *s == side / 16).unwrap().1;
                x = sle.forward(small, &x)?;
            }
            feats.push((*side, x));
        }
        let at = |s: usize| &feats.iter().find(|(t, _)| *t == s).unwrap().1;
        let (big, small) = (self.to_big.forward(at(self.im_size))?, self.to_128.forward(at(128))?);
        if self.im_size == 1024 {
            return Ok((big.tanh()?, small.tanh()?));
        }
        Ok((big, small))
    }

    /// The forward with supplied noise maps, one per injection layer in forward order
    /// (a parity test's, or eval's).
    pub fn forward_with_noise(&self, z: &Tensor, maps: Vec<Tensor>) -> Result<(Tensor, Tensor)> {
        let expected = self.injections();
        if maps.len() != expected {
            return Err(Error::Invalid {
                op: "fastgan",
                msg: format!("{} noise maps for {expected} injection layers", maps.len()),
            });
        }
        self.noise.clear();
        self.noise.supply(maps);
        let out = self.forward(z);
        self.noise.clear();
        out
    }

    /// The number of noise-injection layers (two per compound block).
    pub fn injections(&self) -> usize {
        2 * self.feat.iter().filter(|(s, _)| s.trailing_zeros() % 2 == 1).count()
    }
}

impl Module for Generator {
    /// In the reference's registration order: init, feat_8 … feat_256, se_64 … se_256,
    /// to_128, to_big, then feat_512, se_512, feat_1024.
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        visit_child(&self.init, "init.init", f);
        let feat = |s: usize| self.feat.iter().find(|(t, _)| *t == s).map(|(_, b)| b);
        let se = |s: usize| self.se.iter().find(|(t, _)| *t == s).map(|(_, b)| b);
        for s in [8, 16, 32, 64, 128, 256] {
            visit_child(feat(s).unwrap(), &format!("feat_{s}"), f);
        }
        for s in [64, 128, 256] {
            visit_child(se(s).unwrap(), &format!("se_{s}"), f);
        }
        visit_child(&self.to_128, "to_128", f);
        visit_child(&self.to_big, "to_big", f);
        if let Some(b) = feat(512) {
            visit_child(b, "feat_512", f);
        }
        if let Some(b) = se(512) {
            visit_child(b, "se_512", f);
        }
        if let Some(b) = feat(1024) {
            visit_child(b, "feat_1024", f);
        }
    }
    fn set_training(&self, on: bool) {
        self.init.set_training(on);
        self.feat.iter().for_each(|(_, b)| b.set_training(on));
        self.se.iter().for_each(|(_, b)| b.set_training(on));
        self.to_128.set_training(on);
        self.to_big.set_training(on);
    }
}

/// What the discriminator returns: N·25 logits of the big branch then N·25 of the small
/// one; on real images also the three 128-pixel reconstructions [big, small, part].
pub struct DOutput {
    pub logits: Tensor,
    pub recs: Option<[Tensor; 3]>,
}

/// The two-branch discriminator with its three decoders.
pub struct Discriminator {
    pub im_size: usize,
    pub down_from_big: Sequential,
    /// down_4 … down_64.
    pub down: [DownBlockComp; 5],
    pub rf_big: Sequential,
    pub se_2_16: Sle,
    pub se_4_32: Sle,
    pub se_8_64: Sle,
    pub down_from_small: Sequential,
    pub rf_small: SpectralNorm<crate::nn::Conv2d>,
    pub decoder_big: Main,
    pub decoder_part: Main,
    pub decoder_small: Main,
}

impl Discriminator {
    /// FastGAN's discriminator for `im_size`, width `ndf`, decoders of base width
    /// `dec_nf` (32 in the reference), its weights_init applied.
    pub fn new(d: &Device, ndf: usize, im_size: usize, dec_nf: usize) -> Result<Discriminator> {
        check_size(im_size)?;
        let c = nfc(&D_TABLE, ndf);
        let lrelu = Activation::LeakyRelu(0.2);
        let down_from_big = match im_size {
            1024 => Sequential::new()
                .push(spectral_conv(d, 3, c(1024), 4, 2, 1)?)
                .push(lrelu)
                .push(spectral_conv(d, c(1024), c(512), 4, 2, 1)?)
                .push(Norm::batch(d, c(512))?)
                .push(lrelu),
            512 => Sequential::new().push(spectral_conv(d, 3, c(512), 4, 2, 1)?).push(lrelu),
            _ => Sequential::new().push(spectral_conv(d, 3, c(512), 3, 1, 1)?).push(lrelu),
        };
        let dbc = |i: usize, o: usize| DownBlockComp::new(d, c(i), c(o));
        let net = Discriminator {
            im_size,
            down_from_big,
            down: [dbc(512, 256)?, dbc(256, 128)?, dbc(128, 64)?, dbc(64, 32)?, dbc(32, 16)?],
            rf_big: Sequential::new()
                .push(spectral_conv(d, c(16), c(8), 1, 1, 0)?)
                .push(Norm::batch(d, c(8))?)
                .push(lrelu)
                .push(spectral_conv(d, c(8), 1, 4, 1, 0)?),
            se_2_16: Sle::new(d, c(512), c(64))?,
            se_4_32: Sle::new(d, c(256), c(32))?,
            se_8_64: Sle::new(d, c(128), c(16))?,
            down_from_small: Sequential::new()
                .push(spectral_conv(d, 3, c(256), 4, 2, 1)?)
                .push(lrelu)
                .push(down_block(d, c(256), c(128))?)
                .push(down_block(d, c(128), c(64))?)
                .push(down_block(d, c(64), c(32))?),
            rf_small: spectral_conv(d, c(32), 1, 4, 1, 0)?,
            decoder_big: simple_decoder(d, c(16), dec_nf)?,
            decoder_part: simple_decoder(d, c(32), dec_nf)?,
            decoder_small: simple_decoder(d, c(32), dec_nf)?,
        };
        weights_init(&net)?;
        Ok(net)
    }

    /// A real batch as the two inputs: nearest resizes to im_size and to 128.
    pub fn real_inputs(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let resize = |s: usize| if x.shape()[2..] == [s, s] { Ok(x.clone()) } else { x.resize_nearest(s, s) };
        Ok((resize(self.im_size)?, resize(128)?))
    }

    /// Shapes: big [n, 3, S, S], small [n, 3, 128, 128] → logits [n·50]; with `part`
    /// (a quadrant 0-3 of the 16×16 map: top-left, top-right, bottom-left, bottom-right)
    /// also the three reconstructions, each [n, 3, 128, 128].
    pub fn forward(&self, big: &Tensor, small: &Tensor, part: Option<usize>) -> Result<DOutput> {
        let feat_2 = self.down_from_big.forward(big)?; // [n, c512, 256, 256] at 1024 px
        let feat_4 = self.down[0].forward(&feat_2)?;
        let feat_8 = self.down[1].forward(&feat_4)?;
        let feat_16 = self.se_2_16.forward(&feat_2, &self.down[2].forward(&feat_8)?)?;
        let feat_32 = self.se_4_32.forward(&feat_4, &self.down[3].forward(&feat_16)?)?; // 16×16
        let feat_last = self.se_8_64.forward(&feat_8, &self.down[4].forward(&feat_32)?)?; // 8×8
        let rf_0 = self.rf_big.forward(&feat_last)?; // [n, 1, 5, 5]
        let feat_small = self.down_from_small.forward(small)?; // [n, c32, 8, 8]
        let rf_1 = self.rf_small.forward(&feat_small)?;
        let logits = Tensor::concat(&[rf_0.reshape(&[rf_0.numel()])?, rf_1.reshape(&[rf_1.numel()])?], 0)?;
        let Some(part) = part else { return Ok(DOutput { logits, recs: None }) };
        let quadrant = quadrant(&feat_32, part)?;
        let recs = [
            self.decoder_big.forward(&feat_last)?,
            self.decoder_small.forward(&feat_small)?,
            self.decoder_part.forward(&quadrant)?,
        ];
        Ok(DOutput { logits, recs: Some(recs) })
    }
}

/// One quarter of the last two axes: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right
/// (the reference's `crop_image_by_part` and its 8×8 feature crops).
pub fn quadrant(x: &Tensor, part: usize) -> Result<Tensor> {
    if part > 3 {
        return Err(Error::Invalid { op: "fastgan", msg: format!("quadrant {part} is not one of 0-3") });
    }
    let (h, w) = (x.shape()[2] / 2, x.shape()[3] / 2);
    let rows = if part >= 2 { (h, x.shape()[2] - h) } else { (0, h) };
    let cols = if part % 2 == 1 { (w, x.shape()[3] - w) } else { (0, w) };
    x.narrow(2, rows.0, rows.1)?.narrow(3, cols.0, cols.1)
}

impl Module for Discriminator {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        visit_child(&self.down_from_big, "down_from_big", f);
        for (k, b) in self.down.iter().enumerate() {
            visit_child(b, &format!("down_{}", 4 << k), f);
        }
        visit_child(&self.rf_big, "rf_big", f);
        visit_child(&self.se_2_16, "se_2_16", f);
        visit_child(&self.se_4_32, "se_4_32", f);
        visit_child(&self.se_8_64, "se_8_64", f);
        visit_child(&self.down_from_small, "down_from_small", f);
        visit_child(&self.rf_small, "rf_small", f);
        visit_child(&self.decoder_big, "decoder_big", f);
        visit_child(&self.decoder_part, "decoder_part", f);
        visit_child(&self.decoder_small, "decoder_small", f);
    }
    fn set_training(&self, on: bool) {
        self.down_from_big.set_training(on);
        self.down.iter().for_each(|b| b.set_training(on));
        self.rf_big.set_training(on);
        for s in [&self.se_2_16, &self.se_4_32, &self.se_8_64] {
            s.set_training(on);
        }
        self.down_from_small.set_training(on);
        self.rf_small.set_training(on);
        for m in [&self.decoder_big, &self.decoder_part, &self.decoder_small] {
            m.set_training(on);
        }
    }
}
