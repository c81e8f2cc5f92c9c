//! Datasets: the reference layouts, preprocessing, a background loader, synthetic sets.

pub mod aligned;
pub mod synth;
pub mod unaligned;
