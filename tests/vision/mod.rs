//! Helpers for the vision tests: real photographs as grayscale arrays, crops, Fourier shifts.
#![allow(dead_code)]

use num_complex::Complex;
use rustfft::FftPlanner;
use std::f64::consts::PI;
use xcorr::{Array, Shape};

/// `tests/data/NAME` as grayscale f32 in [0, 1].
pub fn photo(name: &str) -> Array<f32> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let img = image::open(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .to_luma32f();
    let (w, h) = img.dimensions();
    Array::new(img.into_raw(), Shape::d2(h as usize, w as usize)).unwrap()
}

/// The `rows × cols` block of `x` at `(top, left)`.
pub fn crop<T: xcorr::Element>(
    x: &Array<T>,
    top: usize,
    left: usize,
    rows: usize,
    cols: usize,
) -> Array<T> {
    Array::from_fn(Shape::d2(rows, cols), |r, c| x.at(top + r, left + c))
}

/// Any NaN or infinity?
pub fn all_finite(x: &[f32]) -> bool {
    x.iter().all(|v| v.is_finite())
}

/// `x` shifted by `(dy, dx)` pixels through its spectrum: `moving(y, x) = x(y − dy, x − dx)`
/// (circularly, band-limited), in f64: multiply the 2-D DFT by `exp(−2πi (fy·dy/H + fx·dx/W))`
/// with numpy's signed frequencies, inverse transform, keep the real part.
pub fn fourier_shift(x: &Array<f64>, dy: f64, dx: f64) -> Array<f64> {
    let [h, w] = x.shape().axes();
    let mut planner = FftPlanner::<f64>::new();
    let (fr, fc) = (planner.plan_fft_forward(w), planner.plan_fft_forward(h));
    let (ir, ic) = (planner.plan_fft_inverse(w), planner.plan_fft_inverse(h));
    let mut data: Vec<Complex<f64>> = x.data().iter().map(|&v| Complex::new(v, 0.0)).collect();
    let columns = |data: &mut Vec<Complex<f64>>, fft: &dyn rustfft::Fft<f64>| {
        for c in 0..w {
            let mut col: Vec<_> = (0..h).map(|r| data[r * w + c]).collect();
            fft.process(&mut col);
            for r in 0..h {
                data[r * w + c] = col[r];
            }
        }
    };
    for row in data.chunks_mut(w) {
        fr.process(row);
    }
    columns(&mut data, fc.as_ref());
    let signed = |k: usize, n: usize| {
        if k < n.div_ceil(2) {
            k as f64
        } else {
            k as f64 - n as f64
        }
    };
    for r in 0..h {
        for c in 0..w {
            let phase = -2.0 * PI * (signed(r, h) * dy / h as f64 + signed(c, w) * dx / w as f64);
            data[r * w + c] *= Complex::from_polar(1.0, phase);
        }
    }
    for row in data.chunks_mut(w) {
        ir.process(row);
    }
    columns(&mut data, ic.as_ref());
    let n = (h * w) as f64;
    Array::new(data.iter().map(|v| v.re / n).collect(), x.shape()).unwrap()
}
