//! Template matching through a GPU engine: maps against the direct f64 formulas and the CPU
//! engine on photographs, the float-float window sums under cancellation, the flat-input
//! values, and the device peak search against the host's top-k.
#![cfg(feature = "gpu")]

mod gpu_support;
mod vision;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vision::{check_flat_values, check_near_flat_values, crop, direct, error, photo};
use xcorr::gpu::find_peaks;
use xcorr::matching::{match_peaks, Mask, Template, MAX_DEVICE_PEAKS};
use xcorr::peaks::{self, Distance, Extremum, PeakOptions};
use xcorr::{match_template, Array, Engine, Method, Scene, Shape, Tracker};

fn gpu_engine() -> Option<Engine> {
    gpu_support::context().map(Engine::with_gpu_context)
}

fn coins_crop() -> Array<f32> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/coins.png");
    let img = xcorr::io::read_image(path).unwrap();
    Array::from_fn(Shape::d2(120, 100), |r, c| img.at(60 + r, 150 + c))
}

fn max_abs(a: &Array<f32>, b: &Array<f32>) -> f32 {
    a.data()
        .iter()
        .zip(b.data())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn every_method_on_gpu_equals_cpu() {
    let Some(ctx) = gpu_support::context() else {
        return;
    };
    let gpu = Engine::with_gpu_context(ctx);
    let cpu = Engine::cpu();
    let scene = coins_crop();
    let template = Array::from_fn(Shape::d2(15, 12), |r, c| scene.at(40 + r, 30 + c));
    for method in Method::ALL {
        let g = match_template(&gpu, &scene, &template, method).unwrap();
        let c = match_template(&cpu, &scene, &template, method).unwrap();
        assert!(g.data().iter().all(|v| v.is_finite()), "{method:?}");
        let scale = c
            .data()
            .iter()
            .map(|v| v.abs())
            .fold(0.0f32, f32::max)
            .max(1.0);
        let err = max_abs(&g, &c) / if method.is_normed() { 1.0 } else { scale };
        assert!(err <= 1e-3, "{method:?}: {err:e}");
        // Both backends pick the same best match.
        let best = |m: &Array<f32>| {
            let pick = if matches!(method, Method::SqDiff | Method::SqDiffNormed) {
                -1.0
            } else {
                1.0
            };
            (0..m.data().len())
                .max_by(|&i, &j| (pick * m.data()[i]).total_cmp(&(pick * m.data()[j])))
                .unwrap()
        };
        assert_eq!(best(&g), best(&c), "{method:?}");
        // Unnormalised ccorr and ccoeff favour bright windows; the others find the crop.
        if !matches!(method, Method::CCorr | Method::CCoeff) {
            assert_eq!(best(&g), 40 * g.shape().cols() + 30, "{method:?}");
        }
    }
}

#[test]
fn masked_colour_matching_on_gpu_equals_cpu() {
    // Three planes (the crop and two transforms of it) and a weighted mask: the masked
    // formulas' correlations run on the device for the one-shot match, a Scene and a Tracker.
    let Some(gpu) = gpu_engine() else {
        return;
    };
    let cpu = Engine::cpu();
    let grey = coins_crop();
    let scene: Vec<Array<f32>> = vec![grey.clone(), grey.map(|v| 1.0 - v), grey.map(|v| v * v)];
    let template: Vec<Array<f32>> = scene
        .iter()
        .map(|p| Array::from_fn(Shape::d2(12, 10), |r, c| p.at(40 + r, 30 + c)))
        .collect();
    let weights = Array::from_fn(Shape::d2(12, 10), |r, c| ((r + 2 * c) % 5) as f32 * 0.25);
    let mask = Mask::weights(&[weights.view()]).unwrap();
    for method in [Method::CCoeffNormed, Method::SqDiff] {
        let masked = || Template::new(&template, Some(&mask));
        let c = match_template(&cpu, &scene, masked(), method).unwrap();
        let scale = c.data().iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let g = match_template(&gpu, &scene, masked(), method).unwrap();
        assert!(
            max_abs(&g, &c) <= 2e-3 * scale,
            "{method}: {:e}",
            max_abs(&g, &c)
        );
        let s = Scene::new(&gpu, &scene)
            .unwrap()
            .match_template(masked(), method)
            .unwrap();
        assert!(
            max_abs(&s, &c) <= 2e-3 * scale,
            "{method} scene: {:e}",
            max_abs(&s, &c)
        );
        let tracker = Tracker::new(&gpu, masked(), grey.shape(), method).unwrap();
        let peak = tracker.track(&scene).unwrap();
        assert_eq!((peak.row, peak.col), (40, 30), "{method}");
    }
}

#[test]
fn scene_and_tracker_on_gpu_equal_cpu() {
    let Some(ctx) = gpu_support::context() else {
        return;
    };
    let gpu = Engine::with_gpu_context(ctx);
    let cpu = Engine::cpu();
    let scene = coins_crop();
    let template = Array::from_fn(Shape::d2(9, 11), |r, c| scene.at(70 + r, 20 + c));
    let g = Scene::new(&gpu, &scene)
        .unwrap()
        .match_template(&template, Method::CCoeffNormed)
        .unwrap();
    let c = Scene::new(&cpu, &scene)
        .unwrap()
        .match_template(&template, Method::CCoeffNormed)
        .unwrap();
    assert!(max_abs(&g, &c) <= 1e-3, "scene: {:e}", max_abs(&g, &c));
    let tg = Tracker::new(&gpu, &template, scene.shape(), Method::CCorrNormed).unwrap();
    let tc = Tracker::new(&cpu, &template, scene.shape(), Method::CCorrNormed).unwrap();
    let (pg, pc) = (tg.track(&scene).unwrap(), tc.track(&scene).unwrap());
    assert_eq!((pg.row, pg.col), (pc.row, pc.col));
    assert_eq!((pg.row, pg.col), (70, 20));
}

#[test]
fn gpu_maps_match_the_direct_formulas_on_photographs() {
    let Some(gpu) = gpu_engine() else {
        return;
    };
    let coins = photo("coins.png");
    let astronaut = photo("astronaut.png");
    let coins_scene = crop(&coins, 100, 150, 120, 100);
    let astronaut_scene = crop(&astronaut, 60, 170, 110, 90);
    let cases = [
        (
            "coins, cut",
            &coins_scene,
            crop(&coins_scene, 50, 61, 15, 12),
        ),
        (
            "coins, elsewhere",
            &coins_scene,
            crop(&coins, 20, 300, 15, 12),
        ),
        (
            "astronaut, cut",
            &astronaut_scene,
            crop(&astronaut_scene, 30, 40, 21, 17),
        ),
    ];
    for (name, scene, template) in &cases {
        for method in Method::ALL {
            let map = match_template(&gpu, *scene, template, method).unwrap();
            let err = error(&map, &direct(scene, template, method), method);
            println!("{name} {method}: max error {err:.1e}");
            assert!(err <= 1e-3, "{name} {method}: {err:e}");
        }
    }
}

/// A scene whose windows are bright and nearly flat: half at 0.2, half at 0.9, with a faint
/// texture (amplitude 2e-3). Window spreads Σ I'² are then ~10⁵ times smaller than Σ J²
/// (J = I − mean), and f32 window sums lose most of their digits; the float-float sums keep
/// the normalised scores within the bound. (Replacing the float-float additions of
/// window.wgsl by plain f32 ones makes this test fail: checked when it was written.)
#[test]
fn gpu_window_sums_survive_cancellation() {
    let Some(gpu) = gpu_engine() else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let scene = Array::from_fn(Shape::d2(96, 120), |_, c| {
        (if c < 60 { 0.2 } else { 0.9 }) + 2e-3 * rng.random::<f32>()
    });
    for (top, left) in [(20, 70), (40, 10)] {
        let template = crop(&scene, top, left, 16, 16);
        for method in [
            Method::CCoeffNormed,
            Method::SqDiffNormed,
            Method::CCorrNormed,
        ] {
            let map = match_template(&gpu, &scene, &template, method).unwrap();
            let err = error(&map, &direct(&scene, &template, method), method);
            println!("cancellation at ({top}, {left}) {method}: max error {err:.1e}");
            assert!(err <= 1e-3, "{method}: {err:e}");
        }
        let best = match_peaks(
            &gpu,
            &scene,
            &template,
            Method::CCoeffNormed,
            &PeakOptions::default(),
        )
        .unwrap();
        assert_eq!((best[0].row, best[0].col), (top, left), "{best:?}");
    }
}

#[test]
fn gpu_flat_input_gives_the_documented_values() {
    let Some(gpu) = gpu_engine() else {
        return;
    };
    check_flat_values(&gpu);
    check_near_flat_values(&gpu);
}

/// The same greedy suppression as peaks.rs, on the device: equal positions and scores, ties
/// included (few distinct levels), best first; non-finite values are never peaks.
#[test]
fn device_peak_search_equals_top_k() {
    let Some(ctx) = gpu_support::context() else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for trial in 0..40 {
        let shape = Shape::d2(rng.random_range(1..40), rng.random_range(1..300));
        let mut map = Array::from_fn(shape, |_, _| rng.random_range(0..6) as f32);
        if trial % 4 == 0 {
            let len = map.data().len();
            for v in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                map.data_mut()[rng.random_range(0..len)] = v;
            }
        }
        for distance in [Distance::Chebyshev, Distance::Euclidean] {
            for extremum in [Extremum::Max, Extremum::Min] {
                let options = PeakOptions {
                    count: rng.random_range(1..12),
                    min_distance: rng.random_range(0.0..7.0),
                    distance,
                    extremum,
                    subpixel: true,
                };
                let host = peaks::top_k(map.view(), &options);
                let device = find_peaks(&ctx, map.view(), &options).unwrap();
                assert_eq!(device, host, "trial {trial} {shape} {options:?}");
            }
        }
    }
    // One-row and one-column maps with distances far beyond the map, signed zeros, and
    // a count larger than the map.
    let long = Array::from_fn(Shape::d2(1, 5000), |_, c| ((c * 7919) % 613) as f32);
    let tall = Array::from_fn(Shape::d2(3000, 1), |r, _| ((r * 104729) % 331) as f32);
    let zeros = Array::new(vec![-0.0f32, 0.0, -0.0, 1.0, 0.0], Shape::d2(1, 5)).unwrap();
    for map in [&long, &tall, &zeros] {
        for (count, min_distance) in [(5, 3000.0), (4, 1e9), (9, 1.0), (300, 100.0)] {
            for distance in [Distance::Chebyshev, Distance::Euclidean] {
                for extremum in [Extremum::Max, Extremum::Min] {
                    let options = PeakOptions {
                        count,
                        min_distance,
                        distance,
                        extremum,
                        subpixel: true,
                    };
                    assert_eq!(
                        find_peaks(&ctx, map.view(), &options).unwrap(),
                        peaks::top_k(map.view(), &options),
                        "{} {options:?}",
                        map.shape()
                    );
                }
            }
        }
    }
    // Distances on the boundary: √2 (diagonal neighbours) and integers.
    let map = Array::from_fn(Shape::d2(9, 9), |r, c| {
        10.0 - (r as f32 - 4.0).abs() - (c as f32 - 4.0).abs() * 1.01
    });
    for d in [std::f64::consts::SQRT_2, 2.0, 3.0, 0.5] {
        for distance in [Distance::Chebyshev, Distance::Euclidean] {
            let options = PeakOptions {
                count: 30,
                min_distance: d,
                distance,
                ..PeakOptions::default()
            };
            assert_eq!(
                find_peaks(&ctx, map.view(), &options).unwrap(),
                peaks::top_k(map.view(), &options),
                "{d} {distance:?}"
            );
        }
    }
}

/// Four planted copies: the device's matching peaks equal the host's top-k of the CPU map,
/// and more peaks than the device searches for fall back to the read-back map.
#[test]
fn gpu_match_peaks_find_the_planted_copies() {
    let Some(gpu) = gpu_engine() else {
        return;
    };
    let coins = photo("coins.png");
    let mut scene = crop(&coins, 0, 0, 160, 200);
    let patch = crop(&coins, 200, 250, 16, 14);
    let places = [(10, 20), (30, 150), (100, 60), (120, 170)];
    for &(y, x) in &places {
        for r in 0..16 {
            for c in 0..14 {
                scene.data_mut()[(y + r) * 200 + x + c] = patch.at(r, c);
            }
        }
    }
    let cpu = Engine::cpu();
    for method in [
        Method::CCoeffNormed,
        Method::SqDiff,
        Method::SqDiffNormed,
        Method::CCorrNormed,
    ] {
        for distance in [Distance::Chebyshev, Distance::Euclidean] {
            for count in [4, 9, MAX_DEVICE_PEAKS + 1] {
                let options = PeakOptions {
                    count,
                    min_distance: 8.0,
                    distance,
                    ..PeakOptions::default()
                };
                let g = match_peaks(&gpu, &scene, &patch, method, &options).unwrap();
                let c = match_peaks(&cpu, &scene, &patch, method, &options).unwrap();
                assert_eq!(g.len(), c.len());
                // The four copies score equally up to rounding, so their order is the
                // rounding's: compare them sorted by position.
                let sorted = |found: &[xcorr::Peak]| {
                    let mut v = found[..4].to_vec();
                    v.sort_by_key(|p| (p.row, p.col));
                    v
                };
                let (g4, c4) = (sorted(&g), sorted(&c));
                let at: Vec<_> = g4.iter().map(|p| (p.row, p.col)).collect();
                assert_eq!(at, places, "{method} {distance:?} {count}");
                for (a, b) in g4.iter().zip(&c4) {
                    assert_eq!((a.row, a.col), (b.row, b.col));
                    let scale = if method.is_normed() {
                        1.0
                    } else {
                        b.score.abs().max(1.0)
                    };
                    assert!((a.score - b.score).abs() / scale < 1e-3, "{a:?} {b:?}");
                    let (da, db) = (a.subpixel.unwrap(), b.subpixel.unwrap());
                    assert!((da.0 - db.0).abs() < 0.05 && (da.1 - db.1).abs() < 0.05);
                }
                for (i, a) in g.iter().enumerate() {
                    for b in &g[..i] {
                        assert!(distance.between((a.row, a.col), (b.row, b.col)) >= 8.0);
                    }
                }
            }
        }
    }
}

#[test]
fn gpu_tracker_follows_a_moving_patch() {
    let Some(gpu) = gpu_engine() else {
        return;
    };
    let astronaut = photo("astronaut.png");
    let background = crop(&astronaut, 0, 0, 120, 160);
    let patch = crop(&astronaut, 200, 200, 20, 24);
    let cpu = Engine::cpu();
    let on_gpu = Tracker::new(&gpu, &patch, background.shape(), Method::CCoeffNormed).unwrap();
    let on_cpu = Tracker::new(&cpu, &patch, background.shape(), Method::CCoeffNormed).unwrap();
    for step in 0..6 {
        let (y, x) = (10 + 13 * step, 15 + 21 * step);
        let mut frame = background.clone();
        for r in 0..20 {
            for c in 0..24 {
                frame.data_mut()[(y + r) * 160 + x + c] = patch.at(r, c);
            }
        }
        let (g, c) = (on_gpu.track(&frame).unwrap(), on_cpu.track(&frame).unwrap());
        assert_eq!((g.row, g.col), (y, x));
        assert_eq!((g.row, g.col), (c.row, c.col));
        assert!((g.score - c.score).abs() < 1e-3);
        let map = on_gpu.match_frame(&frame).unwrap();
        assert!(map.data().iter().all(|v| v.is_finite()));
    }
    let wrong = Array::<f32>::zeros(Shape::d2(120, 161));
    assert!(on_gpu.track(&wrong).is_err());
}
