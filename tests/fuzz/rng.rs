//! Randomness: splitmix64, one independent stream per case.

// Randomness: splitmix64, one independent stream per case.

pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform in 0..n (0 when n is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    /// 0, 0xff, 0x7f, 0x80 or a random byte.
    pub(crate) fn interesting_byte(&mut self) -> u8 {
        let random = self.next() as u8;
        *self.pick(&[0, 0xff, 0x7f, 0x80, random])
    }
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

pub(crate) fn case_rng(seed: u64, reader: &str, case: u64) -> Rng {
    let name = reader
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    Rng(mix(seed ^ mix(name) ^ mix(case.wrapping_add(1))))
}
