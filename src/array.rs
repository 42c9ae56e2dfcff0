//! Row-major 1-D and 2-D arrays: an owned [`Array`] and a borrowed [`ArrayView`].
//!
//! A 1-D array of length `n` behaves as a `(1, n)` image in all shape arithmetic, but results
//! keep the dimensionality of the inputs.

use crate::error::{Error, Result};
use num_complex::Complex;
use std::fmt;

/// A 1-D or 2-D shape, row-major: `(rows, cols)`; 1-D is `(1, len)` with `ndim() == 1`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    rows: usize,
    cols: usize,
    ndim: u8,
}

impl Shape {
    /// A 1-D shape of `len` elements.
    pub const fn d1(len: usize) -> Self {
        Shape {
            rows: 1,
            cols: len,
            ndim: 1,
        }
    }
    /// A 2-D shape of `rows × cols` elements.
    pub const fn d2(rows: usize, cols: usize) -> Self {
        Shape {
            rows,
            cols,
            ndim: 2,
        }
    }
    /// Build from a dimension list as numpy writes it (`[n]` or `[rows, cols]`).
    pub fn from_dims(dims: &[usize]) -> Result<Self> {
        match *dims {
            [n] => Ok(Shape::d1(n)),
            [r, c] => Ok(Shape::d2(r, c)),
            _ => Err(Error::Dimensions(format!(
                "arrays must be 1-D or 2-D, got {}-D shape {:?}",
                dims.len(),
                dims
            ))),
        }
    }
    /// Rows (1 for a 1-D shape).
    pub const fn rows(&self) -> usize {
        self.rows
    }
    /// Columns (the length of a 1-D shape).
    pub const fn cols(&self) -> usize {
        self.cols
    }
    /// 1 or 2.
    pub const fn ndim(&self) -> usize {
        self.ndim as usize
    }
    /// Number of elements; `usize::MAX` when the product overflows (such a shape holds no
    /// array: [`Array::new`] refuses it, see [`Shape::checked_len`]).
    pub const fn len(&self) -> usize {
        match self.checked_len() {
            Some(n) => n,
            None => usize::MAX,
        }
    }
    /// Number of elements, or `None` when `rows × cols` does not fit in `usize`.
    pub const fn checked_len(&self) -> Option<usize> {
        self.rows.checked_mul(self.cols)
    }
    /// Whether the shape holds no element.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// `[rows, cols]`, the per-axis sizes used by the shape arithmetic.
    pub const fn axes(&self) -> [usize; 2] {
        [self.rows, self.cols]
    }
    /// The dimensions as numpy writes them: `[len]` or `[rows, cols]`.
    pub fn dims(&self) -> Vec<usize> {
        if self.ndim == 1 {
            vec![self.cols]
        } else {
            vec![self.rows, self.cols]
        }
    }
    /// The same dimensionality as `self`, with new per-axis sizes.
    pub(crate) fn with_axes(&self, axes: [usize; 2]) -> Self {
        Shape {
            rows: axes[0],
            cols: axes[1],
            ndim: self.ndim,
        }
    }
    /// Row-major index of `(row, col)` as text, for error messages.
    pub(crate) fn describe_index(&self, flat: usize) -> String {
        if self.ndim == 1 {
            format!("[{}]", flat)
        } else {
            format!("[{}, {}]", flat / self.cols, flat % self.cols)
        }
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ndim == 1 {
            write!(f, "({},)", self.cols)
        } else {
            write!(f, "({}, {})", self.rows, self.cols)
        }
    }
}

/// A real floating type the engine computes in: `f32` or `f64`.
pub trait Real:
    rustfft::FftNum + realfft::FftNum + num_traits::Float + Default + fmt::Display + 'static
{
    /// `"float32"` or `"float64"`.
    const NAME: &'static str;
    /// The nearest value of this type.
    fn from_f64(v: f64) -> Self;
    /// Widened to f64 (exact).
    fn to_f64(self) -> f64;
}

impl Real for f32 {
    const NAME: &'static str = "float32";
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Real for f64 {
    const NAME: &'static str = "float64";
    fn from_f64(v: f64) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        self
    }
}

/// An array element: a real (`f32`, `f64`) or complex (`Complex<f32>`, `Complex<f64>`) number.
pub trait Element: Copy + Default + Send + Sync + fmt::Debug + PartialEq + 'static {
    /// The real type underneath (`f32` for both `f32` and `Complex<f32>`).
    type Real: Real;
    /// Whether the type is complex.
    const IS_COMPLEX: bool;
    /// As a complex number (imaginary part 0 for real types).
    fn to_complex(self) -> Complex<Self::Real>;
    /// Real elements keep the real part of `c`: correlating real inputs has a real result.
    fn from_complex(c: Complex<Self::Real>) -> Self;
    /// Neither NaN nor infinite (both parts, for complex types).
    fn is_finite(self) -> bool;
    /// Magnitude, for error norms and peak scores.
    fn abs_f64(self) -> f64 {
        let c = self.to_complex();
        c.re.to_f64().hypot(c.im.to_f64())
    }
}

macro_rules! real_element {
    ($t:ty) => {
        impl Element for $t {
            type Real = $t;
            const IS_COMPLEX: bool = false;
            fn to_complex(self) -> Complex<$t> {
                Complex::new(self, 0.0)
            }
            fn from_complex(c: Complex<$t>) -> Self {
                c.re
            }
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
        }
        impl Element for Complex<$t> {
            type Real = $t;
            const IS_COMPLEX: bool = true;
            fn to_complex(self) -> Complex<$t> {
                self
            }
            fn from_complex(c: Complex<$t>) -> Self {
                c
            }
            fn is_finite(self) -> bool {
                self.re.is_finite() && self.im.is_finite()
            }
        }
    };
}
real_element!(f32);
real_element!(f64);

/// A borrowed row-major array: a flat slice plus its shape.
#[derive(Clone, Copy, Debug)]
pub struct ArrayView<'a, T> {
    data: &'a [T],
    shape: Shape,
}

impl<'a, T: Element> ArrayView<'a, T> {
    /// View a flat slice as an array of `shape`; the lengths must agree.
    pub fn new(data: &'a [T], shape: Shape) -> Result<Self> {
        check_len(data.len(), shape)?;
        Ok(ArrayView { data, shape })
    }
    /// The elements, row-major.
    pub fn data(&self) -> &'a [T] {
        self.data
    }
    /// The view's shape.
    pub fn shape(&self) -> Shape {
        self.shape
    }
    /// Element at `(row, col)`; 1-D arrays use row 0.
    pub fn at(&self, row: usize, col: usize) -> T {
        self.data[row * self.shape.cols + col]
    }
    /// A copy that owns its data.
    pub fn to_owned(&self) -> Array<T> {
        Array {
            data: self.data.to_vec(),
            shape: self.shape,
        }
    }
    /// Refuse empty arrays and non-finite values, naming the input as `what`.
    pub fn validate(&self, what: &str) -> Result<()> {
        self.validate_magnitude(what).map(|_| ())
    }

    /// [`validate`](Self::validate), returning the largest magnitude of a real or imaginary
    /// part: what decides whether a transform must scale the input to stay in range
    /// (`crate::range`), found in the same pass.
    pub fn validate_magnitude(&self, what: &str) -> Result<f64> {
        if self.shape.is_empty() {
            return Err(Error::Empty {
                what: what.to_string(),
                shape: self.shape,
            });
        }
        // Whole chunks are tested without early exit (the compiler vectorises that, the
        // maxima with a comparison rather than `max`, whose NaN rule keeps it scalar), and
        // only a failing input is searched. Large inputs are tested on all cores: this pass
        // reads every input once before any transform does.
        const CHUNK: usize = 1024;
        let zero = <T::Real as num_traits::Zero>::zero();
        let limit = <T::Real as num_traits::Float>::max_value();
        let magnitude = |v: &T| {
            let z = v.to_complex();
            let (re, im) = (num_traits::Float::abs(z.re), num_traits::Float::abs(z.im));
            if im > re {
                im
            } else {
                re
            }
        };
        // Eight independent lanes: the compiler vectorises those, not one running value. A
        // magnitude is finite when it is at most the largest number (NaN compares false).
        let stats = |c: &[T]| {
            let (mut finite, mut largest) = ([true; 8], [zero; 8]);
            let mut lanes = c.chunks_exact(8);
            for eight in &mut lanes {
                for ((ok, m), v) in finite.iter_mut().zip(&mut largest).zip(eight) {
                    let a = magnitude(v);
                    *ok &= a <= limit;
                    *m = if a > *m { a } else { *m };
                }
            }
            for v in lanes.remainder() {
                let a = magnitude(v);
                finite[0] &= a <= limit;
                largest[0] = if a > largest[0] { a } else { largest[0] };
            }
            finite
                .iter()
                .zip(&largest)
                .fold((true, zero), |(ok, m), (&o, &a)| {
                    (ok & o, if a > m { a } else { m })
                })
        };
        let merge =
            |a: (bool, T::Real), b: (bool, T::Real)| (a.0 & b.0, if b.1 > a.1 { b.1 } else { a.1 });
        let (all_finite, largest) = if self.data.len() >= 64 * CHUNK {
            use rayon::prelude::*;
            self.data
                .par_chunks(CHUNK)
                .map(stats)
                .reduce(|| (true, zero), merge)
        } else {
            self.data.chunks(CHUNK).map(stats).fold((true, zero), merge)
        };
        if !all_finite {
            let i = self
                .data
                .iter()
                .position(|v| !v.is_finite())
                .expect("one is not finite");
            return Err(Error::NonFinite {
                what: what.to_string(),
                value: describe_value(self.data[i]),
                index: self.shape.describe_index(i),
            });
        }
        Ok(largest.to_f64())
    }
}

impl<'a, T: Element> From<&'a Array<T>> for ArrayView<'a, T> {
    fn from(a: &'a Array<T>) -> Self {
        a.view()
    }
}

/// An owned row-major array: a flat vector plus its shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Array<T> {
    data: Vec<T>,
    shape: Shape,
}

impl<T: Element> Array<T> {
    /// Wrap a flat vector as an array of `shape`; the lengths must agree.
    pub fn new(data: Vec<T>, shape: Shape) -> Result<Self> {
        check_len(data.len(), shape)?;
        Ok(Array { data, shape })
    }
    /// A 1-D array holding `data`.
    pub fn from_vec(data: Vec<T>) -> Self {
        let shape = Shape::d1(data.len());
        Array { data, shape }
    }
    /// An array of zeros. Panics if the shape's element count overflows.
    pub fn zeros(shape: Shape) -> Self {
        Array {
            data: vec![T::default(); shape.len()],
            shape,
        }
    }
    /// An array whose element `(row, col)` is `f(row, col)`.
    pub fn from_fn(shape: Shape, mut f: impl FnMut(usize, usize) -> T) -> Self {
        let mut data = Vec::with_capacity(shape.len());
        for r in 0..shape.rows() {
            for c in 0..shape.cols() {
                data.push(f(r, c));
            }
        }
        Array { data, shape }
    }
    /// A view of the whole array.
    pub fn view(&self) -> ArrayView<'_, T> {
        ArrayView {
            data: &self.data,
            shape: self.shape,
        }
    }
    /// The array's shape.
    pub fn shape(&self) -> Shape {
        self.shape
    }
    /// The elements, row-major.
    pub fn data(&self) -> &[T] {
        &self.data
    }
    /// The elements, row-major, to change in place.
    pub fn data_mut(&mut self) -> &mut [T] {
        &mut self.data
    }
    /// The elements, row-major, without a copy.
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }
    /// Element at `(row, col)`; 1-D arrays use row 0.
    pub fn at(&self, row: usize, col: usize) -> T {
        self.data[row * self.shape.cols + col]
    }
    /// Same data, new shape of the same length.
    pub fn reshape(self, shape: Shape) -> Result<Self> {
        Array::new(self.data, shape)
    }
    /// Apply `f` to every element.
    pub fn map<U: Element>(&self, f: impl FnMut(&T) -> U) -> Array<U> {
        Array {
            data: self.data.iter().map(f).collect(),
            shape: self.shape,
        }
    }
    /// Reversed along every axis (`b[::-1, ::-1]`).
    pub fn flipped(&self) -> Self {
        let mut data = self.data.clone();
        data.reverse();
        Array {
            data,
            shape: self.shape,
        }
    }
}

/// `NaN`, `inf`, or `NaN+0i` for complex values: readable in a one-line error.
fn describe_value<T: Element>(v: T) -> String {
    let c = v.to_complex();
    if T::IS_COMPLEX {
        format!("{}{:+}i", c.re, c.im)
    } else {
        format!("{}", c.re)
    }
}

fn check_len(len: usize, shape: Shape) -> Result<()> {
    if shape.checked_len().is_none() {
        return Err(Error::Dimensions(format!(
            "shape {shape} has more elements than fit in memory"
        )));
    }
    if len != shape.len() {
        return Err(Error::LengthMismatch {
            what: "array data".into(),
            shape,
            expected: shape.len(),
            got: len,
        });
    }
    Ok(())
}
