//! The history of generated images that CycleGAN's discriminators see (Shrivastava et al.):
//! while the pool fills, each image is stored and returned; once full, each image is, with
//! probability ½, swapped for a random stored one.

use crate::error::Result;
use crate::tensor::Tensor;

pub struct ImagePool {
    size: usize,
    images: Vec<Tensor>,
    rng: u64,
}

impl ImagePool {
    /// A pool of `size` images (0 disables it); `seed` drives the swaps.
    pub fn new(size: usize, seed: u64) -> ImagePool {
        ImagePool { size, images: Vec::new(), rng: seed.max(1) }
    }

    fn uniform(&mut self) -> f64 {
        // xorshift64*: the pool's swaps need no cryptographic quality, only a seed.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        (self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Returns a batch of the same size: per image, itself or an older one.
    pub fn query(&mut self, batch: &Tensor) -> Result<Tensor> {
        if self.size == 0 {
            return Ok(batch.clone());
        }
        let n = batch.shape()[0];
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let image = batch.detach().narrow(0, i, 1)?;
            if self.images.len() < self.size {
                self.images.push(image.clone());
                out.push(image);
            } else if self.uniform() > 0.5 {
                let j = ((self.uniform() * self.size as f64) as usize).min(self.size - 1);
                out.push(std::mem::replace(&mut self.images[j], image));
            } else {
                out.push(image);
            }
        }
        Tensor::concat(&out, 0)
    }
}
