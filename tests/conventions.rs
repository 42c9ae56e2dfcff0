//! The conventions of DESIGN.md §1 as tests: each claim of the flip-versus-conjugate
//! discussion, the textbook mapping, and `lags` checked against the data.

mod common;

use common::random;
use num_complex::Complex;
use xcorr::spec::{lags, Plan};
use xcorr::{Array, Engine, Error, Mode, Op, Shape};

type C64 = Complex<f64>;

const SHAPES: [(usize, usize); 6] = [(5, 7), (6, 8), (7, 6), (4, 9), (1, 6), (9, 1)];

fn max_diff(a: &[C64], b: &[C64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).norm())
        .fold(0.0, f64::max)
}

fn argmax(x: &Array<f64>) -> (usize, usize) {
    let i = (0..x.data().len())
        .max_by(|&i, &j| x.data()[i].total_cmp(&x.data()[j]))
        .unwrap();
    (i / x.shape().cols(), i % x.shape().cols())
}

#[test]
fn centred_unit_impulse_returns_the_image() {
    let engine = Engine::cpu();
    for (r, c) in SHAPES {
        let image = random::<C64>(Shape::d2(r, c), 1);
        // Impulse kernels the size of the image and smaller, odd and even.
        for (kr, kc) in [(r, c), (r.min(3), c.min(3)), (r.min(2), c.min(4))] {
            let mut impulse = Array::<C64>::zeros(Shape::d2(kr, kc));
            impulse.data_mut()[(kr / 2) * kc + kc / 2] = C64::new(1.0, 0.0);
            for op in [Op::Correlate, Op::Convolve] {
                let out = engine
                    .compute(op, &image, &impulse, Mode::CIRCULAR_CENTRED)
                    .unwrap();
                assert!(
                    max_diff(out.data(), image.data()) < 1e-12,
                    "{op:?} image {r}x{c}, impulse {kr}x{kc}"
                );
            }
        }
    }
}

#[test]
fn autocorrelation_peaks_at_the_centre() {
    let engine = Engine::cpu();
    for (r, c) in SHAPES {
        let image = random::<f64>(Shape::d2(r, c), 2);
        let out = engine
            .correlate(&image, &image, Mode::CIRCULAR_CENTRED)
            .unwrap();
        assert_eq!(argmax(&out), (r / 2, c / 2), "{r}x{c}");
        // Uncentred, the zero lag is at the origin.
        let out = engine.correlate(&image, &image, Mode::CIRCULAR).unwrap();
        assert_eq!(argmax(&out), (0, 0), "{r}x{c}");
    }
}

/// `convolve(a, b) == correlate(a, flip(conj(b)))`: identical in the linear modes (same
/// output index, even for even M), off by one sample per axis in circular mode.
#[test]
fn convolution_is_correlation_with_the_flipped_conjugate() {
    let engine = Engine::cpu();
    for (r, c) in SHAPES {
        let a = random::<C64>(Shape::d2(r, c), 3);
        for (kr, kc) in [(r, c), (r.min(3), c.min(4)), (r.min(2), c.min(2))] {
            let b = random::<C64>(Shape::d2(kr, kc), 4);
            let flipped = b.flipped().map(|v| v.conj());
            for mode in [Mode::Full, Mode::Same, Mode::Valid] {
                let conv = engine.convolve(&a, &b, mode).unwrap();
                let corr = engine.correlate(&a, &flipped, mode).unwrap();
                assert!(
                    max_diff(conv.data(), corr.data()) < 1e-12,
                    "{mode} {r}x{c} {kr}x{kc}"
                );
            }
            // Circular, b the size of a: corr_flip[k] = conv[k − 1] along each axis.
            if (kr, kc) == (r, c) {
                let conv = engine.convolve(&a, &b, Mode::CIRCULAR).unwrap();
                let corr = engine.correlate(&a, &flipped, Mode::CIRCULAR).unwrap();
                let shifted =
                    Array::from_fn(a.shape(), |i, j| conv.at((i + r - 1) % r, (j + c - 1) % c));
                assert!(
                    max_diff(corr.data(), shifted.data()) < 1e-12,
                    "circular {r}x{c}"
                );
                let unshifted_error = max_diff(corr.data(), conv.data());
                assert!(
                    r * c == 1 || unshifted_error > 1e-3,
                    "flip must be off by one sample"
                );
            }
        }
    }
}

/// Conjugating the spectrum is the modulo-N reversal `b[(−n) mod N]` (conjugated);
/// `flip` (`b[N − 1 − n]`) is that reversal shifted by one sample.
#[test]
fn spectrum_conjugate_is_modulo_reversal() {
    let engine = Engine::cpu();
    for (r, c) in SHAPES {
        let a = random::<C64>(Shape::d2(r, c), 5);
        let b = random::<C64>(Shape::d2(r, c), 6);
        let reversed = Array::from_fn(b.shape(), |i, j| b.at((r - i) % r, (c - j) % c).conj());
        // correlate conjugates b's spectrum; convolving with the modulo reversal is the same.
        let corr = engine.correlate(&a, &b, Mode::CIRCULAR).unwrap();
        let conv = engine.convolve(&a, &reversed, Mode::CIRCULAR).unwrap();
        assert!(max_diff(corr.data(), conv.data()) < 1e-12, "{r}x{c}");
        let flipped = b.flipped().map(|v| v.conj());
        let conv_flip = engine.convolve(&a, &flipped, Mode::CIRCULAR).unwrap();
        let shifted = Array::from_fn(a.shape(), |i, j| corr.at((i + 1) % r, (j + 1) % c));
        assert!(
            max_diff(conv_flip.data(), shifted.data()) < 1e-12,
            "{r}x{c} flip"
        );
    }
}

/// The textbook notation indexes image and kernel from their centres:
/// convolution `y[m,n] = Σ x[i,j]·h[m−i, n−j]`, correlation `y[m,n] = Σ x[i,j]·h[m+i, n+j]`.
/// For a 7×7 image (i, j in −3..3) and a 3×3 kernel with values a..i, the textbook's
/// correlation `y[m,n]` is our lag `(−m, −n)`, which `same` mode puts at index
/// `(3 − m, 3 − n)`; its convolution `y[m,n]` is `same` index `(3 + m, 3 + n)`.
#[test]
fn textbook_worked_example() {
    // x[i][j] with i, j in −3..=3 stored at [i + 3][j + 3]; distinct values.
    let x =
        |i: i32, j: i32| -> f64 { (10 * (i + 3) + (j + 3)) as f64 + 0.5 * ((i * j) as f64).sin() };
    let image = Array::from_fn(Shape::d2(7, 7), |r, c| x(r as i32 - 3, c as i32 - 3));
    let [a, b, c, d, e, f, g, h, i] = [2.0, 3.0, 5.0, 7.0, 11.0, 13.0, 17.0, 19.0, 23.0];
    // Kernel rows u = −1, 0, 1; columns v = −1, 0, 1.
    let kernel = Array::new(vec![a, b, c, d, e, f, g, h, i], Shape::d2(3, 3)).unwrap();

    // Convolution y[1,1] = Σ x[i,j]·h[1−i, 1−j]: h[u,v] pairs with x[1−u, 1−v].
    let conv_y11 = a * x(2, 2)
        + b * x(2, 1)
        + c * x(2, 0)
        + d * x(1, 2)
        + e * x(1, 1)
        + f * x(1, 0)
        + g * x(0, 2)
        + h * x(0, 1)
        + i * x(0, 0);
    // Correlation y[−1,−1] = Σ x[i,j]·h[i−1, j−1]: h[u,v] pairs with x[1+u, 1+v].
    let corr_ym1 = a * x(0, 0)
        + b * x(0, 1)
        + c * x(0, 2)
        + d * x(1, 0)
        + e * x(1, 1)
        + f * x(1, 2)
        + g * x(2, 0)
        + h * x(2, 1)
        + i * x(2, 2);

    let engine = Engine::cpu();
    let conv = engine.convolve(&image, &kernel, Mode::Same).unwrap();
    let corr = engine.correlate(&image, &kernel, Mode::Same).unwrap();
    let same_index = |k: isize| (3 + k) as usize;
    // Convolution y[m,n] at (3 + m, 3 + n); correlation y[m,n] at (3 − m, 3 − n).
    assert!((conv.at(same_index(1), same_index(1)) - conv_y11).abs() < 1e-9);
    assert!((corr.at(same_index(1), same_index(1)) - corr_ym1).abs() < 1e-9);
    // Our lags count from the arrays' first elements. The textbook's origins are the centres
    // (3 for the image, 1 for the kernel), so its y[m,n] is our lag (−m + 3 − 1, −n + 3 − 1):
    // y[−1,−1] is lag (3, 3), which `same` puts at index 4.
    let l = lags(Op::Correlate, Mode::Same, image.shape(), kernel.shape()).unwrap();
    assert_eq!((l[0][4], l[1][4]), (3, 3));
}

/// With both arrays indexed from the same origin, the textbook correlation
/// `y[m,n] = Σ x[i,j]·h[m+i, n+j]` is exactly our lag `(−m, −n)`.
#[test]
fn textbook_correlation_is_our_negated_lag() {
    let x = random::<f64>(Shape::d2(6, 5), 21);
    let h = random::<f64>(Shape::d2(3, 4), 22);
    let full = Engine::cpu().correlate(&x, &h, Mode::Full).unwrap();
    let l = lags(Op::Correlate, Mode::Full, x.shape(), h.shape()).unwrap();
    for m in -5isize..=2 {
        for n in -4isize..=3 {
            let mut y = 0.0;
            for i in 0..6isize {
                for j in 0..5isize {
                    let (u, v) = (m + i, n + j);
                    if (0..3).contains(&u) && (0..4).contains(&v) {
                        y += x.at(i as usize, j as usize) * h.at(u as usize, v as usize);
                    }
                }
            }
            let row = l[0].iter().position(|&k| k == -m).unwrap();
            let col = l[1].iter().position(|&k| k == -n).unwrap();
            assert!((full.at(row, col) - y).abs() < 1e-12, "y[{m},{n}]");
        }
    }
}

/// Plant one impulse in each input: correlation is non-zero only at lag p − q, convolution
/// only at index p + q (mod N in circular mode). `lags` must name exactly that output.
#[test]
fn lags_match_the_data() {
    let engine = Engine::cpu();
    let modes = [
        Mode::Full,
        Mode::Same,
        Mode::Valid,
        Mode::CIRCULAR,
        Mode::CIRCULAR_CENTRED,
    ];
    // Odd N with even M (where scipy's correlation_lags and correlate disagree), and more.
    for (n, m) in [
        (7, 4),
        (7, 3),
        (8, 4),
        (8, 3),
        (4, 7),
        (3, 8),
        (5, 5),
        (1, 4),
    ] {
        for op in [Op::Correlate, Op::Convolve] {
            for mode in modes {
                let Ok(plan) = Plan::new(op, mode, Shape::d1(n), Shape::d1(m)) else {
                    continue;
                };
                let lag_list = lags(op, mode, Shape::d1(n), Shape::d1(m))
                    .unwrap()
                    .remove(0);
                assert_eq!(lag_list.len(), plan.out.len());
                for p in 0..n {
                    for q in 0..m {
                        let mut a = vec![0.0f64; n];
                        let mut b = vec![0.0f64; m];
                        a[p] = 1.0;
                        b[q] = 1.0;
                        let out = engine
                            .compute(op, &Array::from_vec(a), &Array::from_vec(b), mode)
                            .unwrap();
                        let k = match op {
                            Op::Correlate => p as isize - q as isize,
                            Op::Convolve => (p + q) as isize,
                        };
                        for (idx, (&v, &lag)) in out.data().iter().zip(&lag_list).enumerate() {
                            let hit = if mode.is_circular() {
                                (lag - k).rem_euclid(n as isize) == 0
                            } else {
                                lag == k
                            };
                            let want = if hit { 1.0 } else { 0.0 };
                            assert!(
                                (v - want).abs() < 1e-12,
                                "{op:?} {mode} n={n} m={m} p={p} q={q}: out[{idx}] = {v}, lag {lag}"
                            );
                        }
                    }
                }
            }
        }
    }
    // The case scipy gets wrong: correlate(a, b, "same") with N = 7, M = 4 starts at lag −2.
    let l = lags(Op::Correlate, Mode::Same, Shape::d1(7), Shape::d1(4)).unwrap();
    assert_eq!(l[0][0], -2);
}

#[test]
fn lags_in_2d_follow_each_axis() {
    let l = lags(Op::Correlate, Mode::Full, Shape::d2(3, 5), Shape::d2(2, 4)).unwrap();
    assert_eq!(l[0], vec![-1, 0, 1, 2]);
    assert_eq!(l[1], vec![-3, -2, -1, 0, 1, 2, 3, 4]);
    let l = lags(
        Op::Correlate,
        Mode::CIRCULAR_CENTRED,
        Shape::d2(4, 5),
        Shape::d2(4, 5),
    )
    .unwrap();
    assert_eq!(l[0], vec![-2, -1, 0, 1]);
    assert_eq!(l[1], vec![-2, -1, 0, 1, 2]);
}

#[test]
fn bad_input_is_refused_with_a_named_error() {
    let engine = Engine::cpu();
    let a = random::<f32>(Shape::d2(33, 17), 9);
    let b = random::<f32>(Shape::d2(20, 40), 10);
    let err = engine.correlate(&a, &b, Mode::Valid).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch(_)), "{err}");
    assert!(err.to_string().contains("(33, 17)") && err.to_string().contains("(20, 40)"));

    let small = random::<f32>(Shape::d2(4, 4), 11);
    let err = engine.correlate(&small, &a, Mode::CIRCULAR).unwrap_err();
    assert!(err.to_string().contains("circular"), "{err}");

    let mut nan = random::<f32>(Shape::d2(4, 4), 12);
    nan.data_mut()[6] = f32::NAN;
    let err = engine.correlate(&a, &nan, Mode::Full).unwrap_err();
    assert!(matches!(err, Error::NonFinite { .. }), "{err}");
    assert!(
        err.to_string().contains("second input") && err.to_string().contains("[1, 2]"),
        "{err}"
    );
    let mut inf = random::<f64>(Shape::d1(5), 13);
    inf.data_mut()[3] = f64::INFINITY;
    let err = engine.convolve(&inf, &inf, Mode::Full).unwrap_err();
    assert!(
        err.to_string().contains("first input") && err.to_string().contains("inf"),
        "{err}"
    );

    // A large input is checked in parallel chunks: still the first bad element is named.
    let mut large = random::<f32>(Shape::d2(300, 400), 15);
    large.data_mut()[250 * 400 + 7] = f32::NEG_INFINITY;
    large.data_mut()[90 * 400 + 333] = f32::NAN;
    let err = engine.correlate(&large, &small, Mode::Same).unwrap_err();
    assert!(
        matches!(err, Error::NonFinite { .. }) && err.to_string().contains("[90, 333]"),
        "{err}"
    );

    let empty = Array::<f32>::new(vec![], Shape::d2(0, 3)).unwrap();
    let err = engine.correlate(&empty, &small, Mode::Full).unwrap_err();
    assert!(matches!(err, Error::Empty { .. }), "{err}");

    let one_d = random::<f32>(Shape::d1(4), 14);
    let err = engine.correlate(&small, &one_d, Mode::Full).unwrap_err();
    assert!(matches!(err, Error::Dimensions(_)), "{err}");

    let err = xcorr::ArrayView::new(&[1.0f32, 2.0, 3.0], Shape::d2(2, 2)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LengthMismatch {
                expected: 4,
                got: 3,
                ..
            }
        ),
        "{err}"
    );

    let err = Shape::from_dims(&[2, 3, 4]).unwrap_err();
    assert!(err.to_string().contains("3-D"), "{err}");
}

#[test]
fn prepared_template_matches_one_shot_calls() {
    let engine = Engine::cpu();
    let template = random::<f32>(Shape::d2(6, 5), 15);
    for mode in [Mode::Full, Mode::Same, Mode::Valid, Mode::CIRCULAR_CENTRED] {
        let prepared = engine
            .prepare(Op::Correlate, mode, Shape::d2(20, 23), &template)
            .unwrap();
        for seed in 0..3 {
            let frame = random::<f32>(Shape::d2(20, 23), 100 + seed);
            let once = engine.correlate(&frame, &template, mode).unwrap();
            assert_eq!(prepared.run(&frame).unwrap(), once, "{mode}");
        }
        let wrong = random::<f32>(Shape::d2(20, 22), 1);
        assert!(matches!(prepared.run(&wrong), Err(Error::ShapeMismatch(_))));
    }
}

/// Small cases worked by hand, as numpy/scipy print them.
#[test]
fn known_values() {
    let engine = Engine::cpu();
    let a = Array::from_vec(vec![1.0f64, 2.0, 3.0]);
    let b = Array::from_vec(vec![0.0f64, 1.0, 0.5]);
    // np.correlate([1,2,3], [0,1,0.5], "full") == [0.5, 2, 3.5, 3, 0]
    let full = engine.correlate(&a, &b, Mode::Full).unwrap();
    let want = [0.5, 2.0, 3.5, 3.0, 0.0];
    assert!(
        full.data()
            .iter()
            .zip(want)
            .all(|(x, y)| (x - y).abs() < 1e-12),
        "{full:?}"
    );
    // np.convolve([1,2,3], [0,1,0.5]) == [0, 1, 2.5, 4, 1.5]
    let conv = engine.convolve(&a, &b, Mode::Full).unwrap();
    let want = [0.0, 1.0, 2.5, 4.0, 1.5];
    assert!(
        conv.data()
            .iter()
            .zip(want)
            .all(|(x, y)| (x - y).abs() < 1e-12),
        "{conv:?}"
    );
    // scipy.signal.correlate(range(1, 8), [1, 0, 0, 0], "same") == [0, 0, 1, 2, 3, 4, 5]:
    // lag k picks a[k], and output 0 is lag −2 (full has 10 elements, cut from index 1).
    let a7 = Array::from_vec((1..=7).map(f64::from).collect());
    let delta = Array::from_vec(vec![1.0, 0.0, 0.0, 0.0]);
    let same = engine.correlate(&a7, &delta, Mode::Same).unwrap();
    let want = [0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
    assert!(
        same.data()
            .iter()
            .zip(want)
            .all(|(x, y)| (x - y).abs() < 1e-12),
        "{same:?}"
    );
}
