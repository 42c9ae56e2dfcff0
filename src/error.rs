//! The one error type of the crate.

use thiserror::Error;

/// Everything that can go wrong in xcorr. Size variants carry what was expected and what came.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// An array's data length does not match the product of its shape.
    #[error("data length {got} does not match shape {shape} (expected {expected} elements)")]
    LengthMismatch {
        shape: String,
        expected: usize,
        got: usize,
    },
    /// An array with zero elements.
    #[error("{what} is empty (shape {shape})")]
    Empty { what: String, shape: String },
    /// Arrays of more than two dimensions, or inputs of different dimensionality.
    #[error("{0}")]
    Dimensions(String),
    /// Shapes that the requested mode does not allow (e.g. `valid` with mixed sizes).
    #[error("{0}")]
    ShapeMismatch(String),
    /// NaN or infinity in an input: refused, because an FFT spreads one NaN over the whole output.
    #[error("{what} contains a non-finite value ({value}) at index {index}")]
    NonFinite {
        what: String,
        value: String,
        index: String,
    },
    /// A result that the element type cannot hold (it would overflow, or underflow to zero).
    #[error("{0}")]
    OutOfRange(String),
    /// A parameter outside its allowed range.
    #[error("{0}")]
    InvalidArgument(String),
    /// The requested backend does not exist in this build or on this machine.
    #[error("{0}")]
    BackendUnavailable(String),
    /// A job that does not fit a device limit; `limit` names the limit.
    #[error("job needs {needed} for {limit}, but the device allows {allowed}")]
    DeviceLimit {
        limit: String,
        needed: u64,
        allowed: u64,
    },
    /// A GPU failure (lost device, validation error, failed map); retrying may help.
    #[error("GPU error: {0}")]
    Gpu(String),
    /// Reading or writing a file.
    #[error("{path}: {message}")]
    File { path: String, message: String },
}

/// Shorthand for `Result<T, xcorr::Error>`.
pub type Result<T> = std::result::Result<T, Error>;
