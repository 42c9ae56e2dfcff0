//! Registration on the GPU engine: the same shifts as the CPU's f64 path, on photographs,
//! within the accuracy the issue asks for (0.02 px at upsample 100), at power-of-two and
//! other sizes (Bluestein transforms on the device).
#![cfg(feature = "gpu")]

mod gpu_support;
mod vision;

use vision::{crop, fourier_shift, photo};
use xcorr::registration::{register_with, Normalization, RegisterOptions, Registrar, Window};
use xcorr::{Array, Engine, Error, Shape};

fn gpu_engine() -> Option<Engine> {
    gpu_support::context().map(Engine::with_gpu_context)
}

fn coins(top: usize, left: usize, rows: usize, cols: usize) -> Array<f64> {
    crop(&photo("coins.png"), top, left, rows, cols).map(|&v| v as f64)
}

fn options(upsample: usize) -> RegisterOptions {
    RegisterOptions {
        upsample,
        ..Default::default()
    }
}

#[test]
fn subpixel_shifts_on_the_gpu_match_the_truth_and_the_cpu() {
    let Some(gpu) = gpu_engine() else {
        return;
    };
    let shifts = [
        (2.37, -5.81),
        (-3.6, 4.25),
        (0.49, -0.51),
        (-10.02, 7.77),
        (0.0, 1.91),
    ];
    // The CPU tests' shapes (Bluestein on the rows, on both axes) and a power-of-two one.
    for reference in [
        coins(80, 120, 96, 128),
        coins(150, 30, 75, 91),
        coins(60, 100, 128, 128),
    ] {
        let reference32 = reference.map(|&v| v as f32);
        let on_gpu = Registrar::with_engine(&gpu, &reference32, &options(100)).unwrap();
        let on_cpu = Registrar::new(&reference, &options(100)).unwrap();
        let mut worst = 0.0f64;
        for (dy, dx) in shifts {
            let moving = fourier_shift(&reference, dy, dx);
            let g = on_gpu.register(&moving.map(|&v| v as f32)).unwrap();
            let c = on_cpu.register(&moving).unwrap();
            let (ey, ex) = ((g.shift.0 + dy).abs(), (g.shift.1 + dx).abs());
            worst = worst.max(ey).max(ex);
            assert!(ey <= 0.02 && ex <= 0.02, "({dy}, {dx}) → {:?}", g.shift);
            // One grid step (0.01 px) at most from the f64 CPU answer.
            assert!(
                (g.shift.0 - c.shift.0).abs() <= 0.0100001
                    && (g.shift.1 - c.shift.1).abs() <= 0.0100001,
                "gpu {:?} cpu {:?}",
                g.shift,
                c.shift
            );
            assert!((g.peak - c.peak).abs() < 1e-3, "{g:?} {c:?}");
            assert!((g.error - c.error).abs() < 1e-3, "{g:?} {c:?}");
        }
        println!("{:?}: GPU worst error {worst:.4} px", reference.shape());
    }
}

#[test]
fn integer_shifts_on_the_gpu_are_exact() {
    let Some(gpu) = gpu_engine() else {
        return;
    };
    let reference = coins(80, 120, 96, 128).map(|&v| v as f32);
    let [h, w] = reference.shape().axes();
    for u in [1, 20] {
        let registrar = Registrar::with_engine(&gpu, &reference, &options(u)).unwrap();
        for (dy, dx, want) in [
            (3isize, -7isize, (-3.0, 7.0)),
            (60, 70, (36.0, 58.0)),
            (48, 64, (48.0, 64.0)),
            (0, 0, (0.0, 0.0)),
        ] {
            let moving = Array::from_fn(reference.shape(), |r, c| {
                reference.at(
                    (r as isize - dy).rem_euclid(h as isize) as usize,
                    (c as isize - dx).rem_euclid(w as isize) as usize,
                )
            });
            let found = registrar.register(&moving).unwrap();
            assert_eq!(found.shift, want, "upsample {u}: roll ({dy}, {dx})");
            assert!((found.peak - 1.0).abs() < 1e-4, "{found:?}");
            assert!(found.phase_difference.abs() < 1e-3, "{found:?}");
        }
    }
}

#[test]
fn plain_correlation_windowing_and_complex_input_on_the_gpu() {
    let Some(gpu) = gpu_engine() else {
        return;
    };
    let cpu = Engine::cpu();
    let photo = photo("coins.png");
    let reference = crop(&photo, 100, 100, 96, 128);
    let moving = crop(&photo, 97, 105, 96, 128);
    for (window, normalization) in [
        (Window::Hann, Normalization::Phase),
        (Window::None, Normalization::None),
    ] {
        let options = RegisterOptions {
            upsample: 10,
            window,
            normalization,
        };
        let g = register_with(&gpu, &reference, &moving, &options).unwrap();
        let c = register_with(&cpu, &reference, &moving, &options).unwrap();
        assert!(
            (g.shift.0 - c.shift.0).abs() <= 0.1000001
                && (g.shift.1 - c.shift.1).abs() <= 0.1000001,
            "{window} {normalization:?}: gpu {g:?} cpu {c:?}"
        );
        if normalization == Normalization::Phase {
            assert!(
                (g.shift.0 + 3.0).abs() <= 0.1 && (g.shift.1 - 5.0).abs() <= 0.1,
                "{g:?}"
            );
        }
    }
    // Complex f32 input runs on the device too.
    let to_complex = |x: &Array<f32>| x.map(|&v| num_complex::Complex::new(v, 0.5 * v));
    let g = register_with(
        &gpu,
        &to_complex(&reference),
        &to_complex(&moving),
        &options(10),
    )
    .unwrap();
    assert!(
        (g.shift.0 + 3.0).abs() <= 0.1 && (g.shift.1 - 5.0).abs() <= 0.1,
        "{g:?}"
    );
}

#[test]
fn bad_input_and_f64_on_the_gpu_engine() {
    let Some(gpu) = gpu_engine() else {
        return;
    };
    let a = coins(0, 0, 32, 40).map(|&v| v as f32);
    let b = coins(0, 0, 32, 41).map(|&v| v as f32);
    let err = register_with(&gpu, &a, &b, &options(10)).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch(_)), "{err}");
    let mut nan = a.clone();
    nan.data_mut()[7] = f32::NAN;
    assert!(matches!(
        register_with(&gpu, &a, &nan, &options(10)),
        Err(Error::NonFinite { .. })
    ));
    let flat = Array::from_fn(Shape::d2(32, 40), |_, _| 0.25f32);
    let err = register_with(&gpu, &a, &flat, &options(10)).unwrap_err();
    assert!(err.to_string().contains("constant"), "{err}");
    // An explicit GPU engine refuses f64 (it computes in f32), as for correlations.
    let a64 = a.map(|&v| v as f64);
    let err = register_with(&gpu, &a64, &a64, &options(10)).unwrap_err();
    assert!(err.to_string().contains("f32"), "{err}");
}
