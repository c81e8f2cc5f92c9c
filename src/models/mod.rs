//! The GAN models, one file per system.

pub mod contract;
pub mod cyclegan;
pub mod cyclegan_nets;
pub mod image_pool;
pub mod losses;
pub mod pix2pix;
pub mod translate;
