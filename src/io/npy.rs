//! `.npy` arrays in and out (feature `npy`).
//!
//! The header goes through [`super::npy_header`] (linear time, length-capped); the data is
//! decoded here: five element types in either byte order are all xcorr reads, and decoding
//! them directly lets every size be checked before anything is allocated.

use super::npy_header::{self, PreambleError, MAGIC};
use super::{file_error, io_message, open_regular, AnyArray};
use crate::array::{Array, Element, Real, Shape};
use crate::error::{Error, Result};
use num_complex::Complex;
use std::io::{self, Read, Write};
use std::path::Path;

/// Read a `.npy` file holding a 1-D or 2-D array (see the module docs for the dtypes).
///
/// Refused with an [`Error::File`] naming the file: a missing, unreadable or non-regular file
/// (a directory, `/dev/zero`, a pipe), a header that is not a valid npy header (or longer
/// than [`npy_header::MAX_HEADER_LEN`]), data shorter than the header promises, an
/// unsupported dtype (named, e.g. `int64 ('<i8')`), 0-D or 3-D and higher arrays (the shape
/// is named), empty arrays, and shapes whose element count or byte size does not fit in
/// memory. Bytes after the data are ignored, as numpy does.
pub fn read_npy(path: impl AsRef<Path>) -> Result<AnyArray> {
    read_npy_limited(path, u64::MAX)
}

/// [`read_npy`], refusing arrays whose data needs more than `max_bytes` (checked from the
/// header, before the data is read).
pub fn read_npy_limited(path: impl AsRef<Path>, max_bytes: u64) -> Result<AnyArray> {
    let path = path.as_ref();
    let (file, len) = open_regular(path)?;
    if len == 0 {
        return Err(file_error(path, "empty file (0 bytes), not a .npy array"));
    }
    read_from(io::BufReader::new(file), Some(len), max_bytes).map_err(|m| file_error(path, m))
}

/// Read a `.npy` array from any reader (e.g. `&bytes[..]`), as [`read_npy`] reads a file.
/// Errors are [`Error::InvalidArgument`] (there is no file to name).
pub fn read_npy_from(reader: impl Read) -> Result<AnyArray> {
    read_from(reader, None, u64::MAX).map_err(|m| Error::InvalidArgument(format!(".npy data: {m}")))
}

/// `available`: the stream's length when known, so that a truncated file is refused before
/// its data is read.
fn read_from(
    mut r: impl Read,
    available: Option<u64>,
    max_bytes: u64,
) -> std::result::Result<AnyArray, String> {
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
    let kind = ElementKind::of(&h.descr).map_err(|described| {
        format!(
            "unsupported dtype {described} (supported: float32, float64, complex64, complex128, \
             uint8; convert with a.astype(np.float32))"
        )
    })?;
    let too_large = || format!("array of shape {dims_text} is too large for this machine");
    let dim = |n: u64| usize::try_from(n).map_err(|_| too_large());
    let shape = match *h.shape.as_slice() {
        [n] => Shape::d1(dim(n)?),
        [r, c] => Shape::d2(dim(r)?, dim(c)?),
        _ => {
            return Err(format!(
                "{}-D array of shape {dims_text}; xcorr reads 1-D or 2-D arrays",
                h.shape.len()
            ))
        }
    };
    let count = shape.checked_len().ok_or_else(too_large)?;
    if count == 0 {
        return Err(format!("empty array of shape {dims_text}"));
    }
    let needed = count
        .checked_mul(kind.size())
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or_else(too_large)?;
    if needed as u64 > max_bytes {
        return Err(format!(
            "a {} array of shape {dims_text} needs {}, more than the limit of {}",
            kind.name(),
            crate::error::format_bytes(needed as u64),
            crate::error::format_bytes(max_bytes)
        ));
    }
    let truncated = |holds: u64| {
        format!(
            "truncated: a {} array of shape {dims_text} needs {needed} bytes of data, the file \
             holds {holds}",
            kind.name()
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
    let big = h.descr.starts_with('>');
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
    Ok(match kind {
        ElementKind::U8 => AnyArray::F32(to_row_major(
            data.decode(capacity, |b: [u8; 1]| f32::from(b[0]))
                .map_err(fail)?,
            shape,
            fortran,
        )),
        ElementKind::F32 => AnyArray::F32(to_row_major(
            data.decode(capacity, |b| real::<f32, 4>(b, big))
                .map_err(fail)?,
            shape,
            fortran,
        )),
        ElementKind::F64 => AnyArray::F64(to_row_major(
            data.decode(capacity, |b| real::<f64, 8>(b, big))
                .map_err(fail)?,
            shape,
            fortran,
        )),
        ElementKind::C32 => AnyArray::C32(to_row_major(
            data.decode(capacity, |b: [u8; 8]| {
                Complex::new(real::<f32, 4>(half(&b, 0), big), real(half(&b, 1), big))
            })
            .map_err(fail)?,
            shape,
            fortran,
        )),
        ElementKind::C64 => AnyArray::C64(to_row_major(
            data.decode(capacity, |b: [u8; 16]| {
                Complex::new(real::<f64, 8>(half(&b, 0), big), real(half(&b, 1), big))
            })
            .map_err(fail)?,
            shape,
            fortran,
        )),
    })
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
}

fn half<const N: usize, const H: usize>(b: &[u8; N], i: usize) -> [u8; H] {
    b[i * H..(i + 1) * H]
        .try_into()
        .expect("half of the element")
}

/// A float from its bytes in the file's byte order.
fn real<T: FromBytes<N>, const N: usize>(b: [u8; N], big: bool) -> T {
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
impl FromBytes<4> for f32 {
    fn from_le(b: [u8; 4]) -> Self {
        f32::from_le_bytes(b)
    }
    fn from_be(b: [u8; 4]) -> Self {
        f32::from_be_bytes(b)
    }
}
impl FromBytes<8> for f64 {
    fn from_le(b: [u8; 8]) -> Self {
        f64::from_le_bytes(b)
    }
    fn from_be(b: [u8; 8]) -> Self {
        f64::from_be_bytes(b)
    }
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
    /// The kind of a dtype string such as `<f4`; refused ones come back described.
    fn of(descr: &str) -> std::result::Result<Self, String> {
        let b = descr.as_bytes();
        // `=` is the writer's native order, readable here only where that is little-endian.
        let order_ok = matches!(b.first(), Some(b'<' | b'|' | b'>'))
            || (b.first() == Some(&b'=') && cfg!(target_endian = "little"));
        let (type_char, size) = match (b.get(1), descr.get(2..).map(str::parse::<usize>)) {
            (Some(&t), Some(Ok(size))) if order_ok => (t, size),
            _ => return Err(format!("'{descr}'")),
        };
        Ok(match (type_char, size) {
            (b'u', 1) => ElementKind::U8,
            (b'f', 4) => ElementKind::F32,
            (b'f', 8) => ElementKind::F64,
            (b'c', 8) => ElementKind::C32,
            (b'c', 16) => ElementKind::C64,
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
    let shape = match array.shape().dims().as_slice() {
        [n] => format!("({n},)"),
        dims => format!("({}, {})", dims[0], dims[1]),
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
    w.write_all(header.as_bytes())?;
    let mut buf = Vec::with_capacity(1 << 16);
    for chunk in array.data().chunks(4096) {
        buf.clear();
        for &v in chunk {
            v.put(&mut buf);
        }
        w.write_all(&buf)?;
    }
    Ok(())
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
    fn shapes_print_as_numpy_does() {
        assert_eq!(numpy_shape(&[5]), "(5,)");
        assert_eq!(numpy_shape(&[2, 3, 4]), "(2, 3, 4)");
        assert_eq!(numpy_shape(&[]), "()");
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
