//! DiffAugment (Zhao et al. 2020), as FastGAN applies it to real and fake batches before
//! the discriminator. The generator's loss differentiates through every op, so each is a
//! differentiable tensor op (`ops::augment`). Draws are plain host data, made apart from
//! the ops: a model draws them from its `HostRng`, a parity test hands in PyTorch's.
//!
//! | policy name   | ops, in order                    | per-sample draws                    |
//! |---------------|----------------------------------|-------------------------------------|
//! | `color`       | brightness, saturation, contrast | r ~ U(0, 1) for each                |
//! | `translation` | zero-filled shift by (tx, ty)    | tx ∈ [−sx, sx], ty ∈ [−sy, sy]      |
//! | `cutout`      | zeroed ch×cw rectangle, clamped  | ox ∈ [0, H + 1 − ch mod 2), oy on W |
//!
//! with sx = int(H/8 + 0.5), sy = int(W/8 + 0.5), ch = int(H/2 + 0.5), cw = int(W/2 + 0.5).

use crate::data::rng::HostRng;
use crate::error::{Error, Result};
use crate::ops::augment::Rect;
use crate::tensor::Tensor;
use std::ops::Range;

/// One named augmentation of a policy string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Augment {
    Color,
    Translation,
    Cutout,
}

const NAMES: [(&str, Augment); 3] =
    [("color", Augment::Color), ("translation", Augment::Translation), ("cutout", Augment::Cutout)];

/// The augmentations to apply, in order. FastGAN's default is `"color,translation"`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy(Vec<Augment>);

impl Policy {
    /// Parses the reference's comma-separated names ("" is no augmentation). Each name may
    /// appear once: `AugmentDraws` holds one set of draws per op.
    pub fn parse(text: &str) -> Result<Policy> {
        const OP: &str = "diffaug policy";
        let mut steps = Vec::new();
        if text.trim().is_empty() {
            return Ok(Policy(steps));
        }
        for name in text.split(',').map(str::trim) {
            let Some(&(_, aug)) = NAMES.iter().find(|(n, _)| *n == name) else {
                let valid: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
                return Err(Error::Invalid {
                    op: OP,
                    msg: format!(
                        "unknown augmentation {name:?} in {text:?}; valid names: {}",
                        valid.join(", ")
                    ),
                });
            };
            if steps.contains(&aug) {
                return Err(Error::Invalid { op: OP, msg: format!("{name:?} is listed twice in {text:?}") });
            }
            steps.push(aug);
        }
        Ok(Policy(steps))
    }

    /// The augmentations, in the order they are applied.
    pub fn steps(&self) -> &[Augment] {
        &self.0
    }
}

impl std::str::FromStr for Policy {
    type Err = Error;
    fn from_str(text: &str) -> Result<Policy> {
        Policy::parse(text)
    }
}

/// Every per-sample parameter one application of a policy needs, one entry per sample.
/// Fields of augmentations the policy lacks stay empty.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AugmentDraws {
    /// r_n ~ U(0, 1): adds r_n − 0.5.
    pub brightness: Vec<f32>,
    /// r_n ~ U(0, 1): scales the distance from the channel mean by 2·r_n.
    pub saturation: Vec<f32>,
    /// r_n ~ U(0, 1): scales the distance from the image mean by r_n + 0.5.
    pub contrast: Vec<f32>,
    /// (tx, ty): the shift along H and along W, within ±`translation_limits`.
    pub translation: Vec<(i32, i32)>,
    /// (ox, oy): the cutout's centre offsets along H and W, below `cutout_bounds`.
    pub cutout: Vec<(usize, usize)>,
}

/// (sx, sy) = (int(H/8 + 0.5), int(W/8 + 0.5)): the largest translation along H and W.
pub fn translation_limits(h: usize, w: usize) -> (i32, i32) {
    let round = |size: usize| (size as f64 * 0.125 + 0.5) as i32;
    (round(h), round(w))
}

/// (ch, cw) = (int(H/2 + 0.5), int(W/2 + 0.5)): the cutout's size before clamping.
pub fn cutout_size(h: usize, w: usize) -> (usize, usize) {
    let round = |size: usize| (size as f64 * 0.5 + 0.5) as usize;
    (round(h), round(w))
}

/// The exclusive upper bounds of the cutout offsets (ox, oy): H + 1 − ch mod 2, likewise W.
pub fn cutout_bounds(h: usize, w: usize) -> (usize, usize) {
    let (ch, cw) = cutout_size(h, w);
    (h + 1 - ch % 2, w + 1 - cw % 2)
}

/// A U(0, 1) draw on the f32 grid of 2^−24 steps, so it stays below 1 after rounding.
fn unit(rng: &mut HostRng) -> f32 {
    const STEPS: f64 = (1u32 << 24) as f64;
    ((rng.uniform() * STEPS).floor() / STEPS) as f32
}

impl AugmentDraws {
    /// Draws for `n` images of H×W, in the policy's order (per op: every sample's first
    /// value, then every sample's second). Integers are uniform over the reference's
    /// `torch.randint` ranges: tx ∈ [−sx, sx], ty ∈ [−sy, sy], ox ∈ [0, bound_h), oy ∈ [0, bound_w).
    pub fn draw(policy: &Policy, n: usize, h: usize, w: usize, rng: &mut HostRng) -> AugmentDraws {
        let mut d = AugmentDraws::default();
        let units = |rng: &mut HostRng| (0..n).map(|_| unit(rng)).collect::<Vec<_>>();
        for step in policy.steps() {
            match step {
                Augment::Color => {
                    d.brightness = units(rng);
                    d.saturation = units(rng);
                    d.contrast = units(rng);
                }
                Augment::Translation => {
                    let (sx, sy) = translation_limits(h, w);
                    let mut signed = |s: i32| rng.below(2 * s as usize + 1) as i32 - s;
                    let tx: Vec<i32> = (0..n).map(|_| signed(sx)).collect();
                    let ty: Vec<i32> = (0..n).map(|_| signed(sy)).collect();
                    d.translation = tx.into_iter().zip(ty).collect();
                }
                Augment::Cutout => {
                    let (bh, bw) = cutout_bounds(h, w);
                    let ox: Vec<usize> = (0..n).map(|_| rng.below(bh)).collect();
                    let oy: Vec<usize> = (0..n).map(|_| rng.below(bw)).collect();
                    d.cutout = ox.into_iter().zip(oy).collect();
                }
            }
        }
        d
    }
}

/// The indices offset − cut/2 + a for a in 0..cut, each clamped to [0, size − 1]. Clamping
/// keeps them contiguous, so they are one range (empty only when cut is 0, i.e. size 0).
fn clamped(offset: usize, cut: usize, size: usize) -> Range<usize> {
    if cut == 0 {
        return 0..0;
    }
    let last = size as i64 - 1;
    let lo = offset as i64 - (cut / 2) as i64;
    let clamp = |i: i64| i.clamp(0, last) as usize;
    clamp(lo)..clamp(lo + cut as i64 - 1) + 1
}

/// The rectangles that cutout zeroes for the offsets (ox, oy) of each sample.
pub fn cutout_rects(h: usize, w: usize, offsets: &[(usize, usize)]) -> Result<Vec<Rect>> {
    let (ch, cw) = cutout_size(h, w);
    let (bh, bw) = cutout_bounds(h, w);
    offsets
        .iter()
        .map(|&(ox, oy)| {
            if ox >= bh || oy >= bw {
                return Err(Error::Invalid {
                    op: "cutout",
                    msg: format!(
                        "offset ({ox}, {oy}) is out of range for H = {h}, W = {w}: ox < {bh}, oy < {bw}"
                    ),
                });
            }
            Ok(Rect { rows: clamped(ox, ch, h), cols: clamped(oy, cw, w) })
        })
        .collect()
}

/// Applies `policy` to the batch `x` with `draws`, differentiably. Shape: [N, C, H, W] ->
/// [N, C, H, W].
pub fn diff_augment(x: &Tensor, policy: &Policy, draws: &AugmentDraws) -> Result<Tensor> {
    let mut y = x.clone();
    for step in policy.steps() {
        y = match step {
            Augment::Color => {
                y.brightness(&draws.brightness)?.saturation(&draws.saturation)?.contrast(&draws.contrast)?
            }
            Augment::Translation => y.translate(&draws.translation)?,
            Augment::Cutout => {
                let [_, _, h, w] = *y.shape() else {
                    return Err(Error::Rank {
                        op: "cutout",
                        expected: "4 dimensions (N, C, H, W)".into(),
                        shape: y.shape().to_vec(),
                    });
                };
                y.cutout(&cutout_rects(h, w, &draws.cutout)?)?
            }
        };
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_like_the_reference() {
        assert_eq!(Policy::parse("").unwrap().steps(), &[]);
        let p: Policy = "color,translation".parse().unwrap();
        assert_eq!(p.steps(), &[Augment::Color, Augment::Translation]);
        assert_eq!(Policy::parse("cutout,color").unwrap().steps(), &[Augment::Cutout, Augment::Color]);
        let err = Policy::parse("color,flip").unwrap_err().to_string();
        assert!(err.contains("\"flip\"") && err.contains("color, translation, cutout"), "{err}");
        assert!(Policy::parse("color,,cutout").is_err());
        assert!(Policy::parse("cutout,cutout").unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn sizes_round_like_python_int() {
        assert_eq!(translation_limits(10, 12), (1, 2)); // int(1.75), int(2.0)
        assert_eq!(translation_limits(256, 9), (32, 1));
        assert_eq!(cutout_size(10, 12), (5, 6));
        assert_eq!(cutout_size(9, 1), (5, 1));
        assert_eq!(cutout_bounds(10, 12), (10, 13)); // ch odd: H; cw even: W + 1
    }

    #[test]
    fn rects_clamp_to_the_image() {
        // H = 10: ch = 5, rows ox − 2 .. ox + 2 clamped. W = 12: cw = 6, cols oy − 3 .. oy + 2.
        let r = cutout_rects(10, 12, &[(0, 12), (9, 0), (4, 5)]).unwrap();
        assert_eq!(r[0], Rect { rows: 0..3, cols: 9..12 });
        assert_eq!(r[1], Rect { rows: 7..10, cols: 0..3 });
        assert_eq!(r[2], Rect { rows: 2..7, cols: 2..8 });
        assert!(cutout_rects(10, 12, &[(10, 0)]).is_err());
        assert!(cutout_rects(10, 12, &[(0, 13)]).is_err());
    }

    #[test]
    fn draws_cover_the_reference_ranges_and_both_ends() {
        let (n, h, w) = (4000, 10, 12);
        let policy = Policy::parse("color,translation,cutout").unwrap();
        let d = AugmentDraws::draw(&policy, n, h, w, &mut HostRng::new(11));
        for r in [&d.brightness, &d.saturation, &d.contrast] {
            assert_eq!(r.len(), n);
            assert!(r.iter().all(|&v| (0.0..1.0).contains(&v)));
            let (lo, hi) = r.iter().fold((1f32, 0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            assert!(lo < 0.01 && hi > 0.99, "r spans [{lo}, {hi}]");
        }
        let span = |v: Vec<i64>| (*v.iter().min().unwrap(), *v.iter().max().unwrap());
        let (sx, sy) = translation_limits(h, w);
        assert_eq!(span(d.translation.iter().map(|t| t.0 as i64).collect()), (-sx as i64, sx as i64));
        assert_eq!(span(d.translation.iter().map(|t| t.1 as i64).collect()), (-sy as i64, sy as i64));
        let (bh, bw) = cutout_bounds(h, w);
        assert_eq!(span(d.cutout.iter().map(|o| o.0 as i64).collect()), (0, bh as i64 - 1));
        assert_eq!(span(d.cutout.iter().map(|o| o.1 as i64).collect()), (0, bw as i64 - 1));
        let none = AugmentDraws::draw(&Policy::parse("translation").unwrap(), n, h, w, &mut HostRng::new(1));
        assert!(none.brightness.is_empty() && none.cutout.is_empty() && none.translation.len() == n);
    }
}
