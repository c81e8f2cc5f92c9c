//! Shape arithmetic shared by the ops: broadcasting, strides, axis normalisation.

use super::MAX_RANK;
use crate::error::{Error, Result};

/// Row-major strides of a contiguous shape.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Checks a shape's rank against the engine's limit.
pub fn check_rank(op: &'static str, shape: &[usize]) -> Result<()> {
    if shape.len() > MAX_RANK {
        return Err(Error::Rank {
            op,
            expected: format!("at most {MAX_RANK} dimensions"),
            shape: shape.to_vec(),
        });
    }
    Ok(())
}

/// NumPy broadcasting of two shapes: align right, sizes equal or one of them 1.
pub fn broadcast(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank { a[i + a.len() - rank] } else { 1 };
        let db = if i + b.len() >= rank { b[i + b.len() - rank] } else { 1 };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return Err(Error::ShapeMismatch { op, lhs: a.to_vec(), rhs: b.to_vec() }),
        };
    }
    Ok(out)
}

/// Strides for reading a tensor of shape `from` as if it had the broadcast shape `to`
/// (stride 0 along broadcast dimensions), padded on the left to rank 4.
pub fn broadcast_strides4(from: &[usize], to: &[usize]) -> [u32; 4] {
    let own = strides(from);
    let mut out = [0u32; 4];
    let lead = to.len() - from.len();
    for (i, slot) in out.iter_mut().skip(4 - to.len()).enumerate() {
        if i >= lead && from[i - lead] != 1 {
            *slot = own[i - lead] as u32;
        }
    }
    out
}

/// A shape padded on the left with ones to rank 4.
pub fn pad4(shape: &[usize]) -> [u32; 4] {
    let mut out = [1u32; 4];
    for (i, &d) in shape.iter().enumerate() {
        out[4 - shape.len() + i] = d as u32;
    }
    out
}

/// Turns a possibly negative axis into an index, checking it.
pub fn axis(op: &'static str, axis: isize, shape: &[usize]) -> Result<usize> {
    let rank = shape.len() as isize;
    let a = if axis < 0 { axis + rank } else { axis };
    if a < 0 || a >= rank.max(1) || (rank == 0) {
        return Err(Error::Axis { op, axis, shape: shape.to_vec() });
    }
    Ok(a as usize)
}

/// Normalises a list of axes, sorted and free of repeats. An empty list means every axis.
pub fn axes(op: &'static str, list: &[isize], shape: &[usize]) -> Result<Vec<usize>> {
    if list.is_empty() {
        return Ok((0..shape.len()).collect());
    }
    let mut out = Vec::with_capacity(list.len());
    for &a in list {
        let a2 = axis(op, a, shape)?;
        if out.contains(&a2) {
            return Err(Error::Axis { op, axis: a, shape: shape.to_vec() });
        }
        out.push(a2);
    }
    out.sort_unstable();
    Ok(out)
}

/// A rank-4 index space read through two sets of strides (two operands, or a copy's source
/// and destination), with axes of size 1 dropped and neighbours merged where both step
/// through them as one (contiguous in each, or broadcast in each), padded on the left to 4
/// with the first entry 1: the layout of the grid kernels (`binary_grid`, `copy_grid`),
/// whose outer indices are workgroup ids. None when more than three axes remain or an
/// axis exceeds a dispatch dimension.
pub fn collapse(shape: [u32; 4], a: [u32; 4], b: [u32; 4]) -> Option<([u32; 4], [u32; 4], [u32; 4])> {
    let mut axes: Vec<[u32; 3]> = Vec::new(); // (size, a stride, b stride), outermost first
    for i in (0..4).filter(|&i| shape[i] != 1) {
        let next = [shape[i], a[i], b[i]];
        match axes.last_mut() {
            Some(last) if last[1] == next[1] * next[0] && last[2] == next[2] * next[0] => {
                *last = [last[0] * next[0], next[1], next[2]];
            }
            _ => axes.push(next),
        }
    }
    let too_wide = axes.last().is_some_and(|ax| ax[0].div_ceil(256) > 65535);
    if axes.len() > 3 || too_wide || axes.iter().rev().skip(1).any(|ax| ax[0] > 65535) {
        return None;
    }
    let (mut dims, mut sa, mut sb) = ([1u32; 4], [0u32; 4], [0u32; 4]);
    for (slot, ax) in (4 - axes.len()..4).zip(&axes) {
        [dims[slot], sa[slot], sb[slot]] = *ax;
    }
    Some((dims, sa, sb))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast("t", &[3, 1, 5], &[4, 1]).unwrap(), vec![3, 4, 5]);
        assert_eq!(broadcast("t", &[], &[2, 3]).unwrap(), vec![2, 3]);
        assert!(broadcast("t", &[3, 2], &[3]).is_err());
        assert_eq!(broadcast_strides4(&[4, 1], &[3, 4, 5]), [0, 0, 1, 0]);
        assert_eq!(broadcast_strides4(&[3, 1, 5], &[3, 4, 5]), [0, 5, 0, 1]);
    }

    #[test]
    fn axes_are_normalised() {
        assert_eq!(axes("t", &[-1, 0], &[2, 3, 4]).unwrap(), vec![0, 2]);
        assert!(axes("t", &[3], &[2, 3, 4]).is_err());
        assert!(axes("t", &[1, -2], &[2, 3, 4]).is_err());
        assert_eq!(strides(&[2, 3, 4]), vec![12, 4, 1]);
    }

    #[test]
    fn collapse_merges_axes_both_sides_step_through_alike() {
        // A contiguous copy is one run.
        assert_eq!(
            collapse([2, 3, 4, 5], [60, 20, 5, 1], [60, 20, 5, 1]),
            Some(([1, 1, 1, 120], [0, 0, 0, 1], [0, 0, 0, 1]))
        );
        // A per-channel operand: [n, c, h·w] with the channel stride alone.
        assert_eq!(
            collapse([2, 3, 4, 5], [60, 20, 5, 1], [0, 1, 0, 0]),
            Some(([1, 2, 3, 20], [0, 60, 20, 1], [0, 0, 1, 0]))
        );
        // Size-1 axes vanish; all of them leave a single element.
        assert_eq!(collapse([1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]), Some(([1, 1, 1, 1], [0; 4], [0; 4])));
        // Four axes that do not merge, and an outer axis too long for a dispatch.
        assert_eq!(collapse([2, 3, 4, 5], [15, 5, 0, 1], [4, 0, 1, 0]), None);
        assert_eq!(collapse([1, 1, 70000, 2], [0, 0, 2, 1], [0, 0, 0, 1]), None);
    }
}
