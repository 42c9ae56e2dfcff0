//! Shared helpers for the integration tests: seeded inputs and error measures.
#![allow(dead_code)]

use num_complex::Complex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xcorr::{Array, Element, Real, Shape};

/// Seeded uniform values in [-1, 1) (imaginary parts too for complex elements); never zeros.
pub fn random<T: Element>(shape: Shape, seed: u64) -> Array<T> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array::from_fn(shape, |_, _| {
        let re = rng.random_range(-1.0..1.0);
        let im = rng.random_range(-1.0..1.0);
        T::from_complex(Complex::new(T::Real::from_f64(re), T::Real::from_f64(im)))
    })
}

pub fn to_c64<T: Element>(x: &Array<T>) -> Vec<Complex<f64>> {
    x.data()
        .iter()
        .map(|v| {
            let c = v.to_complex();
            Complex::new(c.re.to_f64(), c.im.to_f64())
        })
        .collect()
}

/// max |out − ref| / (Σ|a| · max|b|): the largest error an FFT of these inputs can be
/// expected to make scales with the largest possible output value.
pub fn scaled_max_error<T: Element>(
    out: &Array<T>,
    reference: &Array<Complex<f64>>,
    a: &Array<T>,
    b: &Array<T>,
) -> f64 {
    assert_eq!(
        out.shape(),
        reference.shape(),
        "shape differs from the reference"
    );
    let scale = a.data().iter().map(|v| v.abs_f64()).sum::<f64>()
        * b.data().iter().map(|v| v.abs_f64()).fold(0.0, f64::max);
    let out = to_c64(out);
    let err = out
        .iter()
        .zip(reference.data())
        .map(|(o, r)| {
            // Real outputs are compared with the real part of the reference.
            let r = if T::IS_COMPLEX {
                *r
            } else {
                Complex::new(r.re, 0.0)
            };
            (o - r).norm()
        })
        .fold(0.0, f64::max);
    err / scale
}

/// ‖out − ref‖₂ / ‖ref‖₂.
pub fn rel_l2(out: &[Complex<f64>], reference: &[Complex<f64>]) -> f64 {
    let num: f64 = out
        .iter()
        .zip(reference)
        .map(|(o, r)| (o - r).norm_sqr())
        .sum();
    let den: f64 = reference.iter().map(|r| r.norm_sqr()).sum();
    (num / den).sqrt()
}
