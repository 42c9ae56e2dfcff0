//! Registration: known subpixel shifts of a photograph (made by Fourier shifting in f64),
//! integer and wrapped shifts, the sign convention, windowing, bad input.

mod vision;

use vision::{crop, fourier_shift, photo};
use xcorr::registration::{register, Normalization, RegisterOptions, Registrar, Window};
use xcorr::{Array, Error, Shape};

fn coins64(top: usize, left: usize, rows: usize, cols: usize) -> Array<f64> {
    crop(&photo("coins.png"), top, left, rows, cols).map(|&v| v as f64)
}

/// `x` rolled circularly: `out(y, x) = x(y − dy, x − dx)` (numpy's `np.roll(x, (dy, dx))`).
fn roll(x: &Array<f64>, dy: isize, dx: isize) -> Array<f64> {
    let [h, w] = x.shape().axes();
    Array::from_fn(x.shape(), |r, c| {
        x.at(
            (r as isize - dy).rem_euclid(h as isize) as usize,
            (c as isize - dx).rem_euclid(w as isize) as usize,
        )
    })
}

fn upsample(u: usize) -> RegisterOptions {
    RegisterOptions {
        upsample: u,
        ..Default::default()
    }
}

#[test]
fn subpixel_shifts_within_two_hundredths_of_a_pixel() {
    let shifts = [
        (2.37, -5.81),
        (-3.6, 4.25),
        (0.49, -0.51),
        (-10.02, 7.77),
        (5.5, -0.5),
        (-0.13, 0.0),
        (0.0, 1.91),
    ];
    // Even and odd sizes.
    for reference in [coins64(80, 120, 96, 128), coins64(150, 30, 75, 91)] {
        let registrar = Registrar::new(&reference, &upsample(100)).unwrap();
        let mut worst = 0.0f64;
        for (dy, dx) in shifts {
            let moving = fourier_shift(&reference, dy, dx);
            let found = registrar.register(&moving).unwrap();
            // The shift that registers moving with reference undoes (dy, dx).
            let (ey, ex) = ((found.shift.0 + dy).abs(), (found.shift.1 + dx).abs());
            worst = worst.max(ey).max(ex);
            assert!(
                ey <= 0.02 && ex <= 0.02,
                "{:?}: ({dy}, {dx}) → {:?}",
                reference.shape(),
                found.shift
            );
            assert!(found.error.is_finite() && found.peak.is_finite());
            assert!(found.peak > 0.5, "{found:?}");
        }
        println!("{:?}: worst error {worst:.4} px", reference.shape());
    }
}

#[test]
fn integer_shifts_are_exact_and_wrap_past_half_the_size() {
    let reference = coins64(80, 120, 96, 128);
    for u in [1, 100] {
        let registrar = Registrar::new(&reference, &upsample(u)).unwrap();
        for (dy, dx, want) in [
            (3, -7, (-3.0, 7.0)),
            (-12, 0, (12.0, 0.0)),
            (0, 25, (0.0, -25.0)),
            // −60 rows is +36 modulo 96; −70 columns is +58 modulo 128, above 64? no: 58.
            (60, 70, (36.0, 58.0)),
            // Exactly half the size stays positive, as in scikit-image.
            (48, 64, (48.0, 64.0)),
            (-48, -64, (48.0, 64.0)),
            (47, -65, (-47.0, -63.0)),
        ] {
            let found = registrar.register(&roll(&reference, dy, dx)).unwrap();
            assert_eq!(found.shift, want, "upsample {u}: roll ({dy}, {dx})");
            assert!((found.peak - 1.0).abs() < 1e-9, "{found:?}");
        }
    }
}

#[test]
fn plain_correlation_reports_a_zero_error_for_a_perfect_shift() {
    let reference = coins64(0, 0, 64, 80);
    let moving = roll(&reference, 5, -9);
    for u in [1, 20] {
        let options = RegisterOptions {
            upsample: u,
            normalization: Normalization::None,
            ..Default::default()
        };
        let found = register(&reference, &moving, &options).unwrap();
        assert_eq!(found.shift, (-5.0, 9.0));
        assert!(found.error < 1e-6, "{found:?}");
        assert!(found.phase_difference.abs() < 1e-9);
    }
    // Phase normalisation: scikit-image's error is close to 1 for ordinary images.
    let found = register(&reference, &moving, &upsample(20)).unwrap();
    assert!(found.error > 0.99 && found.error <= 1.0, "{found:?}");
}

#[test]
fn hann_window_registers_overlapping_crops() {
    // Two crops of one photograph, offset by (3, −5): not a circular shift.
    let photo = photo("coins.png").map(|&v| v as f64);
    let reference = crop(&photo, 100, 100, 96, 128);
    // moving(y, x) = photo(y + 97, x + 105) = reference(y − 3, x + 5).
    let moving = crop(&photo, 97, 105, 96, 128);
    for window in [Window::None, Window::Hann] {
        let options = RegisterOptions {
            upsample: 10,
            window,
            ..Default::default()
        };
        let found = register(&reference, &moving, &options).unwrap();
        assert!(
            (found.shift.0 + 3.0).abs() <= 0.1 && (found.shift.1 - 5.0).abs() <= 0.1,
            "{window}: {found:?}"
        );
    }
}

#[test]
fn one_dimensional_and_single_row_inputs() {
    let signal = Array::from_vec((0..64).map(|i| ((i * i) % 17) as f64).collect());
    let moving = Array::from_vec((0..64).map(|i| signal.data()[(i + 64 - 6) % 64]).collect());
    let found = register(&signal, &moving, &upsample(10)).unwrap();
    assert_eq!(found.shift, (0.0, -6.0));
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let a = coins64(0, 0, 32, 40);
    let b = coins64(0, 0, 32, 41);
    let err = register(&a, &b, &upsample(10)).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch(_)), "{err}");
    assert!(err.to_string().contains("same shape"), "{err}");

    let mut nan = a.clone();
    nan.data_mut()[5] = f64::NAN;
    assert!(matches!(
        register(&a, &nan, &upsample(10)),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(
        register(&nan, &a, &upsample(10)),
        Err(Error::NonFinite { .. })
    ));

    let flat = Array::from_fn(Shape::d2(32, 40), |_, _| 0.25);
    let err = register(&a, &flat, &upsample(10)).unwrap_err();
    assert!(err.to_string().contains("constant"), "{err}");

    let empty = Array::<f64>::zeros(Shape::d2(0, 4));
    assert!(matches!(
        register(&empty, &empty, &upsample(1)),
        Err(Error::Empty { .. })
    ));
    assert!(matches!(
        register(&a, &a, &upsample(0)),
        Err(Error::InvalidArgument(_))
    ));

    // f32 input works the same way and nothing is NaN.
    let a32 = a.map(|&v| v as f32);
    let found = register(&a32, &a32, &upsample(100)).unwrap();
    assert_eq!(found.shift, (0.0, 0.0));
    assert!(
        found.error.is_finite() && found.peak.is_finite() && found.phase_difference.is_finite()
    );
}

/// Real images keep half spectra; complex ones whole spectra; a registrar built on one kind
/// and given the other fills in the missing half and agrees with itself.
#[test]
fn real_and_complex_images_mix() {
    use num_complex::Complex;
    let reference = coins64(80, 120, 96, 128);
    let moving = fourier_shift(&reference, 2.37, -5.81);
    let as_complex = |x: &Array<f64>| x.map(|&v| Complex::new(v, 0.0));
    let real = register(&reference, &moving, &upsample(100)).unwrap();
    let from_real = Registrar::new(&reference, &upsample(100)).unwrap();
    let from_complex = Registrar::new(&as_complex(&reference), &upsample(100)).unwrap();
    for found in [
        from_real.register(&as_complex(&moving)).unwrap(),
        from_complex.register(&moving).unwrap(),
        from_complex.register(&as_complex(&moving)).unwrap(),
    ] {
        assert_eq!(found.shift, real.shift);
        assert!(
            (found.error - real.error).abs() < 1e-9,
            "{found:?} {real:?}"
        );
        assert!((found.peak - real.peak).abs() < 1e-9, "{found:?} {real:?}");
    }
}

#[test]
fn repeated_registrations_on_one_engine_carry_nothing_over() {
    use num_complex::Complex;
    use xcorr::registration::register_with;
    use xcorr::Engine;
    // One engine keeps the transforms and spectrum buffers of each shape between calls;
    // every call must still see only its own images. Two shapes, real and complex inputs
    // (half and whole spectra, so kept buffers change length), and a long-lived registrar
    // beside the one-shot calls.
    let engine = Engine::cpu();
    let options = upsample(20);
    let a = coins64(80, 120, 96, 128);
    let b = coins64(10, 40, 96, 128);
    let c = coins64(150, 30, 75, 91);
    let cases = [
        (a.clone(), fourier_shift(&a, 2.37, -5.81)),
        (b.clone(), fourier_shift(&b, -3.6, 4.25)),
        (c.clone(), fourier_shift(&c, 0.49, -7.5)),
    ];
    let fresh: Vec<_> = cases
        .iter()
        .map(|(r, m)| register_with(&Engine::cpu(), r, m, &options).unwrap())
        .collect();
    let kept = Registrar::with_engine(&engine, &cases[0].0, &options).unwrap();
    let as_complex = |x: &Array<f64>| x.map(|&v| Complex::new(v, 0.0));
    for round in 0..2 {
        for (i, (reference, moving)) in cases.iter().enumerate() {
            let found = if round == 0 {
                register_with(&engine, reference, moving, &options).unwrap()
            } else {
                register_with(
                    &engine,
                    &as_complex(reference),
                    &as_complex(moving),
                    &options,
                )
                .unwrap()
            };
            assert_eq!(found.shift, fresh[i].shift, "round {round}, case {i}");
            assert!((found.peak - fresh[i].peak).abs() <= 1e-9 * fresh[i].peak);
            assert!((found.error - fresh[i].error).abs() <= 1e-9);
            let again = kept.register(&cases[0].1).unwrap();
            assert_eq!(again.shift, fresh[0].shift, "round {round}, case {i}");
            assert_eq!(again.peak, fresh[0].peak);
        }
    }
}
