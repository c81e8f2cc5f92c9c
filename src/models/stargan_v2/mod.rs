//! StarGAN v2 (clovaai/stargan-v2).

pub mod fan;
