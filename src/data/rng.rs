//! The one host-side random generator: xorshift64 (Marsaglia's 13/7/17 triple). Loaders,
//! synthetic sets and CycleGAN's image pool draw from it. Its whole state is one `u64`, so
//! a checkpoint can store it and a resumed run draws the same numbers; `for_item` derives
//! an independent stream per item, so a loader's draws do not depend on how far ahead its
//! background thread has read.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostRng(u64);

/// SplitMix64's finaliser: spreads nearby inputs (seed, item) over the whole state space.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl HostRng {
    /// A generator whose first state is `seed` (zero, xorshift's fixed point, becomes 1).
    pub fn new(seed: u64) -> HostRng {
        HostRng(seed.max(1))
    }

    /// The stream for item `index` of the sequence named by `seed` and `stream`.
    pub fn for_item(seed: u64, stream: u64, index: u64) -> HostRng {
        HostRng::new(mix(mix(seed ^ stream.rotate_left(32)).wrapping_add(index)))
    }

    /// The state, to store in a checkpoint; `HostRng::new(state)` continues from it.
    pub fn state(&self) -> u64 {
        self.0
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// An index in 0..n (0 when n is 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 11) as usize) % n.max(1)
    }

    /// A Fisher-Yates permutation of 0..n.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, self.below(i + 1));
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::HostRng;

    #[test]
    fn state_round_trips_and_items_are_independent() {
        let mut a = HostRng::new(7);
        a.uniform();
        let mut b = HostRng::new(a.state());
        assert_eq!(a.uniform(), b.uniform());
        let (x, y) = (HostRng::for_item(1, 0, 5), HostRng::for_item(1, 0, 6));
        assert_ne!(x, y);
        assert_eq!(x, HostRng::for_item(1, 0, 5));
        assert_ne!(HostRng::for_item(1, 1, 5), x, "streams differ");
        let mut p = HostRng::new(3).permutation(10);
        p.sort_unstable();
        assert_eq!(p, (0..10).collect::<Vec<_>>());
        assert!((0..1000).all(|_| a.below(3) < 3));
    }
}
