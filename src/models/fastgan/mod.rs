//! FastGAN (Liu et al., 2021; odegeasslbc/FastGAN-pytorch): few-shot image synthesis with
//! skip-layer excitation in the generator and a self-supervised discriminator whose
//! decoders rebuild real images.

pub mod blocks;
pub mod nets;

pub use nets::{Discriminator, Generator};
