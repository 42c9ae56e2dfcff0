//! The CPU engine against the direct sums of `xcorr::reference`, for every op × mode,
//! 1-D and 2-D, real and complex, f32 and f64, over lengths 1, odd, even and prime, with the
//! second input smaller, equal and larger.

mod common;

use common::{random, scaled_max_error};
use num_complex::Complex;
use xcorr::{reference, Element, Engine, Error, Mode, Op, Shape};

const MODES: [Mode; 5] = [
    Mode::Full,
    Mode::Same,
    Mode::Valid,
    Mode::CIRCULAR,
    Mode::CIRCULAR_CENTRED,
];
const OPS: [Op; 2] = [Op::Correlate, Op::Convolve];

/// f64 bound and f32 bound on max abs error relative to Σ|a|·max|b|.
fn bound<T: Element>() -> f64 {
    if std::mem::size_of::<T::Real>() == 8 {
        1e-12
    } else {
        1e-5
    }
}

/// Whether scipy (and we) accept these shapes in this mode.
fn allowed(mode: Mode, a: Shape, b: Shape) -> bool {
    let (na, nb) = (a.axes(), b.axes());
    match mode {
        Mode::Valid => (0..2).all(|i| na[i] >= nb[i]) || (0..2).all(|i| nb[i] >= na[i]),
        Mode::Circular { .. } => (0..2).all(|i| nb[i] <= na[i]),
        _ => true,
    }
}

fn check_all<T: Element>(shapes_a: &[Shape], shapes_b: &[Shape]) -> usize {
    let engine = Engine::cpu();
    let mut checked = 0;
    let mut worst: f64 = 0.0;
    for (i, &sa) in shapes_a.iter().enumerate() {
        for (j, &sb) in shapes_b.iter().enumerate() {
            let a = random::<T>(sa, 1000 + i as u64);
            let b = random::<T>(sb, 2000 + j as u64);
            for op in OPS {
                for mode in MODES {
                    let got = engine.compute(op, &a, &b, mode);
                    if !allowed(mode, sa, sb) {
                        assert!(
                            matches!(got, Err(Error::ShapeMismatch(_))),
                            "{op:?} {mode} {sa} {sb} should be refused, got {got:?}"
                        );
                        continue;
                    }
                    let got = got.unwrap_or_else(|e| panic!("{op:?} {mode} {sa} {sb}: {e}"));
                    let want = reference::compute(op, mode, a.view(), b.view()).unwrap();
                    let err = scaled_max_error(&got, &want, &a, &b);
                    worst = worst.max(err);
                    assert!(
                        err <= bound::<T>(),
                        "{op:?} {mode} a={sa} b={sb} ({}): error {err:e} > {:e}",
                        std::any::type_name::<T>(),
                        bound::<T>()
                    );
                    checked += 1;
                }
            }
        }
    }
    println!(
        "{}: {checked} cases, worst scaled error {worst:e}",
        std::any::type_name::<T>()
    );
    checked
}

fn shapes_1d() -> (Vec<Shape>, Vec<Shape>) {
    let a = [1, 2, 7, 8, 13, 16].map(Shape::d1).to_vec();
    let b = [1, 2, 3, 4, 7, 13, 17].map(Shape::d1).to_vec();
    (a, b)
}

fn shapes_2d() -> (Vec<Shape>, Vec<Shape>) {
    let a = [(1, 1), (5, 7), (8, 6), (13, 11), (1, 9)]
        .map(|(r, c)| Shape::d2(r, c))
        .to_vec();
    let b = [(1, 1), (2, 3), (4, 4), (5, 7), (7, 2), (16, 14)]
        .map(|(r, c)| Shape::d2(r, c))
        .to_vec();
    (a, b)
}

macro_rules! semantics_tests {
    ($($name:ident: $t:ty, $shapes:ident;)*) => {$(
        #[test]
        fn $name() {
            let (a, b) = $shapes();
            assert!(check_all::<$t>(&a, &b) > 100);
        }
    )*};
}

semantics_tests! {
    real_f64_1d: f64, shapes_1d;
    real_f32_1d: f32, shapes_1d;
    complex_f64_1d: Complex<f64>, shapes_1d;
    complex_f32_1d: Complex<f32>, shapes_1d;
    real_f64_2d: f64, shapes_2d;
    real_f32_2d: f32, shapes_2d;
    complex_f64_2d: Complex<f64>, shapes_2d;
    complex_f32_2d: Complex<f32>, shapes_2d;
}

/// Larger inputs whose transform lengths are not smooth, so padding and windows matter.
#[test]
fn larger_2d_real_f32() {
    let engine = Engine::cpu();
    let a = random::<f32>(Shape::d2(37, 53), 7);
    let b = random::<f32>(Shape::d2(10, 17), 8);
    for op in OPS {
        for mode in MODES {
            let got = engine.compute(op, &a, &b, mode).unwrap();
            let want = reference::compute(op, mode, a.view(), b.view()).unwrap();
            let err = scaled_max_error(&got, &want, &a, &b);
            assert!(err <= 1e-5, "{op:?} {mode}: {err:e}");
        }
    }
}

/// A cached plan reuses its buffers from call to call, and a worker its column buffers from
/// block to block: a second call with other data (and a third with the first data again)
/// must carry nothing over, the zero padding included. The wide pair has dozens of column
/// blocks, so that workers run several each.
#[test]
fn repeated_calls_on_one_plan_carry_nothing_over() {
    let engine = Engine::cpu();
    for (sa, sb) in [
        (Shape::d2(37, 53), Shape::d2(10, 17)),
        (Shape::d2(10, 17), Shape::d2(37, 53)),
        (Shape::d2(20, 600), Shape::d2(5, 12)),
    ] {
        let first = (random::<f32>(sa, 11), random::<f32>(sb, 12));
        let second = (random::<f32>(sa, 13), random::<f32>(sb, 14));
        for op in OPS {
            for mode in MODES {
                if !allowed(mode, sa, sb) {
                    continue;
                }
                for (round, (a, b)) in [&first, &second, &first].into_iter().enumerate() {
                    let got = engine.compute(op, a, b, mode).unwrap();
                    let want = reference::compute(op, mode, a.view(), b.view()).unwrap();
                    let err = scaled_max_error(&got, &want, a, b);
                    assert!(err <= 1e-5, "{op:?} {mode} {sa} {sb} call {round}: {err:e}");
                }
            }
        }
    }
}
