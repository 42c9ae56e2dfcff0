//! Interop with files: `.npy` arrays (feature `npy`) and images (feature `image`).
//!
//! * [`read_npy`] reads 1-D and 2-D arrays of the dtypes below, in either byte order and C or
//!   Fortran order (Fortran arrays are transposed into row-major, so `a[r, c]` is the same
//!   element as in numpy); [`read_npy_planes`] also reads 3-D `(rows, cols, channels)`
//!   arrays as one [`Planes`] plane per channel. The header is parsed in linear time and
//!   every size is checked before anything is allocated.
//! * [`read_image`] reads PNG, JPEG, TIFF, BMP and GIF as grayscale float32 in `[0, 1]`,
//!   shape `(height, width)`, within a memory limit ([`read_image_limited`]).
//! * [`write_npy`] writes an array to any [`std::io::Write`] in its own dtype (float64 stays
//!   float64); [`write_npy_any`] does the same for an [`AnyArray`], [`write_npy_planes`] for
//!   planes (channels last).
//!
//! xcorr computes in four types; every dtype is read as the smallest of them that holds
//! each of its values exactly, with no scaling (an 8-bit image saved by numpy keeps its
//! numbers 0..=255):
//!
//! | `.npy` dtype                                                | read as [`AnyArray`] |
//! |-------------------------------------------------------------|----------------------|
//! | `bool` (0 or 1), `uint8`, `int8`, `uint16`, `int16`, `float16`, `float32` | `F32` (float32) |
//! | `uint32`, `int32`, `uint64`, `int64`, `float64`              | `F64` (float64)      |
//! | `complex64`                                                 | `C32` (complex64)    |
//! | `complex128`                                                | `C64` (complex128)   |
//!
//! float32's 24-bit significand holds every integer of up to 16 bits and every float16
//! exactly; 32-bit integers need float64 (float32 would round values past 2^24 = 16777216).
//! 64-bit integers are exact up to 2^53 and rounded to the nearest float64 beyond, as numpy's
//! `astype(np.float64)` rounds them. Other dtypes (float128, strings, dates, structured
//! arrays) are refused with their name.
//!
//! Only regular files are read (not directories, pipes or devices such as `/dev/zero`).
//! Errors name the file: `Error::File { path, message }`.
//!
//! ```
//! # #[cfg(feature = "npy")] {
//! use xcorr::io::{read_npy, write_npy_any, AnyArray};
//! use xcorr::{Array, Shape};
//! let dir = std::env::temp_dir().join(format!("xcorr-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("a.npy");
//! let a = Array::from_fn(Shape::d2(2, 3), |r, c| (10 * r + c) as f64);
//! write_npy_any(std::fs::File::create(&path).unwrap(), &AnyArray::F64(a.clone())).unwrap();
//! assert_eq!(read_npy(&path).unwrap(), AnyArray::F64(a));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # }
//! ```

use crate::array::{Array, Shape};
use crate::error::{Error, Result};
use num_complex::Complex;
use std::fmt;
use std::io;
use std::path::Path;

#[cfg(feature = "image")]
mod image;
#[cfg(feature = "npy")]
mod npy;
#[cfg(feature = "npy")]
pub mod npy_header;

#[cfg(feature = "image")]
pub use self::image::{
    read_image, read_image_from, read_image_limited, read_image_planes, read_image_planes_from,
    read_image_planes_limited, ImagePlanes, DEFAULT_IMAGE_MEMORY,
};
#[cfg(feature = "npy")]
pub use npy::{
    read_npy, read_npy_from, read_npy_limited, read_npy_planes, read_npy_planes_from, write_npy,
    write_npy_any, write_npy_planes,
};

/// Image file extensions that [`read_input`] hands to [`read_image`] (lower case).
pub const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "tif", "tiff", "bmp", "gif"];

/// An array of one of the element types xcorr computes in, as read from a file.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyArray {
    /// float32 (and the types promoted to it: bool, 8- and 16-bit integers, float16).
    F32(Array<f32>),
    /// float64 (and the 32- and 64-bit integers, promoted to it).
    F64(Array<f64>),
    /// complex64.
    C32(Array<Complex<f32>>),
    /// complex128.
    C64(Array<Complex<f64>>),
}

impl AnyArray {
    /// The array's shape.
    pub fn shape(&self) -> Shape {
        match self {
            AnyArray::F32(a) => a.shape(),
            AnyArray::F64(a) => a.shape(),
            AnyArray::C32(a) => a.shape(),
            AnyArray::C64(a) => a.shape(),
        }
    }

    /// The numpy name of the element type: `float32`, `float64`, `complex64`, `complex128`.
    pub fn dtype_name(&self) -> &'static str {
        match self {
            AnyArray::F32(_) => "float32",
            AnyArray::F64(_) => "float64",
            AnyArray::C32(_) => "complex64",
            AnyArray::C64(_) => "complex128",
        }
    }

    /// Whether the elements are complex.
    pub fn is_complex(&self) -> bool {
        matches!(self, AnyArray::C32(_) | AnyArray::C64(_))
    }

    /// Whether the elements are 64-bit floats (`float64` or `complex128`).
    pub fn is_double(&self) -> bool {
        matches!(self, AnyArray::F64(_) | AnyArray::C64(_))
    }

    /// As float32; complex arrays are refused rather than silently losing their imaginary part.
    pub fn to_f32(&self) -> Result<Array<f32>> {
        match self {
            AnyArray::F32(a) => Ok(a.clone()),
            AnyArray::F64(a) => Ok(a.map(|&v| v as f32)),
            _ => Err(self.not_real()),
        }
    }

    /// [`AnyArray::to_f32`] without a copy when the array already is float32.
    pub fn into_f32(self) -> Result<Array<f32>> {
        match self {
            AnyArray::F32(a) => Ok(a),
            other => other.to_f32(),
        }
    }

    /// [`AnyArray::to_f64`] without a copy when the array already is float64.
    pub fn into_f64(self) -> Result<Array<f64>> {
        match self {
            AnyArray::F64(a) => Ok(a),
            other => other.to_f64(),
        }
    }

    /// As float64; complex arrays are refused rather than silently losing their imaginary part.
    pub fn to_f64(&self) -> Result<Array<f64>> {
        match self {
            AnyArray::F32(a) => Ok(a.map(|&v| v as f64)),
            AnyArray::F64(a) => Ok(a.clone()),
            _ => Err(self.not_real()),
        }
    }

    /// As complex64 (real arrays get a zero imaginary part).
    pub fn to_c32(&self) -> Array<Complex<f32>> {
        match self {
            AnyArray::F32(a) => a.map(|&v| Complex::new(v, 0.0)),
            AnyArray::F64(a) => a.map(|&v| Complex::new(v as f32, 0.0)),
            AnyArray::C32(a) => a.clone(),
            AnyArray::C64(a) => a.map(|v| Complex::new(v.re as f32, v.im as f32)),
        }
    }

    /// As complex128 (real arrays get a zero imaginary part).
    pub fn to_c64(&self) -> Array<Complex<f64>> {
        match self {
            AnyArray::F32(a) => a.map(|&v| Complex::new(v as f64, 0.0)),
            AnyArray::F64(a) => a.map(|&v| Complex::new(v, 0.0)),
            AnyArray::C32(a) => a.map(|v| Complex::new(v.re as f64, v.im as f64)),
            AnyArray::C64(a) => a.clone(),
        }
    }

    fn not_real(&self) -> Error {
        Error::InvalidArgument(format!(
            "cannot convert a {} array to a real type without dropping its imaginary part",
            self.dtype_name()
        ))
    }
}

/// An array that may have channels, as [`read_npy_planes`] reads it: multi-channel data is
/// a `Vec` of equally shaped 2-D planes, one per channel, all of one element type.
#[derive(Clone, Debug, PartialEq)]
pub enum Planes {
    /// A 1-D or 2-D array: no channel axis.
    Single(AnyArray),
    /// A 3-D `(rows, cols, C)` array as its C planes `a[:, :, k]`, each `(rows, cols)`.
    Channels(Vec<AnyArray>),
}

impl Planes {
    /// The planes: one for [`Planes::Single`].
    pub fn planes(&self) -> &[AnyArray] {
        match self {
            Planes::Single(a) => std::slice::from_ref(a),
            Planes::Channels(planes) => planes,
        }
    }

    /// The planes, owned.
    pub fn into_planes(self) -> Vec<AnyArray> {
        match self {
            Planes::Single(a) => vec![a],
            Planes::Channels(planes) => planes,
        }
    }

    /// The number of channels of a 3-D array; `None` for a 1-D or 2-D one.
    pub fn channels(&self) -> Option<usize> {
        match self {
            Planes::Single(_) => None,
            Planes::Channels(planes) => Some(planes.len()),
        }
    }

    /// The shape as numpy has it: a plane's shape, with the channels last when there are any.
    pub fn describe_shape(&self) -> String {
        let plane = self.planes()[0].shape();
        match self.channels() {
            None => plane.to_string(),
            Some(c) => format!("({}, {}, {c})", plane.rows(), plane.cols()),
        }
    }
}

impl fmt::Display for AnyArray {
    /// `float32 (rows, cols)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.dtype_name(), self.shape())
    }
}

impl From<Array<f32>> for AnyArray {
    fn from(a: Array<f32>) -> Self {
        AnyArray::F32(a)
    }
}
impl From<Array<f64>> for AnyArray {
    fn from(a: Array<f64>) -> Self {
        AnyArray::F64(a)
    }
}
impl From<Array<Complex<f32>>> for AnyArray {
    fn from(a: Array<Complex<f32>>) -> Self {
        AnyArray::C32(a)
    }
}
impl From<Array<Complex<f64>>> for AnyArray {
    fn from(a: Array<Complex<f64>>) -> Self {
        AnyArray::C64(a)
    }
}

pub(crate) fn file_error(path: &Path, message: impl Into<String>) -> Error {
    Error::File {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// An I/O error as a short phrase, without the "(os error 2)" tail for the common cases.
pub fn io_message(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::IsADirectory => "is a directory, not a file".into(),
        _ => e.to_string(),
    }
}

/// The lower-case extension of a path, if any.
pub fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
}

/// Open a regular file for reading, with its length. Directories, pipes and devices are
/// refused before a byte is read: `/dev/zero` would otherwise stream forever.
pub(crate) fn open_regular(path: &Path) -> Result<(std::fs::File, u64)> {
    let file = std::fs::File::open(path).map_err(|e| file_error(path, io_message(&e)))?;
    let meta = file
        .metadata()
        .map_err(|e| file_error(path, io_message(&e)))?;
    if meta.is_dir() {
        return Err(file_error(path, "is a directory, not a file"));
    }
    if !meta.is_file() {
        return Err(file_error(
            path,
            "not a regular file (a device, pipe or socket)",
        ));
    }
    Ok((file, meta.len()))
}

/// Read a `.npy` file or an image, chosen by the extension (any case), with the default
/// limits ([`DEFAULT_IMAGE_MEMORY`] for images, none for `.npy`).
pub fn read_input(path: impl AsRef<Path>) -> Result<AnyArray> {
    read_input_impl(path.as_ref(), None)
}

/// [`read_input`] refusing inputs that need more than `max_bytes` to read (a `.npy` array's
/// data, an image's decoded pixels and float32 copy), checked before the data is read.
pub fn read_input_limited(path: impl AsRef<Path>, max_bytes: u64) -> Result<AnyArray> {
    read_input_impl(path.as_ref(), Some(max_bytes))
}

/// [`read_input_limited`] keeping the channels of a 3-D `.npy` array ([`read_npy_planes`]);
/// images are read as one grey plane.
pub fn read_input_planes_limited(path: impl AsRef<Path>, max_bytes: u64) -> Result<Planes> {
    let path = path.as_ref();
    match extension(path).as_deref() {
        #[cfg(feature = "npy")]
        Some("npy") => read_npy_planes(path, max_bytes),
        _ => read_input_impl(path, Some(max_bytes)).map(Planes::Single),
    }
}

#[allow(unused_variables)] // `limit` when a feature is off
fn read_input_impl(path: &Path, limit: Option<u64>) -> Result<AnyArray> {
    match extension(path).as_deref() {
        #[cfg(feature = "npy")]
        Some("npy") => read_npy_limited(path, limit.unwrap_or(u64::MAX)),
        #[cfg(feature = "image")]
        Some(ext) if IMAGE_EXTENSIONS.contains(&ext) => {
            read_image_limited(path, limit.unwrap_or(DEFAULT_IMAGE_MEMORY)).map(AnyArray::F32)
        }
        other => {
            let what = match other {
                Some(ext) => format!("unknown file type '.{ext}'"),
                None => "no file extension".to_string(),
            };
            Err(file_error(
                path,
                format!(
                    "{what} (expected .npy or an image: .{}; this build reads {})",
                    IMAGE_EXTENSIONS.join(", ."),
                    match (cfg!(feature = "npy"), cfg!(feature = "image")) {
                        (true, true) => "both",
                        (true, false) => ".npy only",
                        (false, true) => "images only",
                        (false, false) => "neither",
                    }
                ),
            ))
        }
    }
}
