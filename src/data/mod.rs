//! Datasets: one small file per reference layout, each with its own batch type; the
//! shared transforms, background loader thread and host random generator, and CPython's
//! generator where a reference's data split depends on it.

pub mod aligned;
pub mod celeba;
pub mod image_folder;
pub mod labelled;
pub mod loader;
pub mod python_random;
pub mod rng;
pub mod scan;
pub mod synth;
pub mod synth_celeba;
pub mod synth_domains;
pub mod synth_fewshot;
pub mod transforms;
pub mod unaligned;

pub use loader::Loader;
pub use transforms::{Preprocess, PreprocessMode};
