//! One error type for the whole crate. Variants carry the op name and the shapes involved,
//! so a message alone says what went wrong and where.

use thiserror::Error;

/// Everything that can go wrong in gantry, from adapter selection to a bad shape.
#[derive(Debug, Error)]
pub enum Error {
    /// No GPU (or CPU Vulkan driver) could be opened.
    #[error("no usable GPU adapter: {0}\nInstall a GPU driver, or on Debian/Ubuntu the CPU Vulkan driver: `apt-get install mesa-vulkan-drivers` (lavapipe). `gantry devices` lists what wgpu sees.")]
    NoAdapter(String),
    /// The adapter was found but the device could not be opened.
    #[error("could not open the GPU device: {0}")]
    Device(String),
    /// Two operands' shapes do not fit together.
    #[error("{op}: shapes {lhs:?} and {rhs:?} do not match")]
    ShapeMismatch { op: &'static str, lhs: Vec<usize>, rhs: Vec<usize> },
    /// A tensor has the wrong number of dimensions.
    #[error("{op}: expected {expected}, got a tensor of shape {shape:?}")]
    Rank { op: &'static str, expected: String, shape: Vec<usize> },
    /// An axis index is outside a tensor's rank, or repeated.
    #[error("{op}: axis {axis} is invalid for a tensor of shape {shape:?}")]
    Axis { op: &'static str, axis: isize, shape: Vec<usize> },
    /// Any other bad argument: a message naming the op and the value.
    #[error("{op}: {msg}")]
    Invalid { op: &'static str, msg: String },
    /// Host data does not fill the requested shape.
    #[error("{op}: {len} values cannot fill shape {shape:?} ({numel} elements)")]
    DataLength { op: &'static str, len: usize, shape: Vec<usize>, numel: usize },
    /// Autograd was asked for a gradient that is not defined.
    #[error("autograd: {0}")]
    Grad(String),
    /// A file could not be read or written, or its contents are malformed.
    #[error("{path}: {msg}")]
    File { path: String, msg: String },
    /// The GPU failed after the device opened (out of memory, a validation error, a lost
    /// device); the message says what to change.
    #[error("{0}")]
    Gpu(String),
    /// Reading a GPU buffer back to the host failed.
    #[error("readback failed: {0}")]
    Readback(String),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
