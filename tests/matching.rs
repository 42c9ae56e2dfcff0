//! Template matching against a direct f64 implementation of OpenCV's formulas, on a real
//! photograph; the reuse paths (Scene, Tracker) against the one-shot call; flat and bad input.

mod vision;

use vision::{all_finite, check_flat_values, check_near_flat_values, crop, direct, error, photo};
use xcorr::matching::{match_template, Method, Scene, Tracker};
use xcorr::peaks;
use xcorr::{Array, Engine, Error, Shape};

struct Case {
    scene: Array<f32>,
    templates: Vec<(&'static str, Array<f32>)>,
}

/// A 120 × 100 crop of the coins photograph; one template cut from it, one from elsewhere.
fn coins_case() -> Case {
    let coins = photo("coins.png");
    let scene = crop(&coins, 100, 150, 120, 100);
    let inside = crop(&scene, 50, 61, 15, 12);
    let elsewhere = crop(&coins, 20, 300, 15, 12);
    Case {
        scene,
        templates: vec![("inside", inside), ("elsewhere", elsewhere)],
    }
}

#[test]
fn every_method_matches_the_direct_formulas_on_a_photograph() {
    let engine = Engine::cpu();
    let case = coins_case();
    let scene64 = case.scene.map(|&v| v as f64);
    for (name, template) in &case.templates {
        let template64 = template.map(|&v| v as f64);
        for method in Method::ALL {
            let reference = direct(&case.scene, template, method);
            let out = match_template(&engine, &case.scene, template, method).unwrap();
            assert!(all_finite(out.data()));
            let e32 = error(&out, &reference, method);
            let out64 = match_template(&engine, &scene64, &template64, method).unwrap();
            let e64 = error(&out64, &reference, method);
            println!("{name:9} {method:13} f32 {e32:.2e}  f64 {e64:.2e}");
            assert!(e32 <= 1e-3, "{name} {method}: f32 error {e32:e}");
            // Far tighter than asked: f32 FFTs sit near 1e-6 here.
            assert!(e32 <= 2e-5, "{name} {method}: f32 error {e32:e}");
            assert!(e64 <= 1e-10, "{name} {method}: f64 error {e64:e}");
        }
    }
}

#[test]
fn scene_and_tracker_agree_with_the_one_shot_call() {
    let engine = Engine::cpu();
    let case = coins_case();
    let scene = Scene::new(&engine, &case.scene).unwrap();
    for (name, template) in &case.templates {
        for method in Method::ALL {
            let once = match_template(&engine, &case.scene, template, method).unwrap();
            let from_scene = scene.match_template(template, method).unwrap();
            let tracker = Tracker::new(&engine, template, case.scene.shape(), method).unwrap();
            let from_tracker = tracker.match_frame(&case.scene).unwrap();
            let scale = once.data().iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (what, other) in [("scene", &from_scene), ("tracker", &from_tracker)] {
                assert_eq!(other.shape(), once.shape());
                let diff = other
                    .data()
                    .iter()
                    .zip(once.data())
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(
                    diff <= 1e-5 * scale.max(1.0),
                    "{name} {method} {what}: {diff}"
                );
            }
        }
    }
    // Templates of several sizes against one prepared scene.
    for (h, w) in [(2, 3), (7, 30), (120, 100), (33, 9)] {
        let template = crop(&case.scene, 120 - h, 100 - w, h, w);
        let best = scene.best(&template, Method::SqDiff).unwrap();
        assert_eq!((best.row, best.col), (120 - h, 100 - w), "{h}x{w}");
    }
}

#[test]
fn the_cut_template_is_found_by_every_method_but_the_unnormalised_correlations() {
    let engine = Engine::cpu();
    let case = coins_case();
    let template = &case.templates[0].1;
    for method in Method::ALL {
        let map = match_template(&engine, &case.scene, template, method).unwrap();
        let best = peaks::best(map.view(), method.extremum()).unwrap();
        // Plain ccorr favours bright windows and plain ccoeff contrasty ones rather than the
        // best match: OpenCV's behaviour too.
        if !matches!(method, Method::CCorr | Method::CCoeff) {
            assert_eq!((best.row, best.col), (50, 61), "{method}");
        }
        match method {
            Method::SqDiff | Method::SqDiffNormed => assert!(best.score < 1e-5),
            Method::CCorrNormed | Method::CCoeffNormed => assert!((best.score - 1.0).abs() < 1e-5),
            _ => {}
        }
    }
}

#[test]
fn output_shape_and_one_dimensional_inputs() {
    let engine = Engine::cpu();
    // Not periodic: the template occurs once (a periodic scene would tie several exact matches,
    // and rounding would pick among them).
    let scene = Array::from_vec((0..40).map(|i| ((i * i * 7 + 3 * i) % 37) as f64).collect());
    let template = Array::from_vec(scene.data()[17..23].to_vec());
    let map = match_template(&engine, &scene, &template, Method::SqDiff).unwrap();
    assert_eq!(map.shape(), Shape::d1(35));
    assert_eq!(
        peaks::best(map.view(), Method::SqDiff.extremum())
            .unwrap()
            .col,
        17
    );
    // A tracker over 1-D frames, twice (its buffers are reused): the same map and match.
    let tracker = Tracker::new(&engine, &template, scene.shape(), Method::SqDiff).unwrap();
    for _ in 0..2 {
        let tracked = tracker.match_frame(&scene).unwrap();
        assert_eq!(tracked.shape(), map.shape());
        for (a, b) in tracked.data().iter().zip(map.data()) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
        assert_eq!(tracker.track(&scene).unwrap().col, 17);
    }
    let map = match_template(&engine, &scene, &scene, Method::CCoeffNormed).unwrap();
    assert_eq!(map.shape(), Shape::d1(1));
    assert!((map.data()[0] - 1.0).abs() < 1e-12);
}

/// `track` searches the scores band by band as they are made: it must pick the element that
/// `peaks::best` picks from `match_frame`'s map, the first among exact ties included.
#[test]
fn tracking_finds_the_first_best_element_of_the_map() {
    let engine = Engine::cpu();
    let case = coins_case();
    for (name, template) in &case.templates {
        for method in Method::ALL {
            let tracker = Tracker::new(&engine, template, case.scene.shape(), method).unwrap();
            let map = tracker.match_frame(&case.scene).unwrap();
            let want = peaks::best(map.view(), method.extremum()).unwrap();
            let got = tracker.track(&case.scene).unwrap();
            assert_eq!(
                (got.row, got.col, got.score),
                (want.row, want.col, want.score),
                "{name} {method}"
            );
            let refined = peaks::refine_parabola(map.view(), want.row, want.col, method.extremum());
            assert_eq!(got.subpixel, Some(refined), "{name} {method}");
        }
    }
    // Exact ties: the lower half of the frame is flat, so every window there gets the same
    // documented degenerate score, the best one; the first of them is at (30, 0), in the
    // second of the row bands the scores are computed in.
    let noisy = |r: usize, c: usize| ((r * 131 + c * c * 7 + 3) % 97) as f32 / 97.0 + 0.01;
    for (method, flat, tpl_value, best) in [
        (Method::CCoeffNormed, 0.7f32, 0.3f32, 1.0), // both flat: 1
        (Method::SqDiffNormed, 0.0, 0.0, 0.0),       // both zero: 0
    ] {
        let frame = Array::from_fn(
            Shape::d2(60, 70),
            |r, c| if r < 30 { noisy(r, c) } else { flat },
        );
        let template = Array::from_fn(Shape::d2(5, 6), |_, _| tpl_value);
        let tracker = Tracker::new(&engine, &template, frame.shape(), method).unwrap();
        let map = tracker.match_frame(&frame).unwrap();
        let want = peaks::best(map.view(), method.extremum()).unwrap();
        let got = tracker.track(&frame).unwrap();
        assert_eq!((want.row, want.col, want.score), (30, 0, best), "{method}");
        assert_eq!((got.row, got.col, got.score), (30, 0, best), "{method}");
    }
}

/// The values the module docs promise for flat windows and flat or zero templates.
#[test]
fn flat_windows_and_templates_give_the_documented_values() {
    check_flat_values(&Engine::cpu());
}

/// Windows that are flat up to rounding still give finite values in range.
#[test]
fn near_flat_input_stays_finite() {
    check_near_flat_values(&Engine::cpu());
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let engine = Engine::cpu();
    let scene = Array::from_fn(Shape::d2(10, 12), |r, c| (r * c) as f32);
    let big = Array::from_fn(Shape::d2(11, 3), |r, c| (r + c) as f32);
    let err = match_template(&engine, &scene, &big, Method::CCoeffNormed).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch(_)), "{err}");
    assert!(err.to_string().contains("larger than the scene"), "{err}");
    assert!(Tracker::new(&engine, &big, scene.shape(), Method::SqDiff).is_err());
    let prepared = Scene::new(&engine, &scene).unwrap();
    assert!(matches!(
        prepared.match_template(&big, Method::SqDiff),
        Err(Error::ShapeMismatch(_))
    ));

    let empty = Array::<f32>::zeros(Shape::d2(0, 3));
    let err = match_template(&engine, &scene, &empty, Method::SqDiff).unwrap_err();
    assert!(matches!(err, Error::Empty { .. }), "{err}");
    assert!(err.to_string().contains("template"), "{err}");

    let mut nan = Array::from_fn(Shape::d2(3, 3), |r, c| (r + c) as f32);
    nan.data_mut()[4] = f32::NAN;
    let err = match_template(&engine, &scene, &nan, Method::SqDiff).unwrap_err();
    assert!(matches!(err, Error::NonFinite { .. }), "{err}");
    let mut bad_scene = scene.clone();
    bad_scene.data_mut()[7] = f32::INFINITY;
    let small = Array::from_fn(Shape::d2(2, 2), |r, c| (r + c) as f32);
    let err = match_template(&engine, &bad_scene, &small, Method::SqDiff).unwrap_err();
    assert!(
        matches!(err, Error::NonFinite { .. }) && err.to_string().contains("scene"),
        "{err}"
    );
    assert!(Scene::new(&engine, &bad_scene).is_err());

    let one_d = Array::from_vec(vec![1.0f32, 2.0]);
    let err = match_template(&engine, &scene, &one_d, Method::SqDiff).unwrap_err();
    assert!(matches!(err, Error::Dimensions(_)), "{err}");

    let tracker = Tracker::new(&engine, &small, scene.shape(), Method::SqDiff).unwrap();
    let other = Array::<f32>::zeros(Shape::d2(10, 11));
    assert!(matches!(
        tracker.match_frame(&other),
        Err(Error::ShapeMismatch(_))
    ));
}

#[test]
fn method_names_parse() {
    for method in Method::ALL {
        assert_eq!(method.name().parse::<Method>().unwrap(), method);
    }
    assert_eq!(
        "TM_CCOEFF_NORMED".parse::<Method>().unwrap(),
        Method::CCoeffNormed
    );
    assert_eq!(
        "sqdiff_normed".parse::<Method>().unwrap(),
        Method::SqDiffNormed
    );
    assert!("ncc".parse::<Method>().is_err());
}
