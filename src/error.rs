//! The one error type of the crate.

use crate::array::Shape;
use thiserror::Error;

/// Everything that can go wrong in xcorr. Size variants carry what was expected and what came.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// An array's data length does not match the product of its shape.
    #[error(
        "{what}: data length {got} does not match shape {shape} (expected {expected} elements)"
    )]
    LengthMismatch {
        /// Which data.
        what: String,
        /// The shape it was given.
        shape: Shape,
        /// The shape's element count.
        expected: usize,
        /// The data's length.
        got: usize,
    },
    /// An array with zero elements.
    #[error("{what} is empty (shape {shape})")]
    Empty {
        /// Which input.
        what: String,
        /// Its shape (one axis of length 0).
        shape: Shape,
    },
    /// Arrays of more than two dimensions, or inputs of different dimensionality.
    #[error("{0}")]
    Dimensions(String),
    /// Shapes that the requested mode does not allow (e.g. `valid` with mixed sizes).
    #[error("{0}")]
    ShapeMismatch(String),
    /// NaN or infinity in an input: refused, because an FFT spreads one NaN over the whole output.
    #[error("{what} contains a non-finite value ({value}) at index {index}")]
    NonFinite {
        /// Which input.
        what: String,
        /// The value (`NaN`, `inf`, `-inf`).
        value: String,
        /// Where, as `[row, col]` or a flat index.
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
    /// A job that does not fit a device limit; `limit` names the limit. Sizes (limits named
    /// `*_size`) are in bytes, other limits are counts.
    #[error("{}", describe_device_limit(limit, *needed, *allowed))]
    DeviceLimit {
        /// The `wgpu::Limits` field, e.g. `max_storage_buffer_binding_size`.
        limit: String,
        /// What the job needs.
        needed: u64,
        /// What the device allows.
        allowed: u64,
    },
    /// A GPU failure (lost device, validation error, failed map); retrying may help.
    #[error("GPU error: {0}")]
    Gpu(String),
    /// A job whose memory estimate exceeds the limit it was given (see
    /// [`crate::spec::Plan::memory_bytes`]); both in bytes.
    #[error(
        "{what} needs about {} of memory, more than the limit of {}",
        format_bytes(*needed),
        format_bytes(*allowed)
    )]
    Memory {
        /// The job.
        what: String,
        /// Its estimate in bytes.
        needed: u64,
        /// The limit in bytes.
        allowed: u64,
    },
    /// Reading or writing a file.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

fn describe_device_limit(limit: &str, needed: u64, allowed: u64) -> String {
    let (needed, allowed) = if limit.ends_with("size") {
        (format_bytes(needed), format_bytes(allowed))
    } else {
        (needed.to_string(), allowed.to_string())
    };
    format!(
        "the job needs {needed} for the GPU's {limit}, but the device allows {allowed} \
         (the CPU backend, --backend cpu, has no such limit)"
    )
}

/// A byte count for people: `512 bytes`, `1.5 KiB`, `8.0 GiB`.
pub fn format_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Shorthand for `Result<T, xcorr::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_limits_have_units_and_a_way_out() {
        let e = Error::DeviceLimit {
            limit: "max_buffer_size".into(),
            needed: 3 << 30,
            allowed: 256 << 20,
        };
        assert_eq!(
            e.to_string(),
            "the job needs 3.0 GiB for the GPU's max_buffer_size, but the device allows \
             256.0 MiB (the CPU backend, --backend cpu, has no such limit)"
        );
        assert_eq!(format_bytes(1023), "1023 bytes");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(u64::MAX), "16.0 EiB");
    }
}
