//! Peak finding: planted copies found by top-k, the minimum distance respected, greedy
//! suppression checked against a brute-force version, subpixel offsets.

mod vision;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vision::{crop, photo};
use xcorr::matching::{match_template, Method, Scene};
use xcorr::peaks::{self, Distance, Extremum, PeakOptions};
use xcorr::{Array, Engine, Shape};

/// A coins crop with four copies of one 16 × 14 patch planted at known places.
fn planted() -> (Array<f32>, Array<f32>, Vec<(usize, usize)>) {
    let coins = photo("coins.png");
    let mut scene = crop(&coins, 0, 0, 160, 200);
    let patch = crop(&coins, 200, 250, 16, 14);
    let places = vec![(10, 20), (30, 150), (100, 60), (120, 170)];
    for &(y, x) in &places {
        for r in 0..16 {
            for c in 0..14 {
                scene.data_mut()[(y + r) * 200 + x + c] = patch.at(r, c);
            }
        }
    }
    (scene, patch, places)
}

#[test]
fn top_k_finds_every_planted_copy() {
    let engine = Engine::cpu();
    let (scene, patch, places) = planted();
    let prepared = Scene::new(&engine, &scene).unwrap();
    for method in [
        Method::CCoeffNormed,
        Method::SqDiff,
        Method::SqDiffNormed,
        Method::CCorrNormed,
    ] {
        let map = prepared.match_template(&patch, method).unwrap();
        for distance in [Distance::Chebyshev, Distance::Euclidean] {
            let options = PeakOptions {
                count: 4,
                min_distance: 8.0,
                distance,
                extremum: method.extremum(),
                subpixel: true,
            };
            let found = peaks::top_k(map.view(), &options);
            let mut at: Vec<_> = found.iter().map(|p| (p.row, p.col)).collect();
            at.sort();
            assert_eq!(at, places, "{method} {distance:?}");
            for p in &found {
                // An exact copy: the parabola through a sharp peak stays near its centre.
                let (dr, dc) = p.subpixel.unwrap();
                assert!(dr.abs() <= 0.5 && dc.abs() <= 0.5);
            }
        }
    }
    // The one-shot map agrees.
    let map = match_template(&engine, &scene, &patch, Method::CCoeffNormed).unwrap();
    let found = peaks::top_k(
        map.view(),
        &PeakOptions {
            count: 4,
            min_distance: 8.0,
            ..Default::default()
        },
    );
    assert!(found.iter().all(|p| p.score > 0.9999));
}

/// The same greedy suppression, written as plainly as possible.
fn brute_force(map: &Array<f64>, options: &PeakOptions) -> Vec<(usize, usize)> {
    let cols = map.shape().cols();
    let mut order: Vec<usize> = (0..map.data().len()).collect();
    let key = |i: usize| match options.extremum {
        Extremum::Max => -map.data()[i],
        Extremum::Min => map.data()[i],
    };
    order.sort_by(|&a, &b| key(a).total_cmp(&key(b)).then(a.cmp(&b)));
    let mut kept: Vec<(usize, usize)> = Vec::new();
    for i in order {
        if kept.len() == options.count {
            break;
        }
        let at = (i / cols, i % cols);
        if kept
            .iter()
            .all(|&k| options.distance.between(at, k) >= options.min_distance)
        {
            kept.push(at);
        }
    }
    kept
}

#[test]
fn suppression_matches_brute_force_across_batches() {
    // Maps of thousands of elements with wide neighbourhoods: top_k gathers candidates in
    // bounded batches (O(count) memory), so this takes several passes over the map.
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    for trial in 0..6 {
        let shape = Shape::d2(rng.random_range(40..90), rng.random_range(40..90));
        let map = Array::from_fn(shape, |r, c| {
            ((r as f64 * 0.21).sin() + (c as f64 * 0.17).cos()) * 4.0
                + rng.random_range(0..3) as f64 * 0.5
        });
        let options = PeakOptions {
            count: rng.random_range(20..300),
            min_distance: rng.random_range(2.0..14.0),
            distance: Distance::Euclidean,
            extremum: Extremum::Max,
            subpixel: false,
        };
        let at: Vec<_> = peaks::top_k(map.view(), &options)
            .iter()
            .map(|p| (p.row, p.col))
            .collect();
        assert_eq!(at, brute_force(&map, &options), "trial {trial} {options:?}");
    }
}

#[test]
fn suppression_matches_brute_force_and_keeps_the_distance() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for trial in 0..30 {
        let shape = Shape::d2(rng.random_range(1..25), rng.random_range(1..25));
        // Few distinct levels, so ties are common.
        let map = Array::from_fn(shape, |_, _| rng.random_range(0..6) as f64);
        for distance in [Distance::Chebyshev, Distance::Euclidean] {
            for extremum in [Extremum::Max, Extremum::Min] {
                let options = PeakOptions {
                    count: rng.random_range(1..12),
                    min_distance: rng.random_range(0.0..7.0),
                    distance,
                    extremum,
                    subpixel: false,
                };
                let found = peaks::top_k(map.view(), &options);
                let at: Vec<_> = found.iter().map(|p| (p.row, p.col)).collect();
                assert_eq!(at, brute_force(&map, &options), "trial {trial} {options:?}");
                for (i, a) in at.iter().enumerate() {
                    for b in &at[..i] {
                        assert!(distance.between(*a, *b) >= options.min_distance);
                    }
                }
                for w in found.windows(2) {
                    assert!(!extremum.better(w[1].score, w[0].score), "best first");
                }
            }
        }
    }
}

#[test]
fn signed_zeros_tie_and_huge_counts_are_fine() {
    // −0 and +0 are equal scores: the first index wins in `best` and in `top_k` alike.
    let map = Array::new(vec![-0.0f64, 0.0, -1.0], Shape::d2(1, 3)).unwrap();
    for extremum in [Extremum::Max, Extremum::Min] {
        let options = PeakOptions {
            count: 1,
            extremum,
            ..PeakOptions::default()
        };
        let best = peaks::best(map.view(), extremum).unwrap();
        let top = peaks::top_k(map.view(), &options)[0];
        assert_eq!((top.row, top.col), (best.row, best.col), "{extremum:?}");
    }
    // "All peaks" as usize::MAX neither panics nor over-allocates.
    let all = PeakOptions {
        count: usize::MAX,
        ..PeakOptions::default()
    };
    assert_eq!(peaks::top_k(map.view(), &all).len(), 3);
}

#[test]
fn best_skips_non_finite_values_and_prefers_the_first_of_equals() {
    let map = Array::new(
        vec![1.0, f64::NAN, 3.0, f64::INFINITY, 3.0, -2.0],
        Shape::d2(2, 3),
    )
    .unwrap();
    let best = peaks::best(map.view(), Extremum::Max).unwrap();
    assert_eq!((best.row, best.col, best.score), (0, 2, 3.0));
    let best = peaks::best(map.view(), Extremum::Min).unwrap();
    assert_eq!((best.row, best.col), (1, 2));
    let nothing = Array::new(vec![f64::NAN; 4], Shape::d2(2, 2)).unwrap();
    assert!(peaks::best(nothing.view(), Extremum::Max).is_none());
    assert!(peaks::top_k(nothing.view(), &PeakOptions::default()).is_empty());
}

#[test]
fn subpixel_offsets_follow_a_shifted_blob() {
    // A Gaussian blob centred off the grid: the parabola through three samples of a Gaussian
    // is biased towards the centre sample but has the right sign and lands within 0.1 px for
    // a blob this wide.
    for (cy, cx) in [(10.3, 12.0), (9.8, 11.6), (10.45, 12.49), (10.0, 12.0)] {
        let map = Array::from_fn(Shape::d2(21, 25), |r, c| {
            let (y, x) = (r as f64 - cy, c as f64 - cx);
            (-(y * y + x * x) / (2.0 * 2.0f64.powi(2))).exp()
        });
        let peak = peaks::top_k(map.view(), &PeakOptions::default())[0];
        let (y, x) = peak.position();
        assert!(
            (y - cy).abs() < 0.1 && (x - cx).abs() < 0.1,
            "({cy}, {cx}) → ({y}, {x})"
        );
    }
    // On the border there is no refinement along that axis.
    let map = Array::from_fn(Shape::d2(5, 5), |r, c| {
        -((r as f64 - 0.2).powi(2)) - (c as f64 - 2.3).powi(2)
    });
    let peak = peaks::top_k(map.view(), &PeakOptions::default())[0];
    assert_eq!((peak.row, peak.col), (0, 2));
    let (dr, dc) = peak.subpixel.unwrap();
    assert_eq!(dr, 0.0);
    assert!((dc - 0.3).abs() < 1e-12);
}
