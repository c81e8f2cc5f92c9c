//! The history of generated images that CycleGAN's discriminators see (Shrivastava et al.):
//! while the pool fills, each image is stored and returned; once full, each image is, with
//! probability ½, swapped for a random stored one.

use crate::data::rng::HostRng;
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::{HostTensor, NamedTensors};
use crate::tensor::Tensor;

pub struct ImagePool {
    size: usize,
    images: Vec<Tensor>,
    rng: HostRng,
}

impl ImagePool {
    /// A pool of `size` images (0 disables it); `seed` drives the swaps.
    pub fn new(size: usize, seed: u64) -> ImagePool {
        ImagePool { size, images: Vec::new(), rng: HostRng::new(seed) }
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
            } else if self.rng.uniform() > 0.5 {
                let j = ((self.rng.uniform() * self.size as f64) as usize).min(self.size - 1);
                out.push(std::mem::replace(&mut self.images[j], image));
            } else {
                out.push(image);
            }
        }
        Tensor::concat(&out, 0)
    }

    /// The stored images and the generator's state, under `prefix`.
    pub fn state(&self, prefix: &str) -> Result<NamedTensors> {
        let mut out = vec![(format!("{prefix}.rng"), HostTensor::ints(vec![self.rng.state() as i64]))];
        for (i, img) in self.images.iter().enumerate() {
            out.push((format!("{prefix}.{i}"), HostTensor::from_tensor(img)?));
        }
        Ok(out)
    }

    /// Restores what `state` saved.
    pub fn load_state(&mut self, prefix: &str, state: &NamedTensors, device: &Device) -> Result<()> {
        let find = |k: &str| state.iter().find(|(n, _)| n == k).map(|(_, t)| t);
        let missing =
            |k: &str| Error::Invalid { op: "image pool", msg: format!("the saved state has no {k}") };
        let key = format!("{prefix}.rng");
        let rng = find(&key).and_then(|t| t.as_ints()?.first().copied()).ok_or_else(|| missing(&key))?;
        self.rng = HostRng::new(rng as u64);
        self.images.clear();
        while let Some(img) = find(&format!("{prefix}.{}", self.images.len())) {
            if self.images.len() == self.size {
                return Err(Error::Invalid {
                    op: "image pool",
                    msg: format!("the saved pool holds more than --pool-size {} images", self.size),
                });
            }
            self.images.push(img.to_tensor(device)?);
        }
        Ok(())
    }
}
