//! Numeric range (issue 13, items 5 and 6): matching on scenes with a large offset and small
//! variation, and correlation and matching of inputs far from 1 in magnitude, against direct
//! f64 sums; results that f32 cannot hold are errors, never inf, NaN or zeros.

#[cfg(feature = "gpu")]
mod gpu_support;
mod vision;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vision::{crop, direct, error};
use xcorr::{match_template, reference, Array, Element, Engine, Method, Mode, Op, Shape};

/// `offset + amplitude · U(0, 1)`, seeded, rounded to `T`.
fn offset_scene<T: Element<Real = T> + xcorr::Real>(
    shape: Shape,
    offset: f64,
    amplitude: f64,
    seed: u64,
) -> Array<T> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array::from_fn(shape, |_, _| {
        <T as xcorr::Real>::from_f64(offset + amplitude * rng.random::<f64>())
    })
}

/// Every method against the direct f64 formulas, and the best match where the template was
/// cut.
fn check_offset_match<T>(engine: &Engine, offset: f64, amplitude: f64, at: (usize, usize))
where
    T: Element<Real = T> + xcorr::Real + xcorr::matching::Sample + Into<f64>,
{
    let scene = offset_scene::<T>(Shape::d2(40, 52), offset, amplitude, 7);
    let template = crop(&scene, at.0, at.1, 7, 9);
    for method in Method::ALL {
        let map = match_template(engine, &scene, &template, method).unwrap();
        let expect = direct(&scene, &template, method);
        let err = error(&map, &expect, method);
        let best = xcorr::peaks::best(map.view(), method.extremum()).unwrap();
        eprintln!(
            "{} offset {offset} amplitude {amplitude} {method}: error {err:.2e}, best at ({}, {})",
            T::NAME,
            best.row,
            best.col
        );
        // ccorr and ccoeff peak where the scene is bright, not at the copy; ccorr-normed is
        // within 1e-9 of 1 everywhere, below f32's resolution.
        if matches!(
            method,
            Method::SqDiff | Method::SqDiffNormed | Method::CCoeffNormed
        ) {
            assert_eq!((best.row, best.col), at, "{method}: best match");
        }
        assert!(
            err < 1e-3,
            "{method}: error {err:e} against the direct sums"
        );
    }
}

#[test]
fn offset_scenes_match_on_the_cpu() {
    let cpu = Engine::cpu();
    check_offset_match::<f32>(&cpu, 300.0, 0.01, (17, 23));
    check_offset_match::<f32>(&cpu, 1e5, 3.0, (9, 30));
    check_offset_match::<f64>(&cpu, 300.0, 0.01, (17, 23));
    // Variation far below f32's resolution at this offset: only f64 sees it.
    check_offset_match::<f64>(&cpu, 1e5, 1e-6, (20, 4));
}

#[cfg(feature = "gpu")]
#[test]
fn offset_scenes_match_on_the_gpu() {
    let Some(ctx) = gpu_support::context() else {
        return;
    };
    let gpu = Engine::with_gpu_context(ctx);
    check_offset_match::<f32>(&gpu, 300.0, 0.01, (17, 23));
    check_offset_match::<f32>(&gpu, 1e5, 3.0, (9, 30));
}

/// Relative L2 error of `out` against the direct f64 sums.
fn relative_error<T: Element>(out: &Array<T>, a: &Array<T>, b: &Array<T>, mode: Mode) -> f64 {
    let expect = reference::compute(Op::Correlate, mode, a.view(), b.view()).unwrap();
    assert_eq!(out.shape(), expect.shape());
    // Norms of values divided by the largest, so that squares of 1e160 do not overflow.
    let scale = expect.data().iter().fold(0.0f64, |m, r| m.max(r.norm()));
    let (mut num, mut den) = (0.0, 0.0);
    for (o, r) in out.data().iter().zip(expect.data()) {
        let r = r / scale;
        let c = o.to_complex();
        let o = num_complex::Complex::new(xcorr::Real::to_f64(c.re), xcorr::Real::to_f64(c.im));
        num += (o / scale - r).norm_sqr();
        den += r.norm_sqr();
    }
    (num / den).sqrt()
}

fn random<T: Element<Real = T> + xcorr::Real>(shape: Shape, scale: f64, seed: u64) -> Array<T> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array::from_fn(shape, |_, _| {
        <T as xcorr::Real>::from_f64(scale * rng.random_range(-1.0..1.0))
    })
}

fn check_scaled_correlation<T: Element<Real = T> + xcorr::Real>(
    engine: &Engine,
    a_scale: f64,
    b_scale: f64,
    bound: f64,
    failures: &mut Vec<String>,
) {
    for (sa, sb, mode) in [
        (Shape::d2(24, 30), Shape::d2(5, 7), Mode::Full),
        (Shape::d1(200), Shape::d1(33), Mode::Same),
        (Shape::d2(16, 16), Shape::d2(16, 16), Mode::CIRCULAR),
    ] {
        let a = random::<T>(sa, a_scale, 1);
        let b = random::<T>(sb, b_scale, 2);
        let out = match engine.correlate(&a, &b, mode) {
            Ok(out) => out,
            Err(e) => {
                failures.push(format!("{a_scale:e} x {b_scale:e} {sa}: {e}"));
                continue;
            }
        };
        let err = relative_error(&out, &a, &b, mode);
        eprintln!(
            "{} {a_scale:e} x {b_scale:e} {sa} {sb}: relative error {err:.2e}",
            T::NAME
        );
        if !(err < bound) {
            failures.push(format!("{a_scale:e} x {b_scale:e} {sa}: error {err:e}"));
        }
    }
}

#[test]
fn correlation_far_from_one_on_the_cpu() {
    let cpu = Engine::cpu();
    let mut failures = vec![];
    check_scaled_correlation::<f32>(&cpu, 1e19, 1e17, 1e-5, &mut failures);
    check_scaled_correlation::<f32>(&cpu, 1e-30, 1e-5, 1e-5, &mut failures);
    check_scaled_correlation::<f32>(&cpu, 1e-20, 1e-16, 1e-5, &mut failures);
    check_scaled_correlation::<f64>(&cpu, 1e160, 1e140, 1e-12, &mut failures);
    check_scaled_correlation::<f64>(&cpu, 1e-150, 1e-140, 1e-12, &mut failures);
    assert!(failures.is_empty(), "{failures:#?}");
}

#[cfg(feature = "gpu")]
#[test]
fn correlation_far_from_one_on_the_gpu() {
    let Some(ctx) = gpu_support::context() else {
        return;
    };
    let gpu = Engine::with_gpu_context(ctx);
    let mut failures = vec![];
    check_scaled_correlation::<f32>(&gpu, 1e19, 1e17, 1e-5, &mut failures);
    check_scaled_correlation::<f32>(&gpu, 1e-30, 1e-5, 1e-5, &mut failures);
    check_scaled_correlation::<f32>(&gpu, 1e-20, 1e-16, 1e-5, &mut failures);
    assert!(failures.is_empty(), "{failures:#?}");
}
