//! Several correlations sharing inputs in one call (`Engine::compute_pairs`,
//! `Engine::prepare_many` + `Prepared::run_pairs`) on the CPU: each pair equals its separate
//! correlation to the bit, and the direct sums of `xcorr::reference`.

mod common;

use common::{random, scaled_max_error};
use num_complex::Complex;
use xcorr::{reference, Array, ArrayView, Element, Engine, Error, Mode, Op, Pair, Real, Shape};

/// Input 0 is read by three pairs, not one after another, input 1 by two; template 1 by
/// two: the sharing and the in-place use of an input's last pair are both exercised.
const PAIRS: [Pair; 5] = [(0, 0), (0, 1), (1, 1), (0, 2), (1, 0)];

fn views<T: Element>(x: &[Array<T>]) -> Vec<ArrayView<'_, T>> {
    x.iter().map(Array::view).collect()
}

/// Two inputs and three templates of `T`, the second input scaled by 2^40 (a power of two
/// away from the others, so the per-input range scaling is in play for f32).
fn inputs<T: Element>(a: Shape, b: Shape, seed: u64) -> (Vec<Array<T>>, Vec<Array<T>>) {
    let big = T::Real::from_f64(2f64.powi(40));
    let scale = |x: Array<T>| x.map(|v| T::from_complex(v.to_complex() * big));
    let a = vec![random(a, seed), scale(random(a, seed + 1))];
    let b = (0..3).map(|k| random(b, seed + 2 + k)).collect();
    (a, b)
}

fn bound<T: Element>() -> f64 {
    if std::mem::size_of::<T::Real>() == 8 {
        1e-12
    } else {
        1e-5
    }
}

fn check<T: Element>(what: &str) {
    let engine = Engine::cpu();
    // 2-D with several column blocks (and a partial last one), 1-D, and a larger second input.
    let cases = [
        (Shape::d2(21, 75), Shape::d2(6, 9)),
        (Shape::d1(300), Shape::d1(31)),
        (Shape::d2(7, 9), Shape::d2(12, 20)),
    ];
    let modes = [Mode::Full, Mode::Same, Mode::Valid, Mode::CIRCULAR_CENTRED];
    for (sa, sb) in cases {
        for op in [Op::Correlate, Op::Convolve] {
            for mode in modes {
                if mode == Mode::CIRCULAR_CENTRED && sb.len() > sa.len() {
                    continue; // a larger second input is an error in circular mode
                }
                let (a, b) = inputs::<T>(sa, sb, 7);
                let got = engine
                    .compute_pairs(op, &views(&a), &views(&b), &PAIRS, mode)
                    .unwrap();
                assert_eq!(got.len(), PAIRS.len());
                for (out, &(i, k)) in got.iter().zip(&PAIRS) {
                    let case = format!("{what} {op:?} {mode} {sa} {sb} pair ({i}, {k})");
                    let alone = engine.compute(op, &a[i], &b[k], mode).unwrap();
                    assert_eq!(out.shape(), alone.shape(), "{case}");
                    assert!(out.data() == alone.data(), "{case}: differs from alone");
                    let direct = reference::compute(op, mode, a[i].view(), b[k].view()).unwrap();
                    let err = scaled_max_error(out, &direct, &a[i], &b[k]);
                    assert!(err < bound::<T>(), "{case}: {err:e}");
                }
            }
        }
    }
}

#[test]
fn pairs_equal_separate_correlations_and_the_direct_sums() {
    check::<f32>("f32");
    check::<f64>("f64");
    check::<Complex<f32>>("c32");
    check::<Complex<f64>>("c64");
}

#[test]
fn prepared_pairs_equal_prepared_singles() {
    let engine = Engine::cpu();
    let (sa, sb) = (Shape::d2(40, 50), Shape::d2(9, 12));
    for mode in [Mode::Valid, Mode::CIRCULAR] {
        let (a, b) = inputs::<f32>(sa, sb, 21);
        let prepared = engine
            .prepare_many(Op::Correlate, mode, sa, &views(&b))
            .unwrap();
        assert_eq!(prepared.len(), 3);
        let got = prepared.run_pairs(&views(&a), &PAIRS).unwrap();
        for (out, &(i, k)) in got.iter().zip(&PAIRS) {
            let single = engine.prepare(Op::Correlate, mode, sa, &b[k]).unwrap();
            let alone = single.run(&a[i]).unwrap();
            assert!(out.data() == alone.data(), "{mode} pair ({i}, {k})");
        }
        // One input against every template, in their order.
        let all = prepared.run_all(&a[1]).unwrap();
        for (k, out) in all.iter().enumerate() {
            let alone = engine.correlate(&a[1], &b[k], mode).unwrap();
            let err = scaled_max_error(out, &to_complex(&alone), &a[1], &b[k]);
            assert!(err < 1e-6, "{mode} run_all {k}: {err:e}");
        }
    }
}

fn to_complex(x: &Array<f32>) -> Array<Complex<f64>> {
    x.map(|&v| Complex::new(v as f64, 0.0))
}

#[test]
fn bad_pairs_and_shapes_are_named_errors() {
    let engine = Engine::cpu();
    let (a, b) = inputs::<f64>(Shape::d2(10, 10), Shape::d2(3, 3), 1);
    let (a, b) = (views(&a), views(&b));
    let e = engine
        .compute_pairs(Op::Correlate, &a, &b, &[(0, 3)], Mode::Valid)
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert!(e.to_string().contains("pair (0, 3)"), "{e}");
    let other = random::<f64>(Shape::d2(10, 11), 5);
    let e = engine
        .compute_pairs(
            Op::Correlate,
            &[a[0], other.view()],
            &b,
            &[(0, 0)],
            Mode::Valid,
        )
        .unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch(_)), "{e}");
    let e = engine
        .compute_pairs::<f64>(Op::Correlate, &[], &b, &[], Mode::Valid)
        .unwrap_err();
    assert!(e.to_string().contains("no first input"), "{e}");
    // No pairs: no results (and no work).
    let none = engine
        .compute_pairs(Op::Correlate, &a, &b, &[], Mode::Valid)
        .unwrap();
    assert!(none.is_empty());
    let mut nan = random::<f64>(Shape::d2(3, 3), 9);
    nan.data_mut()[4] = f64::NAN;
    let e = engine
        .compute_pairs(
            Op::Correlate,
            &a,
            &[b[0], nan.view()],
            &[(0, 0)],
            Mode::Valid,
        )
        .unwrap_err();
    assert!(e.to_string().contains("second input"), "{e}");
    // A plan of several templates has no single result.
    let prepared = engine
        .prepare_many(Op::Correlate, Mode::Valid, Shape::d2(10, 10), &b)
        .unwrap();
    assert!(prepared
        .run(a[0])
        .unwrap_err()
        .to_string()
        .contains("run_all"));
    let e = prepared.run_pairs(&[other.view()], &[(0, 0)]).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch(_)), "{e}");
}
