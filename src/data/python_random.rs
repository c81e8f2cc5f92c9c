//! CPython's `random` module (3.11), draw for draw, for the places where a reference repo
//! lets Python's generator decide something we must reproduce: StarGAN v1 splits CelebA
//! with `random.seed(1234); random.shuffle(lines)`.
//!
//! The generator is Matsumoto and Nishimura's MT19937 (`Modules/_randommodule.c`, which
//! follows their `mt19937ar.c`); the methods on top follow `Lib/random.py`. Only what the
//! references use is here: integer seeds up to 64 bits, `random()`, `getrandbits(k)` up to
//! 64 bits, `_randbelow(n)` and `shuffle`.

/// Words of MT19937 state.
const N: usize = 624;
/// The offset of the word that each twisted word is mixed with.
const M: usize = 397;
/// The twist matrix's last row.
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// A `random.Random` instance: 624 words of state and the index of the next one to use.
#[derive(Clone)]
pub struct PythonRandom {
    state: [u32; N],
    index: usize,
}

impl PythonRandom {
    /// `random.seed(n)` for an integer `n` ≥ 0: MT19937's `init_by_array`, whose key is
    /// `n` cut into 32-bit words, least significant first, with no high zero words;
    /// `n = 0` is the key `[0]`.
    pub fn seed(n: u64) -> PythonRandom {
        let (low, high) = (n as u32, (n >> 32) as u32);
        if high == 0 {
            PythonRandom::from_key(&[low])
        } else {
            PythonRandom::from_key(&[low, high])
        }
    }

    /// MT19937's `init_genrand`: the state filled from one word by Knuth's multiplier.
    fn from_word(s: u32) -> PythonRandom {
        let mut state = [0u32; N];
        state[0] = s;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32.wrapping_mul(prev ^ (prev >> 30)).wrapping_add(i as u32);
        }
        PythonRandom { state, index: N }
    }

    /// MT19937's `init_by_array`: `init_genrand(19650218)`, then two passes that fold the
    /// key into the state, then the top bit of word 0 set so the state is never all zero.
    fn from_key(key: &[u32]) -> PythonRandom {
        let mut r = PythonRandom::from_word(19_650_218);
        let mt = &mut r.state;
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_664_525)).wrapping_add(key[j]).wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        r
    }

    /// Regenerates all 624 words (the "twist"). Words past `k + M` wrap to ones this pass
    /// already rewrote, exactly as the reference's three loops do.
    fn twist(&mut self) {
        let mt = &mut self.state;
        for k in 0..N {
            let y = (mt[k] & UPPER_MASK) | (mt[(k + 1) % N] & LOWER_MASK);
            let odd = if y & 1 == 1 { MATRIX_A } else { 0 };
            mt[k] = mt[(k + M) % N] ^ (y >> 1) ^ odd;
        }
        self.index = 0;
    }

    /// MT19937's `genrand_uint32`: the next state word, tempered.
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `random.random()`: uniform in [0, 1) with 53 bits, the top 27 bits of one draw
    /// above the top 26 of the next.
    pub fn random(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `random.getrandbits(k)` for k ≤ 64: 0 for k = 0, else one draw per 32 bits, the
    /// first draw the least significant word and the last one cut to its top bits.
    ///
    /// Panics when k > 64, which would need Python's big integers; no caller asks for it.
    pub fn getrandbits(&mut self, k: u32) -> u64 {
        assert!(k <= 64, "getrandbits({k}): only up to 64 bits are supported");
        match k {
            0 => 0,
            1..=32 => u64::from(self.next_u32() >> (32 - k)),
            _ => {
                let low = u64::from(self.next_u32());
                let high = u64::from(self.next_u32() >> (64 - k));
                low | (high << 32)
            }
        }
    }

    /// `Random._randbelow(n)` (`_randbelow_with_getrandbits`): draws of `n.bit_length()`
    /// bits until one is below `n`.
    ///
    /// Panics when n = 0, for which Python 3.11 loops forever.
    pub fn randbelow(&mut self, n: u64) -> u64 {
        assert!(n > 0, "randbelow(0): the range is empty");
        let bits = u64::BITS - n.leading_zeros();
        loop {
            let r = self.getrandbits(bits);
            if r < n {
                return r;
            }
        }
    }

    /// `random.shuffle(items)`: Fisher-Yates from the back, swapping item i with item
    /// `_randbelow(i + 1)` for i = len - 1 down to 1.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.randbelow(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}
