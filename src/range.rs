//! Power-of-two scaling that keeps transforms in the element type's range.
//!
//! An FFT correlation's intermediate values grow with the inputs' magnitudes and lengths: two
//! f32 inputs near 1e19 overflow in the spectrum product although their correlation may be
//! representable, and inputs near the smallest normal number lose their precision. Scaling
//! an input by a power of two is exact, so an input outside a comfortable range is scaled to
//! a largest magnitude in `[0.5, 1)` and the result scaled back; only a result that is itself
//! out of range fails, with [`Error::OutOfRange`]. Ordinary inputs are not copied.

use crate::array::{Array, ArrayView, Element, Real};
use crate::error::{Error, Result};
use num_complex::Complex;

/// The power of two `2^k` to multiply an input of largest magnitude `max` and `len` elements
/// by before transforming it in `T` (`k = 0`: leave it alone).
///
/// Comfortable means `max` at least `2^LOW` and `max · len` at most `2^HIGH`: then a product
/// of two spectra (each at most `max · len`) and the inverse transform's growth (at most the
/// transform length, below `2^36` elements in any memory) stay below the largest value, and
/// the smallest meaningful values (`ε` of the largest products) stay normal.
pub(crate) fn exponent<T: Element>(max: f64, len: usize) -> i32 {
    let (low, high) = if std::mem::size_of::<T::Real>() == 4 {
        (-32, 44)
    } else {
        (-400, 400)
    };
    if max == 0.0 || !max.is_finite() {
        return 0;
    }
    let e = binary_exponent(max);
    let growth = usize::BITS as i32 - len.leading_zeros() as i32; // ⌈log2(len + 1)⌉
    if e >= low && e + growth <= high {
        0
    } else {
        -e
    }
}

/// `e` with `2^(e−1) ≤ x < 2^e` for finite `x > 0`.
fn binary_exponent(x: f64) -> i32 {
    let (mantissa, exp) = frexp(x);
    debug_assert!((0.5..1.0).contains(&mantissa));
    exp
}

/// `x = m · 2^e` with `m` in `[0.5, 1)`, for finite `x > 0` (subnormals included).
fn frexp(x: f64) -> (f64, i32) {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: normalise by 2^64 first.
        let (m, e) = frexp(x * pow2(64));
        return (m, e - 64);
    }
    let m = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (m, biased - 1022)
}

/// `2^k` for `|k| ≤ 1022`.
fn pow2(k: i32) -> f64 {
    debug_assert!(k.abs() <= 1022);
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// `v · 2^k`, exact unless the result leaves the range of `R` (then it rounds as `R` does).
pub(crate) fn mul_pow2<R: Real>(v: R, k: i32) -> R {
    let mut v = v.to_f64();
    let mut k = k;
    // In f64 (exact for f32 values), in steps of at most 2^±1000.
    while k != 0 {
        let step = k.clamp(-1000, 1000);
        v *= pow2(step);
        k -= step;
    }
    <R as Real>::from_f64(v)
}

fn scale_element<T: Element>(v: T, k: i32) -> T {
    let c = v.to_complex();
    T::from_complex(Complex::new(mul_pow2(c.re, k), mul_pow2(c.im, k)))
}

/// `(x − offset) · 2^k` (offset subtracted from the real part, in f64).
pub(crate) fn scaled<T: Element>(x: ArrayView<'_, T>, offset: f64, k: i32) -> Array<T> {
    let data = x
        .data()
        .iter()
        .map(|v| {
            let c = v.to_complex();
            let re = T::Real::from_f64(c.re.to_f64() - offset);
            scale_element(T::from_complex(Complex::new(re, c.im)), k)
        })
        .collect();
    Array::new(data, x.shape()).expect("same length")
}

/// `out · 2^k` in place, refusing a result that `T` cannot hold: an infinity (the result
/// overflows) or, from a result that was not all zero, one whose largest magnitude falls
/// below the smallest normal number. `what` names the result in the error.
pub(crate) fn unscale<T: Element>(out: &mut [T], k: i32, what: &str) -> Result<()> {
    let largest = |x: &[T]| {
        x.iter().fold(0.0f64, |m, v| {
            let c = v.to_complex();
            m.max(c.re.to_f64().abs()).max(c.im.to_f64().abs())
        })
    };
    if k == 0 {
        return Ok(());
    }
    let before = largest(out);
    out.iter_mut().for_each(|v| *v = scale_element(*v, k));
    check(before, k, largest(out), out, what)
}

/// `before`: the largest magnitude before scaling by `2^k`; `after`: after, in `T`.
fn check<T: Element>(before: f64, k: i32, after: f64, out: &[T], what: &str) -> Result<()> {
    let name = T::Real::NAME;
    if let Some(i) = out.iter().position(|v| !v.is_finite()) {
        return Err(Error::OutOfRange(format!(
            "{what} is too large for {name}: its element {i} overflows (use float64 input, or \
             scale the inputs down)"
        )));
    }
    let smallest_normal = <T::Real as num_traits::Float>::min_positive_value().to_f64();
    if before > 0.0 && after < smallest_normal {
        return Err(Error::OutOfRange(format!(
            "{what} is too small for {name}: its largest magnitude is {:.3e}, below the \
             smallest normal {name} (use float64 input, or scale the inputs up)",
            mul_pow2(before, k)
        )));
    }
    Ok(())
}

/// `x` with copies only where needed: the input itself when `k = 0` and there is no offset.
pub(crate) enum Input<'a, T: Element> {
    Borrowed(ArrayView<'a, T>),
    Scaled(Array<T>),
}

impl<'a, T: Element> Input<'a, T> {
    pub(crate) fn new(x: ArrayView<'a, T>, k: i32) -> Self {
        if k == 0 {
            Input::Borrowed(x)
        } else {
            Input::Scaled(scaled(x, 0.0, k))
        }
    }

    pub(crate) fn view(&self) -> ArrayView<'_, T> {
        match self {
            Input::Borrowed(x) => *x,
            Input::Scaled(x) => x.view(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frexp_and_pow2_are_exact() {
        for x in [
            1.0,
            0.75,
            3.0,
            1e19,
            1e-30,
            f64::MIN_POSITIVE / 8.0,
            f64::MAX,
        ] {
            let (m, e) = frexp(x);
            assert!((0.5..1.0).contains(&m), "{x}");
            assert_eq!(mul_pow2(m, e), x);
        }
        assert_eq!(mul_pow2(3.0f32, -130).to_f64(), 3.0 * 2f64.powi(-130));
        assert_eq!(mul_pow2(1.0f64, 2000), f64::INFINITY);
    }

    #[test]
    fn ordinary_inputs_are_left_alone() {
        assert_eq!(exponent::<f32>(255.0, 4096 * 4096), 0);
        assert_eq!(exponent::<f32>(65535.0, 1 << 26), 0);
        assert_eq!(exponent::<f32>(1e-6, 100), 0);
        assert_eq!(exponent::<f32>(0.0, 100), 0);
        assert_eq!(exponent::<f32>(1e19, 100), -64);
        assert_eq!(exponent::<f32>(1e-30, 100), 99);
        assert_eq!(exponent::<f64>(1e19, 100), 0);
        assert_eq!(exponent::<f64>(1e160, 100), -532);
    }

    #[test]
    fn results_out_of_range_are_errors() {
        let mut big = vec![1.0f32, 0.5];
        assert!(matches!(
            unscale(&mut big, 128, "x"),
            Err(Error::OutOfRange(_))
        ));
        let mut small = vec![1.0f32, 0.5];
        assert!(matches!(
            unscale(&mut small, -160, "x"),
            Err(Error::OutOfRange(_))
        ));
        let mut fine = vec![1.0f32, 0.5];
        unscale(&mut fine, -3, "x").unwrap();
        assert_eq!(fine, [0.125, 0.0625]);
    }
}
