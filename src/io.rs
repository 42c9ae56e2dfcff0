//! Files in and out: `.npy` arrays, images, and heatmaps of results.
//!
//! * [`read_npy`] reads float32, float64, complex64 and complex128 arrays, and uint8 arrays as
//!   float32 holding the raw values 0..=255 (no scaling; an 8-bit image saved by numpy keeps
//!   its numbers). Either byte order; C or Fortran order (Fortran arrays are transposed into
//!   row-major, so `a[r, c]` is the same element as in numpy).
//! * [`read_image`] reads PNG, JPEG, TIFF, BMP and GIF as grayscale float32 in `[0, 1]`,
//!   shape `(height, width)`.
//! * [`write_npy`] writes results as float32 or complex64; [`write_npy_any`] keeps the dtype.
//! * [`write_heatmap_png`] colours an array with the turbo colormap, min–max scaled.
//!
//! Every write goes to a temporary file in the destination directory that is renamed over the
//! destination only once it is complete, so a failure never leaves a half-written file.
//!
//! Errors name the file: `Error::File { path, message }`.
//!
//! ```
//! use xcorr::io::{read_npy, write_npy_any, AnyArray};
//! use xcorr::{Array, Shape};
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("a.npy");
//! let a = Array::from_fn(Shape::d2(2, 3), |r, c| (10 * r + c) as f64);
//! write_npy_any(&path, &AnyArray::F64(a.clone())).unwrap();
//! assert_eq!(read_npy(&path).unwrap(), AnyArray::F64(a));
//! ```

use crate::array::{Array, Element, Real, Shape};
use crate::error::{Error, Result};
use npyz::{DType, NpyFile, NpyHeader, Order, TypeChar, TypeStr, WriterBuilder};
use num_complex::Complex;
use std::fmt;
use std::io::{self, BufWriter, Cursor, Write};
use std::path::{Path, PathBuf};

/// Image file extensions that [`read_input`] hands to [`read_image`] (lower case).
pub const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "tif", "tiff", "bmp", "gif"];

/// The first bytes of every `.npy` file.
const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// Height in pixels of the strip that [`write_heatmap_png`] draws for a 1-D array.
pub const STRIP_HEIGHT: u32 = 32;

/// An array of one of the element types xcorr computes in, as read from a file.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyArray {
    F32(Array<f32>),
    F64(Array<f64>),
    C32(Array<Complex<f32>>),
    C64(Array<Complex<f64>>),
}

impl AnyArray {
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

/// What kind of file an output path asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    /// `.npy`: the numbers.
    Npy,
    /// `.png`: a turbo heatmap.
    Png,
}

fn file_error(path: &Path, message: impl Into<String>) -> Error {
    Error::File {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// An I/O error as a short phrase, without the "(os error 2)" tail for the common cases.
fn io_message(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::IsADirectory => "is a directory, not a file".into(),
        _ => e.to_string(),
    }
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
}

/// Check an output path before any work is done: the extension must be `.npy` or `.png`
/// (any case), the path must not be a directory, and its directory must exist.
pub fn check_output_path(path: impl AsRef<Path>) -> Result<OutputKind> {
    let path = path.as_ref();
    let kind = match extension(path).as_deref() {
        Some("npy") => OutputKind::Npy,
        Some("png") => OutputKind::Png,
        Some(other) => {
            return Err(file_error(
                path,
                format!("unknown output type '.{other}' (expected .npy or .png)"),
            ))
        }
        None => return Err(file_error(path, "output needs an extension, .npy or .png")),
    };
    if path.is_dir() {
        return Err(file_error(path, "is a directory, not a file"));
    }
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(file_error(
            path,
            format!("directory '{}' does not exist", dir.display()),
        ));
    }
    Ok(kind)
}

/// The directory a path lives in (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Read a `.npy` file holding a 1-D or 2-D array (see the module docs for the dtypes).
///
/// Refused with an [`Error::File`] naming the file: a missing or unreadable file, a header
/// that is not a valid npy header, data shorter than the header promises, an unsupported
/// dtype (named, e.g. `int64 ('<i8')`), 0-D or 3-D and higher arrays (the shape is named),
/// and empty arrays. Bytes after the data are ignored, as numpy does.
pub fn read_npy(path: impl AsRef<Path>) -> Result<AnyArray> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| file_error(path, io_message(&e)))?;
    if bytes.is_empty() {
        return Err(file_error(path, "empty file (0 bytes), not a .npy array"));
    }
    let header_cut_short = || file_error(path, "truncated: the file ends inside the .npy header");
    if !bytes.starts_with(NPY_MAGIC) {
        return Err(if NPY_MAGIC.starts_with(&bytes) {
            header_cut_short()
        } else {
            file_error(
                path,
                "not a .npy file (it does not start with the npy magic bytes)",
            )
        });
    }
    let mut cursor = Cursor::new(&bytes[..]);
    let header = NpyHeader::from_reader(&mut cursor).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            header_cut_short()
        } else {
            file_error(path, format!("not a valid .npy file ({e})"))
        }
    })?;
    let data = &bytes[cursor.position() as usize..];

    let dims = header.shape().to_vec();
    let dims_text = numpy_shape(&dims);
    let type_str = match header.dtype() {
        DType::Plain(t) => t,
        other => {
            return Err(file_error(
                path,
                format!(
                    "unsupported dtype {} (structured arrays are not supported)",
                    other.descr()
                ),
            ))
        }
    };
    let kind = ElementKind::of(&type_str).ok_or_else(|| {
        file_error(
            path,
            format!(
                "unsupported dtype {} (supported: float32, float64, complex64, complex128, \
                 uint8; convert with a.astype(np.float32))",
                describe_type(&type_str)
            ),
        )
    })?;
    let shape = match *dims.as_slice() {
        [n] => Shape::d1(to_usize(path, n)?),
        [r, c] => Shape::d2(to_usize(path, r)?, to_usize(path, c)?),
        _ => {
            return Err(file_error(
                path,
                format!(
                    "{}-D array of shape {dims_text}; xcorr reads 1-D or 2-D arrays",
                    dims.len()
                ),
            ))
        }
    };
    if shape.is_empty() {
        return Err(file_error(
            path,
            format!("empty array of shape {dims_text}"),
        ));
    }
    let needed = (shape.len() as u128) * (kind.size() as u128);
    if (data.len() as u128) < needed {
        return Err(file_error(
            path,
            format!(
                "truncated: a {} array of shape {dims_text} needs {needed} bytes of data, the \
                 file holds {}",
                kind.name(),
                data.len()
            ),
        ));
    }
    let order = header.order();
    let file = NpyFile::with_header(header, data);
    let read_err = |e: io::Error| file_error(path, format!("cannot read data ({e})"));
    Ok(match kind {
        ElementKind::U8 => {
            let v: Vec<u8> = file.into_vec().map_err(read_err)?;
            AnyArray::F32(to_row_major(
                v.into_iter().map(f32::from).collect(),
                shape,
                order,
            ))
        }
        ElementKind::F32 => AnyArray::F32(to_row_major(
            file.into_vec().map_err(read_err)?,
            shape,
            order,
        )),
        ElementKind::F64 => AnyArray::F64(to_row_major(
            file.into_vec().map_err(read_err)?,
            shape,
            order,
        )),
        ElementKind::C32 => AnyArray::C32(to_row_major(
            file.into_vec().map_err(read_err)?,
            shape,
            order,
        )),
        ElementKind::C64 => AnyArray::C64(to_row_major(
            file.into_vec().map_err(read_err)?,
            shape,
            order,
        )),
    })
}

/// The element types `read_npy` accepts.
#[derive(Clone, Copy)]
enum ElementKind {
    U8,
    F32,
    F64,
    C32,
    C64,
}

impl ElementKind {
    fn of(t: &TypeStr) -> Option<Self> {
        Some(match (t.type_char(), t.size_field()) {
            (TypeChar::Uint, 1) => ElementKind::U8,
            (TypeChar::Float, 4) => ElementKind::F32,
            (TypeChar::Float, 8) => ElementKind::F64,
            (TypeChar::Complex, 8) => ElementKind::C32,
            (TypeChar::Complex, 16) => ElementKind::C64,
            _ => return None,
        })
    }
    fn size(self) -> usize {
        match self {
            ElementKind::U8 => 1,
            ElementKind::F32 => 4,
            ElementKind::F64 | ElementKind::C32 => 8,
            ElementKind::C64 => 16,
        }
    }
    fn name(self) -> &'static str {
        match self {
            ElementKind::U8 => "uint8",
            ElementKind::F32 => "float32",
            ElementKind::F64 => "float64",
            ElementKind::C32 => "complex64",
            ElementKind::C64 => "complex128",
        }
    }
}

/// `int64 ('<i8')`: the numpy name where there is one, and the type string as stored.
fn describe_type(t: &TypeStr) -> String {
    let bits = t.size_field() * 8;
    let name = match t.type_char() {
        TypeChar::Bool => Some("bool".to_string()),
        TypeChar::Int => Some(format!("int{bits}")),
        TypeChar::Uint => Some(format!("uint{bits}")),
        TypeChar::Float => Some(format!("float{bits}")),
        TypeChar::Complex => Some(format!("complex{bits}")),
        TypeChar::ByteStr => Some("bytes".to_string()),
        TypeChar::UnicodeStr => Some("str".to_string()),
        TypeChar::DateTime => Some("datetime64".to_string()),
        TypeChar::TimeDelta => Some("timedelta64".to_string()),
        _ => None,
    };
    match name {
        Some(n) => format!("{n} ('{t}')"),
        None => format!("'{t}'"),
    }
}

/// `(2, 3, 4)`, `(5,)`, `()` as numpy prints shapes.
fn numpy_shape(dims: &[u64]) -> String {
    match dims {
        [n] => format!("({n},)"),
        _ => {
            let parts: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    }
}

fn to_usize(path: &Path, n: u64) -> Result<usize> {
    usize::try_from(n).map_err(|_| file_error(path, format!("dimension {n} is too large")))
}

/// Fortran-order data is column-major: element `(r, c)` sits at `c * rows + r`.
fn to_row_major<T: Element>(data: Vec<T>, shape: Shape, order: Order) -> Array<T> {
    let (rows, cols) = (shape.rows(), shape.cols());
    let data = if order == Order::Fortran && rows > 1 && cols > 1 {
        let mut out = Vec::with_capacity(data.len());
        for r in 0..rows {
            out.extend((0..cols).map(|c| data[c * rows + r]));
        }
        out
    } else {
        data
    };
    Array::new(data, shape).expect("length checked against the header")
}

/// Read an image (PNG, JPEG, TIFF, BMP, GIF) as grayscale float32 in `[0, 1]`, shape
/// `(height, width)`. Colour images become luma as the `image` crate computes it (Rec. 709
/// weights on the stored values); an alpha channel is ignored. 16-bit images keep their
/// precision.
pub fn read_image(path: impl AsRef<Path>) -> Result<Array<f32>> {
    let path = path.as_ref();
    let reader = image::ImageReader::open(path)
        .map_err(|e| file_error(path, io_message(&e)))?
        .with_guessed_format()
        .map_err(|e| file_error(path, io_message(&e)))?;
    let img = reader.decode().map_err(|e| {
        let message = match e {
            image::ImageError::IoError(io) if io.kind() == io::ErrorKind::UnexpectedEof => {
                "truncated image (the file ends early)".to_string()
            }
            image::ImageError::IoError(io) => io_message(&io),
            image::ImageError::Unsupported(u) => format!("unsupported image ({u})"),
            other => format!("cannot decode image ({other})"),
        };
        file_error(path, message)
    })?;
    let (width, height) = (img.width() as usize, img.height() as usize);
    if width == 0 || height == 0 {
        return Err(file_error(path, format!("empty image ({width}x{height})")));
    }
    // The luma weights sum to 1 only up to rounding: white can come out as 1.0000001.
    let gray: Vec<f32> = img
        .to_luma32f()
        .into_raw()
        .into_iter()
        .map(|v| v.clamp(0.0, 1.0))
        .collect();
    Ok(Array::new(gray, Shape::d2(height, width)).expect("luma buffer is width*height"))
}

/// Read a `.npy` file or an image, chosen by the extension (any case).
pub fn read_input(path: impl AsRef<Path>) -> Result<AnyArray> {
    let path = path.as_ref();
    match extension(path).as_deref() {
        Some("npy") => read_npy(path),
        Some(ext) if IMAGE_EXTENSIONS.contains(&ext) => read_image(path).map(AnyArray::F32),
        other => {
            let what = match other {
                Some(ext) => format!("unknown file type '.{ext}'"),
                None => "no file extension".to_string(),
            };
            Err(file_error(
                path,
                format!(
                    "{what} (expected .npy or an image: .{})",
                    IMAGE_EXTENSIONS.join(", .")
                ),
            ))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

/// Write `path` atomically: `fill` writes into a temporary file in the same directory, which
/// is renamed over `path` only when `fill` and the flush succeeded. On any error the temporary
/// file is removed and `path` is left as it was.
fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<&mut std::fs::File>) -> Result<()>,
) -> Result<()> {
    let dir = parent_dir(path);
    let mut builder = tempfile::Builder::new();
    builder.prefix(".xcorr-").suffix(".part");
    // NamedTempFile is owner-only by default; ask for 0666 so the umask decides, as for any
    // ordinary file.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.tempfile_in(&dir).map_err(|e| {
        file_error(
            path,
            format!(
                "cannot create a file in '{}': {}",
                dir.display(),
                io_message(&e)
            ),
        )
    })?;
    {
        let mut w = BufWriter::new(tmp.as_file_mut());
        fill(&mut w)?;
        w.flush()
            .map_err(|e| file_error(path, format!("cannot write: {}", io_message(&e))))?;
    }
    tmp.persist(path)
        .map_err(|e| file_error(path, format!("cannot write: {}", io_message(&e.error))))?;
    Ok(())
}

/// Write `data` with `shape` as an npy array of the element type `E`.
fn write_npy_typed<E: npyz::AutoSerialize + Copy>(
    path: &Path,
    shape: Shape,
    data: &[E],
) -> Result<()> {
    let dims: Vec<u64> = shape.dims().iter().map(|&d| d as u64).collect();
    write_atomic(path, |w| {
        let io_err = |e: io::Error| file_error(path, format!("cannot write: {}", io_message(&e)));
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&dims)
            .writer(w)
            .begin_nd()
            .map_err(io_err)?;
        writer.extend(data.iter().copied()).map_err(io_err)?;
        writer.finish().map_err(io_err)
    })
}

/// Write a result as `.npy`: float32 for real arrays, complex64 for complex ones (float64
/// results are narrowed; the computation itself ran at the inputs' precision).
pub fn write_npy<T: Element>(path: impl AsRef<Path>, array: &Array<T>) -> Result<()> {
    let path = path.as_ref();
    if T::IS_COMPLEX {
        let data: Vec<Complex<f32>> = array
            .data()
            .iter()
            .map(|v| {
                let c = v.to_complex();
                Complex::new(c.re.to_f64() as f32, c.im.to_f64() as f32)
            })
            .collect();
        write_npy_typed(path, array.shape(), &data)
    } else {
        let data: Vec<f32> = array
            .data()
            .iter()
            .map(|v| v.to_complex().re.to_f64() as f32)
            .collect();
        write_npy_typed(path, array.shape(), &data)
    }
}

/// Write an array as `.npy` keeping its dtype (float32, float64, complex64 or complex128).
pub fn write_npy_any(path: impl AsRef<Path>, array: &AnyArray) -> Result<()> {
    let path = path.as_ref();
    match array {
        AnyArray::F32(a) => write_npy_typed(path, a.shape(), a.data()),
        AnyArray::F64(a) => write_npy_typed(path, a.shape(), a.data()),
        AnyArray::C32(a) => write_npy_typed(path, a.shape(), a.data()),
        AnyArray::C64(a) => write_npy_typed(path, a.shape(), a.data()),
    }
}

/// Write an array as a PNG heatmap with the turbo colormap, scaled so that the minimum is
/// dark blue and the maximum dark red. Real arrays are coloured by value, complex ones by
/// magnitude. A flat array is one colour (the middle of the map); non-finite values, which
/// the engine never produces, are drawn black.
///
/// A 2-D array gives one pixel per element (rows = height). A 1-D array of length n gives
/// an n × [`STRIP_HEIGHT`] strip, each sample one column, so that it is visible at all.
pub fn write_heatmap_png<T: Element>(path: impl AsRef<Path>, array: &Array<T>) -> Result<()> {
    let path = path.as_ref();
    let values: Vec<f64> = array
        .data()
        .iter()
        .map(|v| {
            if T::IS_COMPLEX {
                v.abs_f64()
            } else {
                v.to_complex().re.to_f64()
            }
        })
        .collect();
    let shape = array.shape();
    let (width, rows) = (shape.cols(), shape.rows());
    let height = if shape.ndim() == 1 {
        STRIP_HEIGHT as usize
    } else {
        rows
    };
    if width == 0 || height == 0 {
        return Err(file_error(
            path,
            format!("cannot draw an empty array (shape {shape})"),
        ));
    }
    let (w32, h32) = match (u32::try_from(width), u32::try_from(height)) {
        (Ok(w), Ok(h)) => (w, h),
        _ => {
            return Err(file_error(
                path,
                format!("array {shape} is too large for a PNG"),
            ))
        }
    };

    let (lo, hi) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let span = hi - lo;
    let colour = |v: f64| -> [u8; 3] {
        if !v.is_finite() {
            return [0, 0, 0];
        }
        let t = if span > 0.0 && span.is_finite() {
            (v - lo) / span
        } else {
            0.5
        };
        let c = colorous::TURBO.eval_continuous(t);
        [c.r, c.g, c.b]
    };
    let mut pixels = Vec::with_capacity(width * height * 3);
    if shape.ndim() == 1 {
        let row: Vec<u8> = values.iter().flat_map(|&v| colour(v)).collect();
        for _ in 0..height {
            pixels.extend_from_slice(&row);
        }
    } else {
        pixels.extend(values.iter().flat_map(|&v| colour(v)));
    }

    write_atomic(path, |w| {
        use image::ImageEncoder;
        image::codecs::png::PngEncoder::new(w)
            .write_image(&pixels, w32, h32, image::ExtendedColorType::Rgb8)
            .map_err(|e| file_error(path, format!("cannot encode PNG ({e})")))
    })
}

/// Write `array` to `path` as the extension asks: numbers for `.npy` ([`write_npy`]), a
/// heatmap for `.png` ([`write_heatmap_png`]).
pub fn write_output<T: Element>(path: impl AsRef<Path>, array: &Array<T>) -> Result<OutputKind> {
    let path = path.as_ref();
    let kind = check_output_path(path)?;
    match kind {
        OutputKind::Npy => write_npy(path, array)?,
        OutputKind::Png => write_heatmap_png(path, array)?,
    }
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fortran_order_is_transposed() {
        // numpy: np.asfortranarray([[0, 1, 2], [3, 4, 5]]) stores 0 3 1 4 2 5.
        let a = to_row_major(
            vec![0.0f32, 3.0, 1.0, 4.0, 2.0, 5.0],
            Shape::d2(2, 3),
            Order::Fortran,
        );
        assert_eq!(a.data(), &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    }

    #[test]
    fn shapes_print_as_numpy_does() {
        assert_eq!(numpy_shape(&[5]), "(5,)");
        assert_eq!(numpy_shape(&[2, 3, 4]), "(2, 3, 4)");
        assert_eq!(numpy_shape(&[]), "()");
    }
}
