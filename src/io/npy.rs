//! `.npy` arrays in and out (feature `npy`).
//!
//! The header goes through [`super::npy_header`] (linear time, length-capped); the data is
//! decoded here, straight into the type xcorr computes in ([`Dtype::promoted`]): decoding
//! directly lets every size be checked before anything is allocated.

use super::npy_header::{self, PreambleError, MAGIC};
use super::{file_error, io_message, open_regular, AnyArray, Planes};
use crate::array::{Array, Element, Real, Shape};
use crate::error::{Error, Result};
use num_complex::Complex;
use std::io::{self, Read, Write};
use std::path::Path;

/// Read a `.npy` file holding a 1-D or 2-D array (see the module docs for the dtypes and
/// what each is promoted to).
///
/// Refused with an [`Error::File`] naming the file: a missing, unreadable or non-regular file
/// (a directory, `/dev/zero`, a pipe), a header that is not a valid npy header (or longer
/// than [`npy_header::MAX_HEADER_LEN`]), data shorter than the header promises, an
/// unsupported dtype (named, e.g. `float128 ('<f16')`), 0-D or 3-D and higher arrays
/// (the shape is named; [`read_npy_planes`] reads 3-D ones), empty arrays, and shapes whose
/// element count or byte size does not fit in memory. Bytes after the data are ignored, as
/// numpy does.
pub fn read_npy(path: impl AsRef<Path>) -> Result<AnyArray> {
    read_npy_limited(path, u64::MAX)
}

/// [`read_npy`], refusing arrays whose decoded data needs more than `max_bytes` (checked from
/// the header, before the data is read).
pub fn read_npy_limited(path: impl AsRef<Path>, max_bytes: u64) -> Result<AnyArray> {
    read_file(path.as_ref(), max_bytes, Accept::Plane).map(one_plane)
}

/// Read a `.npy` file holding a 1-D or 2-D array (one plane, as [`read_npy`] reads it) or a
/// 3-D `(rows, cols, channels)` array (one `(rows, cols)` plane per channel, as numpy's
/// `a[:, :, k]`), refusing arrays whose decoded data needs more than `max_bytes`.
///
/// ```
/// use xcorr::io::{read_npy_planes, write_npy_planes, Planes};
/// use xcorr::{Array, Shape};
/// let dir = std::env::temp_dir().join(format!("xcorr-doc-planes-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("rgb.npy");
/// let planes: Vec<Array<f32>> =
///     (0..3).map(|k| Array::from_fn(Shape::d2(2, 4), |r, c| (100 * k + 10 * r + c) as f32)).collect();
/// write_npy_planes(std::fs::File::create(&path).unwrap(), &planes).unwrap(); // shape (2, 4, 3)
/// let read = read_npy_planes(&path, u64::MAX).unwrap();
/// assert_eq!(read.channels(), Some(3));
/// assert_eq!(read.planes()[2].to_f32().unwrap(), planes[2]);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn read_npy_planes(path: impl AsRef<Path>, max_bytes: u64) -> Result<Planes> {
    read_file(path.as_ref(), max_bytes, Accept::Channels)
}

fn read_file(path: &Path, max_bytes: u64, accept: Accept) -> Result<Planes> {
    let (file, len) = open_regular(path)?;
    if len == 0 {
        return Err(file_error(path, "empty file (0 bytes), not a .npy array"));
    }
    read_from(io::BufReader::new(file), Some(len), max_bytes, accept)
        .map_err(|m| file_error(path, m))
}

/// Read a `.npy` array from any reader (e.g. `&bytes[..]`), as [`read_npy`] reads a file.
/// Errors are [`Error::InvalidArgument`] (there is no file to name).
pub fn read_npy_from(reader: impl Read) -> Result<AnyArray> {
    read_stream(reader, Accept::Plane).map(one_plane)
}

/// Read a `.npy` array from any reader as [`read_npy_planes`] reads a file (no size limit).
pub fn read_npy_planes_from(reader: impl Read) -> Result<Planes> {
    read_stream(reader, Accept::Channels)
}

fn read_stream(reader: impl Read, accept: Accept) -> Result<Planes> {
    read_from(reader, None, u64::MAX, accept)
        .map_err(|m| Error::InvalidArgument(format!(".npy data: {m}")))
}

fn one_plane(planes: Planes) -> AnyArray {
    match planes {
        Planes::Single(a) => a,
        Planes::Channels(_) => unreachable!("only Accept::Channels reads channels"),
    }
}

/// Which shapes a caller takes.
#[derive(Clone, Copy, PartialEq)]
enum Accept {
    /// 1-D or 2-D.
    Plane,
    /// 1-D, 2-D or 3-D `(rows, cols, channels)`.
    Channels,
}

/// How the elements of the file are laid out as xcorr arrays.
#[derive(Clone, Copy)]
enum Layout {
    Plane(Shape),
    Channels {
        rows: usize,
        cols: usize,
        channels: usize,
    },
}

/// `available`: the stream's length when known, so that a truncated file is refused before
/// its data is read.
fn read_from(
    mut r: impl Read,
    available: Option<u64>,
    max_bytes: u64,
    accept: Accept,
) -> std::result::Result<Planes, String> {
    const CUT_SHORT: &str = "truncated: the file ends inside the .npy header";
    let mut pre = read_up_to(&mut r, MAGIC.len() + 2 + 4)?;
    if pre.is_empty() {
        return Err("empty file (0 bytes), not a .npy array".into());
    }
    let (start, header_len) = match npy_header::preamble(&pre) {
        Ok(x) => x,
        Err(PreambleError::Truncated) => return Err(CUT_SHORT.into()),
        Err(PreambleError::NotNpy) => {
            return Err("not a .npy file (it does not start with the npy magic bytes)".into())
        }
        Err(PreambleError::Invalid(m)) => return Err(format!("not a valid .npy file ({m})")),
    };
    // The preamble read may have taken the first bytes of the header.
    let mut header = pre.split_off(start);
    let more = read_up_to(&mut r, header_len.saturating_sub(header.len()))?;
    header.extend_from_slice(&more);
    if header.len() < header_len {
        return Err(CUT_SHORT.into());
    }
    let h = npy_header::parse(&header[..header_len])
        .map_err(|m| format!("not a valid .npy file ({m})"))?;
    // A header shorter than the preamble read would have handed data bytes to `header`.
    let data_prefix = header.split_off(header_len);

    let dims_text = numpy_shape(&h.shape);
    let dtype = Dtype::of(&h.descr).map_err(|described| {
        format!(
            "unsupported dtype {described} (supported: {}; convert with \
             a.astype(np.float32))",
            Dtype::SUPPORTED
        )
    })?;
    let too_large = || format!("array of shape {dims_text} is too large for this machine");
    let dim = |n: u64| usize::try_from(n).map_err(|_| too_large());
    let layout = match (h.shape.as_slice(), accept) {
        (&[n], _) => Layout::Plane(Shape::d1(dim(n)?)),
        (&[r, c], _) => Layout::Plane(Shape::d2(dim(r)?, dim(c)?)),
        (&[r, c, k], Accept::Channels) => Layout::Channels {
            rows: dim(r)?,
            cols: dim(c)?,
            channels: dim(k)?,
        },
        (_, Accept::Plane) => {
            return Err(format!(
                "{}-D array of shape {dims_text}; xcorr reads 1-D or 2-D arrays here",
                h.shape.len()
            ))
        }
        (_, Accept::Channels) => {
            return Err(format!(
                "{}-D array of shape {dims_text}; xcorr reads 1-D, 2-D or 3-D (rows, cols, \
                 channels) arrays",
                h.shape.len()
            ))
        }
    };
    let count = match layout {
        Layout::Plane(shape) => shape.checked_len(),
        Layout::Channels {
            rows,
            cols,
            channels,
        } => rows.checked_mul(cols).and_then(|n| n.checked_mul(channels)),
    }
    .ok_or_else(too_large)?;
    if count == 0 {
        return Err(format!("empty array of shape {dims_text}"));
    }
    // The file's bytes, and the decoded array in the promoted type (what memory it takes;
    // planes of a 3-D array are a second copy while they are split).
    let fits = |n: Option<usize>| n.filter(|&n| n <= isize::MAX as usize);
    let needed = fits(count.checked_mul(dtype.size())).ok_or_else(too_large)?;
    let copies = if matches!(layout, Layout::Channels { .. }) {
        2
    } else {
        1
    };
    let decoded = fits(
        count
            .checked_mul(dtype.promoted_size())
            .and_then(|n| n.checked_mul(copies)),
    )
    .ok_or_else(too_large)?;
    if decoded as u64 > max_bytes {
        return Err(format!(
            "a {} array of shape {dims_text} needs {} as {}, more than the limit of {}",
            dtype.name(),
            crate::error::format_bytes(decoded as u64),
            dtype.promoted(),
            crate::error::format_bytes(max_bytes)
        ));
    }
    let truncated = |holds: u64| {
        format!(
            "truncated: a {} array of shape {dims_text} needs {needed} bytes of data, the file \
             holds {holds}",
            dtype.name()
        )
    };
    let data_start = (start + header_len) as u64;
    if let Some(len) = available {
        let holds = len.saturating_sub(data_start);
        if holds < needed as u64 {
            return Err(truncated(holds));
        }
    }
    let mut data = Data {
        prefix: data_prefix,
        reader: r,
        needed,
        got: 0,
    };
    let big = dtype.big_endian;
    let fortran = h.fortran_order;
    // Known lengths were checked above; a stream of unknown length grows its buffer as data
    // arrives, so a header that promises more than is sent costs no more than what is sent.
    let capacity = if available.is_some() {
        count
    } else {
        count.min(1 << 16)
    };
    let fail = |e: DataError| match e {
        DataError::Short(got) => truncated(got as u64),
        DataError::Io(m) => m,
    };
    // Decode with `$f` (bytes of one element, in the file's order, to the promoted type) and
    // lay the values out as planes.
    macro_rules! decode {
        ($f:expr) => {
            arrange(data.decode(capacity, $f).map_err(fail)?, layout, fortran)
        };
    }
    // Floats in this machine's byte order, from a file of checked length: read straight into
    // the array (one copy, no per-element decode; the usual frame of a batch).
    if available.is_some() && dtype.big_endian == cfg!(target_endian = "big") {
        match dtype.kind {
            Kind::F32 => {
                return Ok(arrange(
                    data.read_native::<f32>(count).map_err(fail)?,
                    layout,
                    fortran,
                ))
            }
            Kind::F64 => {
                return Ok(arrange(
                    data.read_native::<f64>(count).map_err(fail)?,
                    layout,
                    fortran,
                ))
            }
            _ => {}
        }
    }
    Ok(match dtype.kind {
        Kind::Bool => decode!(|b: [u8; 1]| f32::from(u8::from(b[0] != 0))),
        Kind::U8 => decode!(|b: [u8; 1]| f32::from(b[0])),
        Kind::I8 => decode!(|b: [u8; 1]| f32::from(b[0] as i8)),
        Kind::U16 => decode!(|b| f32::from(int::<u16, 2>(b, big))),
        Kind::I16 => decode!(|b| f32::from(int::<i16, 2>(b, big))),
        Kind::F16 => decode!(|b| f16_to_f32(int::<u16, 2>(b, big))),
        Kind::U32 => decode!(|b| f64::from(int::<u32, 4>(b, big))),
        Kind::I32 => decode!(|b| f64::from(int::<i32, 4>(b, big))),
        // Rounded to the nearest float64 beyond 2^53, as numpy's astype(np.float64) does.
        Kind::U64 => decode!(|b| int::<u64, 8>(b, big) as f64),
        Kind::I64 => decode!(|b| int::<i64, 8>(b, big) as f64),
        Kind::F32 => decode!(|b| f32::from_bits(int::<u32, 4>(b, big))),
        Kind::F64 => decode!(|b| f64::from_bits(int::<u64, 8>(b, big))),
        Kind::C64 => decode!(|b: [u8; 8]| Complex::new(
            f32::from_bits(int::<u32, 4>(half(&b, 0), big)),
            f32::from_bits(int::<u32, 4>(half(&b, 1), big))
        )),
        Kind::C128 => decode!(|b: [u8; 16]| Complex::new(
            f64::from_bits(int::<u64, 8>(half(&b, 0), big)),
            f64::from_bits(int::<u64, 8>(half(&b, 1), big))
        )),
    })
}

/// Values in the file's order laid out as row-major planes.
fn arrange<T: Element>(values: Vec<T>, layout: Layout, fortran: bool) -> Planes
where
    AnyArray: From<Array<T>>,
{
    match layout {
        Layout::Plane(shape) => Planes::Single(to_row_major(values, shape, fortran).into()),
        Layout::Channels {
            rows,
            cols,
            channels,
        } => Planes::Channels(
            split_channels(values, rows, cols, channels, fortran)
                .into_iter()
                .map(AnyArray::from)
                .collect(),
        ),
    }
}

/// The planes `a[:, :, k]` of a 3-D `(rows, cols, channels)` array. C order interleaves the
/// channels (element `(r, c, k)` at `(r * cols + c) * channels + k`); Fortran order stores
/// each plane whole and column-major (at `k * rows * cols + c * rows + r`).
fn split_channels<T: Element>(
    values: Vec<T>,
    rows: usize,
    cols: usize,
    channels: usize,
    fortran: bool,
) -> Vec<Array<T>> {
    let plane = rows * cols;
    let shape = Shape::d2(rows, cols);
    (0..channels)
        .map(|k| {
            if fortran {
                to_row_major(values[k * plane..(k + 1) * plane].to_vec(), shape, true)
            } else {
                let data = values.iter().skip(k).step_by(channels).copied().collect();
                Array::new(data, shape).expect("one value per pixel")
            }
        })
        .collect()
}

/// An IEEE 754 half-precision number from its bits; every one is exactly a float32.
/// Written out (a few lines) rather than taken from the `half` crate: the library's own
/// dependencies stay few, and reading needs only this direction.
fn f16_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits >> 15) << 31;
    let exponent = u32::from((bits >> 10) & 0x1f);
    let mantissa = u32::from(bits & 0x3ff);
    let magnitude = match exponent {
        // Zero and subnormals: mantissa · 2^-24, exact in f32.
        0 => (mantissa as f32 * (1.0 / 16_777_216.0)).to_bits(),
        // Infinities and NaNs (the payload kept).
        0x1f => 0x7f80_0000 | (mantissa << 13),
        // Normal numbers: rebias the exponent from 15 to 127.
        _ => ((exponent + 112) << 23) | (mantissa << 13),
    };
    f32::from_bits(sign | magnitude)
}

enum DataError {
    /// The stream ended after this many data bytes.
    Short(usize),
    Io(String),
}

/// Read until `n` bytes or the end of the stream.
fn read_up_to(r: &mut impl Read, n: usize) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    r.take(n as u64)
        .read_to_end(&mut out)
        .map_err(|e| format!("cannot read ({})", io_message(&e)))?;
    Ok(out)
}

/// The data section: bytes already read with the header, then the rest of the stream.
struct Data<R> {
    prefix: Vec<u8>,
    reader: R,
    needed: usize,
    got: usize,
}

impl<R: Read> Data<R> {
    /// Decode `needed` bytes of `N`-byte elements into a flat vector.
    fn decode<T, const N: usize>(
        &mut self,
        capacity: usize,
        f: impl Fn([u8; N]) -> T,
    ) -> std::result::Result<Vec<T>, DataError> {
        let mut out = Vec::with_capacity(capacity);
        let mut buf = std::mem::take(&mut self.prefix);
        buf.truncate(self.needed);
        let chunk = N * 8192;
        loop {
            let whole = buf.len() - buf.len() % N;
            out.extend(
                buf[..whole]
                    .chunks_exact(N)
                    .map(|c| f(c.try_into().expect("N bytes"))),
            );
            self.got += whole;
            buf.drain(..whole);
            let left = self.needed - self.got;
            if left == 0 {
                return Ok(out);
            }
            let want = (left.min(chunk) - buf.len()) as u64;
            let before = buf.len();
            (&mut self.reader)
                .take(want)
                .read_to_end(&mut buf)
                .map_err(|e| DataError::Io(format!("cannot read data ({})", io_message(&e))))?;
            if buf.len() == before {
                return Err(DataError::Short(self.got + buf.len()));
            }
        }
    }

    /// `count` elements stored in this machine's byte order (`needed` bytes), read into their
    /// vector's memory.
    fn read_native<T: bytemuck::Pod>(
        &mut self,
        count: usize,
    ) -> std::result::Result<Vec<T>, DataError> {
        let mut out = vec![T::zeroed(); count];
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut out);
        debug_assert_eq!(bytes.len(), self.needed);
        let from_prefix = self.prefix.len().min(bytes.len());
        bytes[..from_prefix].copy_from_slice(&self.prefix[..from_prefix]);
        let mut got = from_prefix;
        while got < bytes.len() {
            match self.reader.read(&mut bytes[got..]) {
                Ok(0) => return Err(DataError::Short(got)),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(DataError::Io(format!(
                        "cannot read data ({})",
                        io_message(&e)
                    )))
                }
            }
        }
        self.got = got;
        Ok(out)
    }
}

fn half<const N: usize, const H: usize>(b: &[u8; N], i: usize) -> [u8; H] {
    b[i * H..(i + 1) * H]
        .try_into()
        .expect("half of the element")
}

/// An integer (or a float's bits) from its bytes in the file's byte order.
fn int<T: FromBytes<N>, const N: usize>(b: [u8; N], big: bool) -> T {
    if big {
        T::from_be(b)
    } else {
        T::from_le(b)
    }
}

trait FromBytes<const N: usize> {
    fn from_le(b: [u8; N]) -> Self;
    fn from_be(b: [u8; N]) -> Self;
}

macro_rules! from_bytes {
    ($($t:ty => $n:literal),*) => {$(
        impl FromBytes<$n> for $t {
            fn from_le(b: [u8; $n]) -> Self {
                <$t>::from_le_bytes(b)
            }
            fn from_be(b: [u8; $n]) -> Self {
                <$t>::from_be_bytes(b)
            }
        }
    )*};
}
from_bytes!(u16 => 2, i16 => 2, u32 => 4, i32 => 4, u64 => 8, i64 => 8);

/// The element types `read_npy` accepts, as numpy names them.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Bool,
    U8,
    I8,
    U16,
    I16,
    F16,
    U32,
    I32,
    U64,
    I64,
    F32,
    F64,
    C64,
    C128,
}

/// A dtype string such as `>i2` read: the element type and its byte order.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Dtype {
    kind: Kind,
    big_endian: bool,
}

impl Dtype {
    /// What the error for an unsupported dtype lists.
    const SUPPORTED: &'static str = "bool, uint8, int8, uint16, int16, uint32, int32, uint64, \
                                     int64, float16, float32, float64, complex64, complex128";

    /// The dtype of a string such as `<f4`; refused ones come back described.
    fn of(descr: &str) -> std::result::Result<Self, String> {
        let b = descr.as_bytes();
        // `=` is the writer's native order, readable here only where that is little-endian;
        // `|` (no order) is what numpy writes for one-byte types.
        let order_ok = matches!(b.first(), Some(b'<' | b'|' | b'>'))
            || (b.first() == Some(&b'=') && cfg!(target_endian = "little"));
        let (type_char, size) = match (b.get(1), descr.get(2..).map(str::parse::<usize>)) {
            (Some(&t), Some(Ok(size))) if order_ok => (t, size),
            _ => return Err(format!("'{descr}'")),
        };
        let kind = match (type_char, size) {
            (b'b', 1) => Kind::Bool,
            (b'u', 1) => Kind::U8,
            (b'i', 1) => Kind::I8,
            (b'u', 2) => Kind::U16,
            (b'i', 2) => Kind::I16,
            (b'f', 2) => Kind::F16,
            (b'u', 4) => Kind::U32,
            (b'i', 4) => Kind::I32,
            (b'u', 8) => Kind::U64,
            (b'i', 8) => Kind::I64,
            (b'f', 4) => Kind::F32,
            (b'f', 8) => Kind::F64,
            (b'c', 8) => Kind::C64,
            (b'c', 16) => Kind::C128,
            _ => {
                let bits = size.saturating_mul(8);
                let name = match type_char {
                    b'b' => Some("bool".to_string()),
                    b'i' => Some(format!("int{bits}")),
                    b'u' => Some(format!("uint{bits}")),
                    b'f' => Some(format!("float{bits}")),
                    b'c' => Some(format!("complex{bits}")),
                    b'S' => Some("bytes".to_string()),
                    b'U' => Some("str".to_string()),
                    b'M' => Some("datetime64".to_string()),
                    b'm' => Some("timedelta64".to_string()),
                    _ => None,
                };
                return Err(match name {
                    Some(n) => format!("{n} ('{descr}')"),
                    None => format!("'{descr}'"),
                });
            }
        };
        Ok(Dtype {
            kind,
            big_endian: b[0] == b'>',
        })
    }

    /// Bytes per element in the file.
    fn size(self) -> usize {
        match self.kind {
            Kind::Bool | Kind::U8 | Kind::I8 => 1,
            Kind::U16 | Kind::I16 | Kind::F16 => 2,
            Kind::U32 | Kind::I32 | Kind::F32 => 4,
            Kind::U64 | Kind::I64 | Kind::F64 | Kind::C64 => 8,
            Kind::C128 => 16,
        }
    }

    /// numpy's name of the element type.
    fn name(self) -> &'static str {
        match self.kind {
            Kind::Bool => "bool",
            Kind::U8 => "uint8",
            Kind::I8 => "int8",
            Kind::U16 => "uint16",
            Kind::I16 => "int16",
            Kind::F16 => "float16",
            Kind::U32 => "uint32",
            Kind::I32 => "int32",
            Kind::U64 => "uint64",
            Kind::I64 => "int64",
            Kind::F32 => "float32",
            Kind::F64 => "float64",
            Kind::C64 => "complex64",
            Kind::C128 => "complex128",
        }
    }

    /// The type the elements are read as: the smallest of xcorr's four that holds every
    /// value exactly (float32 has a 24-bit significand, so integers of up to 16 bits and
    /// float16 fit it; 32-bit integers need float64; 64-bit ones are exact up to 2^53).
    fn promoted(self) -> &'static str {
        match self.kind {
            Kind::Bool | Kind::U8 | Kind::I8 | Kind::U16 | Kind::I16 | Kind::F16 | Kind::F32 => {
                "float32"
            }
            Kind::U32 | Kind::I32 | Kind::U64 | Kind::I64 | Kind::F64 => "float64",
            Kind::C64 => "complex64",
            Kind::C128 => "complex128",
        }
    }

    /// Bytes per element once promoted.
    fn promoted_size(self) -> usize {
        match self.promoted() {
            "float32" => 4,
            "float64" | "complex64" => 8,
            _ => 16,
        }
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

/// Fortran-order data is column-major: element `(r, c)` sits at `c * rows + r`.
fn to_row_major<T: Element>(data: Vec<T>, shape: Shape, fortran: bool) -> Array<T> {
    let (rows, cols) = (shape.rows(), shape.cols());
    let data = if fortran && rows > 1 && cols > 1 {
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

// ---------------------------------------------------------------------------------------------
// Writing

/// An element type with a numpy dtype: `<f4`, `<f8`, `<c8`, `<c16`.
trait NpyElement: Element {
    const DESCR: &'static str;
    fn put(self, out: &mut Vec<u8>);
}

impl<T: Element> NpyElement for T {
    const DESCR: &'static str = match (T::IS_COMPLEX, std::mem::size_of::<T>()) {
        (false, 4) => "<f4",
        (false, _) => "<f8",
        (true, 8) => "<c8",
        (true, _) => "<c16",
    };
    fn put(self, out: &mut Vec<u8>) {
        let c = self.to_complex();
        let parts: &[T::Real] = if T::IS_COMPLEX {
            &[c.re, c.im]
        } else {
            &[c.re]
        };
        for &p in parts {
            if std::mem::size_of::<T::Real>() == 4 {
                out.extend_from_slice(&(p.to_f64() as f32).to_le_bytes());
            } else {
                out.extend_from_slice(&p.to_f64().to_le_bytes());
            }
        }
    }
}

/// Write `array` as a version 1.0 `.npy` stream in its own dtype (float32, float64,
/// complex64 or complex128, little-endian, C order), as `numpy.save` lays it out.
///
/// ```
/// use xcorr::io::{read_npy_from, write_npy, AnyArray};
/// use xcorr::Array;
/// let a = Array::from_vec(vec![1.0f64, 1e300]);
/// let mut bytes = Vec::new();
/// write_npy(&mut bytes, &a).unwrap();
/// assert_eq!(read_npy_from(&bytes[..]).unwrap(), AnyArray::F64(a));
/// ```
pub fn write_npy<T: Element>(mut w: impl Write, array: &Array<T>) -> io::Result<()> {
    write_header::<T>(&mut w, &array.shape().dims())?;
    write_values(w, array.data().iter().copied())
}

/// Write equally shaped planes as one `.npy` array with the channels last: planes of shape
/// `(rows, cols)` give `(rows, cols, C)` (1-D planes of length n give `(n, C)`), element
/// `[.., k]` from plane `k`, as numpy's `np.stack(planes, axis=-1)`. In the planes' own
/// dtype, as [`write_npy`]. No planes, or planes of different shapes, are an
/// [`io::ErrorKind::InvalidInput`] error (nothing is written).
pub fn write_npy_planes<T: Element>(mut w: impl Write, planes: &[Array<T>]) -> io::Result<()> {
    let shape = planes
        .first()
        .map(Array::shape)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no planes to write"))?;
    if let Some(other) = planes.iter().find(|p| p.shape() != shape) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "planes of different shapes ({shape} and {}) cannot be stacked",
                other.shape()
            ),
        ));
    }
    let mut dims = shape.dims();
    dims.push(planes.len());
    write_header::<T>(&mut w, &dims)?;
    let interleaved = (0..shape.len()).flat_map(|i| planes.iter().map(move |p| p.data()[i]));
    write_values(w, interleaved)
}

/// The preamble and header dict of a C-order array of `T` with these dimensions.
fn write_header<T: Element>(w: &mut impl Write, dims: &[usize]) -> io::Result<()> {
    let shape = match dims {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}",
        <T as NpyElement>::DESCR
    );
    // magic (6) + version (2) + length (2) + dict + '\n': a multiple of 64, as numpy pads.
    while (MAGIC.len() + 4 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    w.write_all(MAGIC)?;
    w.write_all(&[1, 0])?;
    w.write_all(&(header.len() as u16).to_le_bytes())?;
    w.write_all(header.as_bytes())
}

/// The data section, in buffered chunks.
fn write_values<T: Element>(mut w: impl Write, values: impl Iterator<Item = T>) -> io::Result<()> {
    let mut buf = Vec::with_capacity(1 << 16);
    for v in values {
        v.put(&mut buf);
        if buf.len() >= (1 << 16) - 16 {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    w.write_all(&buf)
}

/// Write an array as `.npy` keeping its dtype (see [`write_npy`]).
pub fn write_npy_any(w: impl Write, array: &AnyArray) -> io::Result<()> {
    match array {
        AnyArray::F32(a) => write_npy(w, a),
        AnyArray::F64(a) => write_npy(w, a),
        AnyArray::C32(a) => write_npy(w, a),
        AnyArray::C64(a) => write_npy(w, a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fortran_order_is_transposed() {
        // numpy: np.asfortranarray([[0, 1, 2], [3, 4, 5]]) stores 0 3 1 4 2 5.
        let a = to_row_major(vec![0.0f32, 3.0, 1.0, 4.0, 2.0, 5.0], Shape::d2(2, 3), true);
        assert_eq!(a.data(), &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    }

    #[test]
    fn every_float16_decodes_to_its_value() {
        // The oracle: IEEE 754 binary16 from its fields, computed in f64.
        for bits in 0..=u16::MAX {
            let sign = if bits >> 15 == 1 { -1.0 } else { 1.0 };
            let (e, m) = (i32::from((bits >> 10) & 0x1f), f64::from(bits & 0x3ff));
            let got = f16_to_f32(bits);
            match e {
                0x1f if m == 0.0 => assert_eq!(got, sign as f32 * f32::INFINITY, "{bits:#06x}"),
                0x1f => assert!(got.is_nan(), "{bits:#06x}"),
                _ => {
                    let want = if e == 0 {
                        sign * m * 2f64.powi(-24)
                    } else {
                        sign * (1.0 + m / 1024.0) * 2f64.powi(e - 15)
                    };
                    assert_eq!(f64::from(got), want, "{bits:#06x}");
                    assert_eq!(got.is_sign_negative(), sign < 0.0, "{bits:#06x}");
                }
            }
        }
    }

    #[test]
    fn channels_split_from_either_order() {
        // np.arange(12).reshape(2, 3, 2): plane k holds 2 * (3r + c) + k.
        let c_order: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let want = |k: usize| Array::from_fn(Shape::d2(2, 3), |r, c| (2 * (3 * r + c) + k) as f32);
        let planes = split_channels(c_order.clone(), 2, 3, 2, false);
        assert_eq!(planes, vec![want(0), want(1)]);
        // The same array in Fortran order: element (r, c, k) at r + 2c + 6k.
        let mut fortran = vec![0.0; 12];
        for (i, v) in c_order.iter().enumerate() {
            let (r, c, k) = (i / 6, (i / 2) % 3, i % 2);
            fortran[r + 2 * c + 6 * k] = *v;
        }
        assert_eq!(
            split_channels(fortran, 2, 3, 2, true),
            vec![want(0), want(1)]
        );
    }

    #[test]
    fn dtypes_promote_to_a_type_that_holds_them() {
        for (descr, name, promoted) in [
            ("|b1", "bool", "float32"),
            (">i2", "int16", "float32"),
            ("<f2", "float16", "float32"),
            ("<u4", "uint32", "float64"),
            (">i8", "int64", "float64"),
            ("<c8", "complex64", "complex64"),
        ] {
            let d = Dtype::of(descr).unwrap();
            assert_eq!((d.name(), d.promoted()), (name, promoted));
            assert_eq!(d.big_endian, descr.starts_with('>'));
        }
        assert_eq!(Dtype::of("<M8").unwrap_err(), "datetime64 ('<M8')");
        assert_eq!(Dtype::of("<f16").unwrap_err(), "float128 ('<f16')");
    }

    #[test]
    fn shapes_print_as_numpy_does() {
        assert_eq!(numpy_shape(&[5]), "(5,)");
        assert_eq!(numpy_shape(&[2, 3, 4]), "(2, 3, 4)");
        assert_eq!(numpy_shape(&[]), "()");
    }

    /// A reader that hands out at most 7 bytes per call, as a pipe or a slow disk may.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = out.len().min(7).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn native_floats_of_known_length_read_whole_and_truncation_is_named() {
        let a = Array::from_fn(Shape::d2(5, 3), |r, c| (r * 3 + c) as f32 - 6.5);
        let b = Array::from_fn(Shape::d2(3, 4), |r, c| 1e300 * (r as f64 - c as f64) + 0.25);
        for bytes in [
            npy_bytes(&AnyArray::F32(a.clone())),
            npy_bytes(&AnyArray::F64(b.clone())),
        ] {
            let len = Some(bytes.len() as u64);
            let read = read_from(Trickle(&bytes), len, u64::MAX, Accept::Plane).unwrap();
            let want = if bytes.len() < 200 {
                AnyArray::F32(a.clone())
            } else {
                AnyArray::F64(b.clone())
            };
            assert_eq!(one_plane(read), want);
            // The length promised the whole array, the stream ended 5 bytes short.
            let cut = &bytes[..bytes.len() - 5];
            let msg = read_from(Trickle(cut), len, u64::MAX, Accept::Plane).unwrap_err();
            assert!(msg.contains("the file holds"), "{msg}");
        }
        // Fortran order through the same read: np.asfortranarray of `a`.
        let mut bytes = npy_bytes(&AnyArray::F32(a.clone()));
        let header = bytes.len() - 15 * 4;
        let (from, to) = (b"'fortran_order': False", b"'fortran_order': True ");
        let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
        let mut fortran_header = bytes[..header].to_vec();
        fortran_header[at..at + to.len()].copy_from_slice(to);
        let column_major: Vec<u8> = (0..15)
            .flat_map(|i| a.at(i % 5, i / 5).to_le_bytes())
            .collect();
        bytes = [fortran_header, column_major].concat();
        let read = read_from(
            &bytes[..],
            Some(bytes.len() as u64),
            u64::MAX,
            Accept::Plane,
        );
        assert_eq!(one_plane(read.unwrap()), AnyArray::F32(a));
    }

    fn npy_bytes(a: &AnyArray) -> Vec<u8> {
        let mut bytes = Vec::new();
        write_npy_any(&mut bytes, a).unwrap();
        bytes
    }

    #[test]
    fn streams_of_unknown_length_are_read_and_truncation_is_named() {
        let a = Array::from_fn(Shape::d2(40, 300), |r, c| (r * 300 + c) as f32);
        let mut bytes = Vec::new();
        write_npy(&mut bytes, &a).unwrap();
        assert_eq!(read_npy_from(&bytes[..]).unwrap(), AnyArray::F32(a));
        let msg = read_npy_from(&bytes[..bytes.len() - 3])
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("needs 48000 bytes of data, the file holds 47997"),
            "{msg}"
        );
    }
}
