//! Layers with PyTorch's `state_dict` names, initialisers and spectral normalisation, and
//! LPIPS, the frozen perceptual distance FastGAN trains with.

pub mod activation;
pub mod diffaug;
pub mod init;
pub mod layers;
pub mod lpips;
pub mod module;
pub mod noise;
pub mod norm;
pub mod sle;
pub mod spectral;

pub use activation::{Activation, Dropout, MaxPool2d, Pad, Resample};
pub use layers::{Conv2d, ConvTranspose2d, Linear, Weighted};
pub use lpips::Lpips;
pub use module::{Layer, Module, ModuleExt, Role, Sequential};
pub use noise::{NoiseInjection, NoiseQueue};
pub use norm::Norm;
pub use sle::Sle;
pub use spectral::{spectral_conv, SpectralNorm};
