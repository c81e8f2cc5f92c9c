//! StarGAN v2 (Choi et al., 2020; clovaai/stargan-v2): diverse image synthesis across
//! several domains with one generator, steered by a style code from a mapping network
//! (latent-guided) or a style encoder (reference-guided).

pub mod blocks;
pub mod losses;
pub mod nets;

pub use nets::{Discriminator, Generator, MappingNetwork, StyleEncoder};
