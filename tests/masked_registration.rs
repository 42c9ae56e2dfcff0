//! Masked registration (scikit-image's masked `phase_cross_correlation`) against direct f64
//! sums of the masked normalized cross-correlation (`xcorr::reference::masked_ncc`).

mod common;
mod vision;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xcorr::registration::{masked_ncc, register_masked};
use xcorr::{reference, Array, Engine, Shape};

fn random(shape: Shape, seed: u64) -> Array<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array::from_fn(shape, |_, _| rng.random_range(0.0..1.0))
}

fn random_mask(shape: Shape, keep: f64, seed: u64) -> Array<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array::from_fn(shape, |_, _| {
        (rng.random_range(0.0..1.0) < keep) as u8 as f64
    })
}

#[test]
fn masked_ncc_equals_direct_sums() {
    let engine = Engine::cpu();
    for (rs, ms, seed) in [
        (Shape::d2(9, 11), Shape::d2(9, 11), 1),
        (Shape::d2(8, 7), Shape::d2(5, 9), 2),
    ] {
        let (a, b) = (random(rs, seed), random(ms, seed + 1));
        let (ma, mb) = (
            random_mask(rs, 0.8, seed + 2),
            random_mask(ms, 0.7, seed + 3),
        );
        let got = masked_ncc(&engine, a.view(), b.view(), ma.view(), Some(mb.view()), 0.0).unwrap();
        let expect = reference::masked_ncc(a.view(), b.view(), ma.view(), mb.view());
        assert_eq!(got.data().len(), expect.len());
        let mut compared = 0;
        for (g, e) in got.data().iter().zip(&expect) {
            // Lags of one or two pixels are at the mercy of the small-denominator cut.
            if let Some(e) = e {
                if e.abs() < 0.999 {
                    assert!((g - e).abs() < 1e-9 || *g == 0.0, "{g} vs {e}");
                    compared += (*g != 0.0) as usize;
                }
            }
        }
        assert!(compared > got.data().len() / 2, "{compared}");
    }
}

#[test]
fn invalid_borders_are_ignored_on_a_photograph() {
    let engine = Engine::cpu();
    let photo = vision::photo("coins.png").map(|&v| v as f64);
    let reference = vision::crop(&photo, 50, 60, 96, 112);
    // moving(y, x) = photo(50 + y − 7, 60 + x + 5): shifted by (7, −5); its top rows and
    // right columns are a constant fill (invalid), masked out.
    let moving = Array::from_fn(Shape::d2(96, 112), |r, c| {
        if r < 7 || c >= 107 {
            1.0
        } else {
            photo.at(50 + r - 7, 60 + c + 5)
        }
    });
    let ones = Array::from_fn(reference.shape(), |_, _| 1.0);
    let valid = Array::from_fn(moving.shape(), |r, c| (r >= 7 && c < 107) as u8 as f64);
    let found = register_masked(&engine, &reference, &moving, &ones, Some(&valid), 0.3).unwrap();
    assert_eq!(found.shift, (-7.0, 5.0));
    assert!(found.peak > 0.99, "{}", found.peak);
    // f32 gives the same shift.
    let f = |x: &Array<f64>| x.map(|&v| v as f32);
    let found32 = register_masked(
        &engine,
        &f(&reference),
        &f(&moving),
        &f(&ones),
        Some(&f(&valid)),
        0.3,
    )
    .unwrap();
    assert_eq!(found32.shift, found.shift);
}

#[test]
fn different_shapes_shift_by_half_the_difference() {
    // scikit-image adds (moving shape − reference shape) / 2 to the lag.
    let engine = Engine::cpu();
    let big = random(Shape::d2(30, 30), 9);
    let small = vision::crop(&big, 8, 5, 20, 24);
    let m1 = Array::from_fn(big.shape(), |_, _| 1.0);
    let m2 = Array::from_fn(small.shape(), |_, _| 1.0);
    let found = register_masked(&engine, &big, &small, &m1, Some(&m2), 0.3).unwrap();
    // The lag of the best overlap is (8, 5); plus ((20 − 30)/2, (24 − 30)/2).
    assert_eq!(found.shift, (8.0 - 5.0, 5.0 - 3.0));
}

#[test]
fn bad_masks_are_named_errors() {
    let engine = Engine::cpu();
    let a = random(Shape::d2(10, 10), 1);
    let zero = Array::from_fn(a.shape(), |_, _| 0.0);
    let e = register_masked(&engine, &a, &a, &zero, None, 0.3).unwrap_err();
    assert!(e.to_string().contains("all zero"), "{e}");
    let small = Array::from_fn(Shape::d2(9, 10), |_, _| 1.0);
    let e = register_masked(&engine, &a, &a, &small, None, 0.3).unwrap_err();
    assert!(e.to_string().contains("reference mask has shape"), "{e}");
    let ones = Array::from_fn(a.shape(), |_, _| 1.0);
    assert!(register_masked(&engine, &a, &a, &ones, None, 1.5).is_err());
    let b = random(Shape::d2(8, 10), 2);
    let e = register_masked(&engine, &a, &b, &ones, None, 0.3).unwrap_err();
    assert!(e.to_string().contains("one shape"), "{e}");
}
