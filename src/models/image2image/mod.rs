//! What CycleGAN and pix2pix share, as the reference repo shares it: the networks
//! (`networks.py`), their options and initialisation, the dataset options, and
//! translation with a trained generator.

pub mod args;
pub mod infer;
pub mod nets;
pub mod options;
pub mod translate;

pub use nets::{Net, NetConfig, NormKind};
pub use options::{init_normal, DiscriminatorOptions, GeneratorOptions, NetD, NetG};
