//! Helpers for the vision tests: real photographs as grayscale arrays, crops, Fourier shifts.
#![allow(dead_code)]

use num_complex::Complex;
use rustfft::FftPlanner;
use std::f64::consts::PI;
use xcorr::{match_template, Array, Engine, Method, Shape};

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

/// OpenCV's formulas summed directly in f64 (with its cap of `sqdiff-normed` at 1). Degenerate
/// windows are not handled: the photographs used here have none.
pub fn direct<T: xcorr::Element + Into<f64>>(
    scene: &Array<T>,
    template: &Array<T>,
    method: Method,
) -> Array<f64> {
    let [sh, sw] = scene.shape().axes();
    let [th, tw] = template.shape().axes();
    let t: Vec<f64> = template.data().iter().map(|&v| v.into()).collect();
    let n = t.len() as f64;
    let t_mean = t.iter().sum::<f64>() / n;
    Array::from_fn(Shape::d2(sh - th + 1, sw - tw + 1), |y, x| {
        let i: Vec<f64> = (0..th * tw)
            .map(|k| scene.at(y + k / tw, x + k % tw).into())
            .collect();
        let i_mean = i.iter().sum::<f64>() / n;
        let dot = |a: &dyn Fn(usize) -> f64, b: &dyn Fn(usize) -> f64| -> f64 {
            (0..t.len()).map(|k| a(k) * b(k)).sum()
        };
        let (tt, ii) = (|k: usize| t[k], |k: usize| i[k]);
        let (tc, ic) = (|k: usize| t[k] - t_mean, |k: usize| i[k] - i_mean);
        let sq: f64 = (0..t.len()).map(|k| (t[k] - i[k]).powi(2)).sum();
        let norm = (dot(&tt, &tt) * dot(&ii, &ii)).sqrt();
        match method {
            Method::SqDiff => sq,
            Method::SqDiffNormed => (sq / norm).min(1.0),
            Method::CCorr => dot(&tt, &ii),
            Method::CCorrNormed => dot(&tt, &ii) / norm,
            Method::CCoeff => dot(&tc, &ic),
            Method::CCoeffNormed => dot(&tc, &ic) / (dot(&tc, &tc) * dot(&ic, &ic)).sqrt(),
        }
    })
}

/// max |out − ref|, divided by max |ref| for the methods without a fixed scale.
pub fn error<T: xcorr::Element + Into<f64>>(
    out: &Array<T>,
    reference: &Array<f64>,
    method: Method,
) -> f64 {
    assert_eq!(out.shape(), reference.shape());
    let err = out
        .data()
        .iter()
        .zip(reference.data())
        .map(|(&o, r)| (o.into() - r).abs())
        .fold(0.0, f64::max);
    if method.is_normed() {
        err
    } else {
        err / reference.data().iter().fold(0.0f64, |m, v| m.max(v.abs()))
    }
}

/// The values the module docs promise for flat windows and flat or zero templates.
pub fn check_flat_values(engine: &Engine) {
    // Left third 0.5 (flat), middle third 0 (zero), right third textured.
    let scene = Array::from_fn(Shape::d2(12, 30), |r, c| match c {
        0..10 => 0.5f32,
        10..20 => 0.0,
        _ => ((r * 7 + c * 3) % 5) as f32 / 5.0,
    });
    let flat = Array::from_fn(Shape::d2(3, 3), |_, _| 0.5f32);
    let zero = Array::<f32>::zeros(Shape::d2(3, 3));
    let textured = Array::from_fn(Shape::d2(3, 3), |r, c| {
        ((r * 7 + c * 3) % 5) as f32 / 5.0 + 0.1
    });
    let (in_flat, in_zero, in_texture) = ((4, 2), (4, 13), (4, 22));
    let at = |map: &Array<f32>, (r, c): (usize, usize)| map.at(r, c);
    type Expect = [(Method, [f32; 3]); 3];
    let cases: [(&str, &Array<f32>, Expect); 3] = [
        (
            "flat template",
            &flat,
            [
                // flat window: both flat → perfect; zero window is flat too (ccoeff).
                (Method::CCoeffNormed, [1.0, 1.0, 0.0]),
                (Method::CCorrNormed, [1.0, 0.0, f32::NAN]),
                (Method::SqDiffNormed, [0.0, 1.0, f32::NAN]),
            ],
        ),
        (
            "zero template",
            &zero,
            [
                (Method::CCoeffNormed, [1.0, 1.0, 0.0]),
                (Method::CCorrNormed, [0.0, 1.0, 0.0]),
                (Method::SqDiffNormed, [1.0, 0.0, 1.0]),
            ],
        ),
        (
            "textured template",
            &textured,
            [
                (Method::CCoeffNormed, [0.0, 0.0, f32::NAN]),
                (Method::CCorrNormed, [f32::NAN, 0.0, f32::NAN]),
                (Method::SqDiffNormed, [f32::NAN, 1.0, f32::NAN]),
            ],
        ),
    ];
    for (name, template, expect) in cases {
        for method in Method::ALL {
            let map = match_template(engine, &scene, template, method).unwrap();
            assert!(all_finite(map.data()), "{name} {method}");
            if method.is_normed() {
                let lo = if method == Method::SqDiffNormed {
                    0.0
                } else {
                    -1.0
                };
                assert!(
                    map.data().iter().all(|v| (lo..=1.0).contains(v)),
                    "{name} {method}"
                );
            } else if method == Method::SqDiff {
                assert!(map.data().iter().all(|&v| v >= 0.0));
            }
        }
        for (method, values) in expect {
            let map = match_template(engine, &scene, template, method).unwrap();
            for (where_, want) in [in_flat, in_zero, in_texture].into_iter().zip(values) {
                if !want.is_nan() {
                    let got = at(&map, where_);
                    assert!(
                        (got - want).abs() < 1e-6,
                        "{name} {method} at {where_:?}: {got}"
                    );
                }
            }
        }
    }
    // The plain methods stay exact on flat input: sqdiff of the flat template on the flat
    // window is 0, ccoeff is 0.
    let map = match_template(engine, &scene, &flat, Method::SqDiff).unwrap();
    assert!(at(&map, in_flat).abs() < 1e-6);
    let map = match_template(engine, &scene, &flat, Method::CCoeff).unwrap();
    assert!(at(&map, in_flat).abs() < 1e-6);
}

/// Windows that are flat up to rounding (a large offset plus f32 noise far below the data's
/// precision) still give finite values in range.
pub fn check_near_flat_values(engine: &Engine) {
    let scene = Array::from_fn(Shape::d2(40, 40), |r, c| {
        1000.0f32
            + if (r * 13 + c * 7) % 17 == 0 {
                1e-4
            } else {
                0.0
            }
    });
    let template = Array::from_fn(Shape::d2(5, 5), |r, c| {
        1000.0f32 + ((r + c) % 2) as f32 * 6e-5
    });
    for method in Method::ALL {
        let map = match_template(engine, &scene, &template, method).unwrap();
        assert!(all_finite(map.data()), "{method}");
        if method.is_normed() {
            assert!(
                map.data().iter().all(|v| (-1.0..=1.0).contains(v)),
                "{method}"
            );
        }
    }
}

/// `tests/data/NAME` with its channels, one f32 plane each, in [0, 1].
pub fn photo_rgb(name: &str) -> Vec<Array<f32>> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    xcorr::io::read_image_planes(&path).unwrap().planes
}
