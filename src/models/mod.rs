//! The GAN models, one folder per system; `image2image` holds what CycleGAN and pix2pix
//! share (the reference's networks, their options, translation).

pub mod contract;
pub mod cyclegan;
pub mod fastgan;
pub mod image2image;
pub mod losses;
pub mod pix2pix;
pub mod stargan;
pub mod stargan_v2;

pub use contract::{GanModel, Length, Step, Visuals};
