//! The two face masks from FAN's landmark heatmaps: the reference's `preprocess` (wing.py).

use super::LANDMARKS;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// One term of the masks: the landmark heatmaps `start..end`, each raised to `power`, summed
/// and rolled by `shift` rows (times H/256 when `scaled`); `both` terms go into both masks,
/// the others only into the first.
struct Term {
    start: usize,
    end: usize,
    power: u32,
    shift: i64,
    scaled: bool,
    both: bool,
}

const fn term(start: usize, end: usize, power: u32, shift: i64, scaled: bool, both: bool) -> Term {
    Term { start, end, power, shift, scaled, both }
}

/// The reference's `preprocess` as a sum of terms. Landmarks it zeroes (0..8 and 25..33 of
/// the face outline, 33 and 46 at the eyebrows' ends, 76 and 82 at the mouth's corners) are
/// in no term; the second mask leaves out the chin, eyebrows and lips.
const TERMS: [Term; 12] = [
    term(8, 25, 3, 0, true, false),   // chin
    term(34, 46, 2, -7, true, false), // eyebrows (33 and 46 zeroed)
    term(47, 51, 2, -7, true, false),
    term(51, 52, 1, 0, true, true),   // nose bridge top, unshifted
    term(52, 55, 1, 4, true, true),   // nose bridge
    term(55, 60, 4, 8, true, true),   // nostrils
    term(60, 76, 3, -8, false, true), // eyes: shifted by 8 and 24 rows whatever the size
    term(60, 76, 1, -24, false, true),
    term(77, 82, 4, -8, true, false), // upper lip
    term(83, 88, 4, 8, true, false),  // lower lip
    term(88, 96, 3, -2, true, false), // inner lips
    term(96, 98, 1, 0, true, true),   // pupils, untouched
];

/// Heatmap values below this are dropped before normalising.
const TRUNCATE_BELOW: f32 = 0.1;
/// Added to each heatmap's range when normalising.
const NORMALISE_EPS: f32 = 1e-6;

/// The reference's `preprocess`: 98 landmark heatmaps to the two masks, each clamped to
/// [0, 1]: (face, face without outline, eyebrows and lips). Each heatmap is truncated
/// (values < 0.1 become 0) and min-max normalised, then the terms above are summed. Row
/// shifts roll around (row h takes row (h + shift) mod H), as the reference's index
/// permutation does. Non-finite heatmaps (only from a non-finite image) are reproduced
/// loosely: the reference sets NaN to 0 in the first mask and keeps it in the second; here
/// the first mask's NaNs become 0 too, and the GPU's max and clamp decide the rest.
/// Shapes: [n, 98, H, W] -> 2 × [n, 1, H, W].
pub fn preprocess(heatmaps: &Tensor) -> Result<[Tensor; 2]> {
    let &[n, LANDMARKS, h, w] = heatmaps.shape() else {
        return Err(Error::Rank {
            op: "preprocess",
            expected: format!("heatmaps [n, {LANDMARKS}, h, w]"),
            shape: heatmaps.shape().to_vec(),
        });
    };
    let d = heatmaps.device();
    let used: Vec<usize> =
        (0..LANDMARKS).filter(|&c| TERMS.iter().any(|t| (t.start..t.end).contains(&c))).collect();
    let x = heatmaps.index_select(1, &used)?; // [n, used, h, w]
    let zero = Tensor::zeros(d, &[])?;
    let x = Tensor::where_(&x.lt(&Tensor::scalar(d, TRUNCATE_BELOW)?)?, &zero, &x)?;
    let hi = x.max(&[2, 3], true)?; // [n, used, 1, 1]
    let lo = x.neg()?.max(&[2, 3], true)?.neg()?;
    let x = x.sub(&lo)?.div(&hi.sub(&lo)?.add_scalar(NORMALISE_EPS)?)?;

    let sw = (h / 256) as i64;
    let (mut both, mut face): (Option<Tensor>, Option<Tensor>) = (None, None);
    for t in &TERMS {
        let first = used.iter().position(|&c| c == t.start).expect("every term's landmarks are selected");
        let part = power(&x.narrow(1, first, t.end - t.start)?, t.power)?.sum(&[1], true)?; // [n, 1, h, w]
        let part = roll_rows(&part, if t.scaled { t.shift * sw } else { t.shift })?;
        let acc = if t.both { &mut both } else { &mut face };
        *acc = Some(match acc.take() {
            Some(a) => a.add(&part)?,
            None => part,
        });
    }
    let (Some(both), Some(face)) = (both, face) else { unreachable!("TERMS fills both sums") };
    let first = both.add(&face)?;
    let first = Tensor::where_(&first.eq(&first)?, &first, &zero)?;
    debug_assert_eq!(first.shape(), &[n, 1, h, w]);
    Ok([first.clamp(0.0, 1.0)?, both.clamp(0.0, 1.0)?])
}

/// x^p for the small integer powers the masks use; x^4 as (x²)².
fn power(x: &Tensor, p: u32) -> Result<Tensor> {
    match p {
        1 => Ok(x.clone()),
        4 => x.powf(2.0)?.powf(2.0),
        _ => x.powf(p as f32),
    }
}

/// Row h of the result is row (h + n) mod H of `x`. Shapes: [n, c, H, W] -> same.
fn roll_rows(x: &Tensor, n: i64) -> Result<Tensor> {
    let h = x.shape()[2] as i64;
    if n.rem_euclid(h) == 0 {
        return Ok(x.clone());
    }
    let rows: Vec<usize> = (0..h).map(|r| (r + n).rem_euclid(h) as usize).collect();
    x.index_select(2, &rows)
}
