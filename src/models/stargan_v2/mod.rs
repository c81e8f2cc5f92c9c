//! StarGAN v2 (Choi et al., 2020; clovaai/stargan-v2): diverse image synthesis for multiple domains.

pub mod data;
