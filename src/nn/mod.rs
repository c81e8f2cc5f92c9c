//! Layers with PyTorch's `state_dict` names, initialisers and spectral normalisation, and
//! LPIPS, the frozen perceptual distance FastGAN trains with.

pub mod activation;
pub mod init;
pub mod layers;
pub mod lpips;
pub mod module;
pub mod norm;
pub mod spectral;

pub use activation::{Activation, Dropout, MaxPool2d, Pad};
pub use layers::{Conv2d, ConvTranspose2d, Linear, Weighted};
pub use lpips::Lpips;
pub use module::{Layer, Module, ModuleExt, Role, Sequential};
pub use norm::Norm;
pub use spectral::SpectralNorm;
