//! The GAN models, one file per system.

pub mod cyclegan_nets;
pub mod translate;
