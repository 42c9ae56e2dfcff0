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
        if err.is_nan() || err >= bound {
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
    // Most of `a` is subnormal: exact as given, but a transform of it loses the digits.
    check_scaled_correlation::<f32>(&cpu, 1e-42, 1e25, 1e-5, &mut failures);
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
    check_scaled_correlation::<f32>(&gpu, 1e-42, 1e25, 1e-5, &mut failures);
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Matching at magnitudes far from 1: every method whose map f32 holds against the direct
/// sums, the others refused.
fn check_large_and_small_matches(engine: &Engine) {
    // Near 1e18 every map fits f32 (sqdiff is about n·1e36).
    check_offset_match::<f32>(engine, 0.0, 1e18, (11, 5));
    let at = (6, 19);
    for (amplitude, fits) in [
        (
            1e19,
            [
                Method::SqDiffNormed,
                Method::CCorrNormed,
                Method::CCoeffNormed,
            ],
        ),
        (
            1e-30,
            [
                Method::SqDiffNormed,
                Method::CCorrNormed,
                Method::CCoeffNormed,
            ],
        ),
    ] {
        let scene = offset_scene::<f32>(Shape::d2(30, 40), 0.0, amplitude, 3);
        let template = crop(&scene, at.0, at.1, 8, 6);
        for method in Method::ALL {
            let result = match_template(engine, &scene, &template, method);
            if fits.contains(&method) {
                let map = result.unwrap();
                let err = error(&map, &direct(&scene, &template, method), method);
                let best = xcorr::peaks::best(map.view(), method.extremum()).unwrap();
                assert!(err < 1e-4, "{amplitude:e} {method}: error {err:e}");
                assert_eq!((best.row, best.col), at, "{amplitude:e} {method}");
            } else if method != Method::CCoeff {
                // sqdiff and ccorr are near n·1e38 or n·1e-60: not f32 numbers. (ccoeff's
                // spread may or may not fit.)
                let e = result.expect_err(&format!("{amplitude:e} {method}"));
                assert!(
                    matches!(e, xcorr::Error::OutOfRange(_)),
                    "{amplitude:e} {method}: {e}"
                );
            }
        }
        // The device's peak search reports the same best match.
        let options = xcorr::peaks::PeakOptions::default();
        let found =
            xcorr::matching::match_peaks(engine, &scene, &template, Method::CCoeffNormed, &options)
                .unwrap();
        assert_eq!((found[0].row, found[0].col), at);
    }
}

#[test]
fn matching_far_from_one_on_the_cpu() {
    check_large_and_small_matches(&Engine::cpu());
}

#[cfg(feature = "gpu")]
#[test]
fn matching_far_from_one_on_the_gpu() {
    let Some(ctx) = gpu_support::context() else {
        return;
    };
    check_large_and_small_matches(&Engine::with_gpu_context(ctx));
}

/// Correlations whose result f32 cannot hold are errors, never inf or zeros; a prepared
/// argument far from 1 is scaled like a one-shot one.
fn check_out_of_range_results(engine: &Engine) {
    for (scale, what) in [(1e20, "too large"), (1e-30, "too small")] {
        let a = random::<f32>(Shape::d2(12, 16), scale, 4);
        let b = random::<f32>(Shape::d2(3, 5), scale, 5);
        for mode in [Mode::Full, Mode::Valid, Mode::CIRCULAR] {
            let e = engine.correlate(&a, &b, mode).expect_err(what);
            assert!(
                matches!(&e, xcorr::Error::OutOfRange(m) if m.contains(what)),
                "{scale:e} {mode:?}: {e}"
            );
        }
    }
    let a = random::<f32>(Shape::d2(12, 16), 1e19, 6);
    let b = random::<f32>(Shape::d2(3, 5), 1e17, 7);
    let prepared = engine
        .prepare(Op::Correlate, Mode::Full, a.shape(), &b)
        .unwrap();
    let err = relative_error(&prepared.run(&a).unwrap(), &a, &b, Mode::Full);
    assert!(err < 1e-5, "prepared: relative error {err:e}");
    let huge = random::<f32>(Shape::d2(12, 16), 1e30, 8);
    assert!(matches!(
        prepared.run(&huge),
        Err(xcorr::Error::OutOfRange(_))
    ));
}

#[test]
fn results_out_of_range_are_errors_on_the_cpu() {
    check_out_of_range_results(&Engine::cpu());
}

#[cfg(feature = "gpu")]
#[test]
fn results_out_of_range_are_errors_on_the_gpu() {
    let Some(ctx) = gpu_support::context() else {
        return;
    };
    check_out_of_range_results(&Engine::with_gpu_context(ctx));
}

/// The command line: a float64 scene with a variation below f32's resolution is matched in
/// f64, and a correlation out of f32's range exits 2 with one line and writes nothing.
#[cfg(feature = "cli")]
#[test]
fn command_line_keeps_float64_and_refuses_out_of_range() {
    use std::process::Command;
    use xcorr::io::{write_npy_any, AnyArray};
    let dir = std::env::temp_dir().join(format!("xcorr-range-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str| dir.join(name);
    let create = |name: &str| std::fs::File::create(path(name)).unwrap();

    let scene = offset_scene::<f64>(Shape::d2(30, 36), 1e5, 1e-6, 9);
    write_npy_any(create("scene.npy"), &AnyArray::F64(scene.clone())).unwrap();
    write_npy_any(
        create("template.npy"),
        &AnyArray::F64(crop(&scene, 12, 21, 6, 6)),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xcorr"))
        .args(["match", "--backend", "cpu", "--method", "ccoeff-normed"])
        .arg(path("scene.npy"))
        .arg(path("template.npy"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("12 21 "), "{stdout}");

    let big = random::<f32>(Shape::d2(12, 16), 1e19, 10);
    write_npy_any(create("big.npy"), &AnyArray::F32(big)).unwrap();
    let result = path("out.npy");
    let out = Command::new(env!("CARGO_BIN_EXE_xcorr"))
        .args(["correlate", "--backend", "cpu"])
        .arg(path("big.npy"))
        .arg(path("big.npy"))
        .arg("-o")
        .arg(&result)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("too large"), "{stderr}");
    assert!(!result.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A tracker scales every frame like its template; a frame too far from the template's
/// magnitude for that is refused rather than scored from overflowed window sums.
#[test]
fn tracker_refuses_frames_far_from_the_template() {
    let frame = offset_scene::<f64>(Shape::d2(20, 24), 0.0, 1.0, 11);
    let template = crop(&frame, 5, 7, 4, 4);
    let cpu = Engine::cpu();
    let tracker =
        xcorr::Tracker::new(&cpu, &template, frame.shape(), Method::CCoeffNormed).unwrap();
    assert_eq!(tracker.track(&frame).unwrap().row, 5);
    let huge = frame.map(|v| v * 1e200);
    for result in [
        tracker.track(&huge).map(|_| ()),
        tracker.match_frame(&huge).map(|_| ()),
    ] {
        let e = result.expect_err("a frame 1e200 times the template's magnitude");
        assert!(matches!(e, xcorr::Error::OutOfRange(_)), "{e}");
    }
}
