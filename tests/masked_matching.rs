//! Masked and colour template matching against direct f64 sums of OpenCV's masked formulas
//! (`xcorr::reference::match_template_masked`), on random data and on a photograph.

mod common;
mod vision;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xcorr::matching::{match_peaks, match_template, Mask, Sample, Scene, Template, Tracker};
use xcorr::peaks::PeakOptions;
use xcorr::{reference, Array, ArrayView, Engine, Error, Method, Real, Shape};

/// Seeded uniform planes in [lo, hi).
fn planes(channels: usize, shape: Shape, lo: f64, hi: f64, seed: u64) -> Vec<Array<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..channels)
        .map(|_| Array::from_fn(shape, |_, _| rng.random_range(lo..hi)))
        .collect()
}

fn views<T: xcorr::Element>(x: &[Array<T>]) -> Vec<ArrayView<'_, T>> {
    x.iter().map(Array::view).collect()
}

fn to_f32(x: &[Array<f64>]) -> Vec<Array<f32>> {
    x.iter().map(|p| p.map(|&v| v as f32)).collect()
}

/// A binary mask (about a third of the pixels off) or weights in [0, 2), `channels` planes.
fn mask_planes(channels: usize, shape: Shape, weighted: bool, seed: u64) -> Vec<Array<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..channels)
        .map(|_| {
            Array::from_fn(shape, |_, _| {
                if weighted {
                    rng.random_range(0.0..2.0)
                } else {
                    (rng.random_range(0.0..1.0) > 0.33) as u8 as f64
                }
            })
        })
        .collect()
}

/// The reference with the matcher's clamps (normalised scores in [−1, 1], sqdiff-normed in
/// [0, 1], sqdiff ≥ 0).
fn oracle(
    scene: &[Array<f64>],
    template: &[Array<f64>],
    mask: &[Array<f64>],
    method: Method,
) -> Array<f64> {
    let number = Method::ALL.iter().position(|m| *m == method).unwrap() as u32;
    let raw =
        reference::match_template_masked(&views(scene), &views(template), &views(mask), number);
    raw.map(|&v| match method {
        Method::SqDiff => v.max(0.0),
        Method::SqDiffNormed => v.clamp(0.0, 1.0),
        m if m.is_normed() => v.clamp(-1.0, 1.0),
        _ => v,
    })
}

/// max |a − b| / max(1, max |b|).
fn rel_err<T: xcorr::Element>(a: &Array<T>, b: &Array<f64>) -> f64 {
    let scale = b.data().iter().fold(1.0f64, |m, v| m.max(v.abs()));
    a.data()
        .iter()
        .zip(b.data())
        .map(|(x, y)| (x.to_complex().re.to_f64() - y).abs())
        .fold(0.0, f64::max)
        / scale
}

/// `mask` as a [`Mask`]: weights, or binary.
fn mask_of<T: Sample>(mask: &[Array<T>], weighted: bool) -> Mask<T> {
    if weighted {
        Mask::weights(&views(mask)).unwrap()
    } else {
        Mask::binary(&views(mask)).unwrap()
    }
}

/// The masked map of `method`, in `T`.
fn masked_map<T: Sample>(
    engine: &Engine,
    scene: &[Array<T>],
    template: &[Array<T>],
    mask: &Mask<T>,
    method: Method,
) -> Array<T> {
    let template = Template::new(views(template), Some(mask));
    match_template(engine, views(scene), template, method).unwrap()
}

/// A case's scene, template and mask planes.
type Planes<'a> = (&'a [Array<f64>], &'a [Array<f64>], &'a [Array<f64>]);

/// The masked map of `method` in f64 and in f32 of the same data, each against the direct
/// f64 sums: within 1e-10 and 2e-4 (`what` names the case). Returns the f64 map.
fn assert_f64_and_f32(
    engine: &Engine,
    (scene, template, mask): Planes<'_>,
    weighted: bool,
    method: Method,
    what: &str,
) -> Array<f64> {
    let expect = oracle(scene, template, mask, method);
    let got = masked_map(engine, scene, template, &mask_of(mask, weighted), method);
    let err = rel_err(&got, &expect);
    assert!(err < 1e-10, "f64 {what} {method}: {err:e}");
    let (scene32, template32) = (to_f32(scene), to_f32(template));
    let mask32 = mask_of(&to_f32(mask), weighted);
    let got32 = masked_map(engine, &scene32, &template32, &mask32, method);
    let err = rel_err(&got32, &expect);
    assert!(err < 2e-4, "f32 {what} {method}: {err:e}");
    got
}

#[test]
fn random_data_all_methods_binary_and_weighted_grey_and_colour() {
    let engine = Engine::cpu();
    let mut seed = 1;
    for channels in [1, 3, 4] {
        for (mask_channels, weighted) in
            [(1, false), (1, true), (channels, false), (channels, true)]
        {
            seed += 10;
            let scene = planes(channels, Shape::d2(23, 29), 0.0, 1.0, seed);
            let template = planes(channels, Shape::d2(6, 7), 0.0, 1.0, seed + 1);
            let mask = mask_planes(mask_channels, Shape::d2(6, 7), weighted, seed + 2);
            assert_eq!(mask_of(&mask, weighted).is_binary(), !weighted);
            let what = format!("{channels}ch mask {mask_channels} weighted {weighted}");
            for method in Method::ALL {
                let inputs = (&scene[..], &template[..], &mask[..]);
                let got = assert_f64_and_f32(&engine, inputs, weighted, method, &what);
                assert_eq!(got.shape(), Shape::d2(18, 23));
            }
        }
    }
}

#[test]
fn no_mask_is_all_ones_and_grey_equals_the_unmasked_matcher() {
    let engine = Engine::cpu();
    let scene = planes(3, Shape::d2(20, 21), -1.0, 1.0, 5);
    let template = planes(3, Shape::d2(5, 4), -1.0, 1.0, 6);
    let ones = vec![Array::from_fn(Shape::d2(5, 4), |_, _| 1.0)];
    for method in Method::ALL {
        let expect = oracle(&scene, &template, &ones, method);
        let got = match_template(&engine, views(&scene), views(&template), method).unwrap();
        assert!(rel_err(&got, &expect) < 1e-10, "{method}");
        // One channel and a mask of ones (the masked formulas): the unmasked matcher's scores.
        let plain = xcorr::match_template(&engine, &scene[0], &template[0], method).unwrap();
        let ones = Mask::binary(&views(&ones)).unwrap();
        let got = match_template(
            &engine,
            &scene[0],
            Template::new(&template[0], Some(&ones)),
            method,
        )
        .unwrap();
        assert!(rel_err(&got, &plain) < 1e-10, "{method}");
    }
}

#[test]
fn scene_and_tracker_equal_the_one_shot_match() {
    let engine = Engine::cpu();
    let scene = planes(3, Shape::d2(30, 26), 0.0, 1.0, 8);
    let prepared = Scene::new(&engine, views(&scene)).unwrap();
    for (i, (h, w)) in [(5, 5), (8, 3)].into_iter().enumerate() {
        let template = planes(3, Shape::d2(h, w), 0.0, 1.0, 20 + i as u64);
        let mask = mask_planes(1, Shape::d2(h, w), i == 1, 30 + i as u64);
        let mask = Mask::weights(&views(&mask)).unwrap();
        for method in Method::ALL {
            let one = masked_map(&engine, &scene, &template, &mask, method);
            let masked = Template::new(views(&template), Some(&mask));
            let via_scene = prepared.match_template(masked.clone(), method).unwrap();
            let tracker = Tracker::new(&engine, masked, scene[0].shape(), method).unwrap();
            let via_tracker = tracker.match_frame(views(&scene)).unwrap();
            assert!(rel_err(&via_scene, &one) < 1e-10, "{method}");
            assert!(rel_err(&via_tracker, &one) < 1e-12, "{method}");
            let peak = tracker.track(views(&scene)).unwrap();
            let best = xcorr::peaks::best(one.view(), method.extremum()).unwrap();
            assert_eq!((peak.row, peak.col), (best.row, best.col), "{method}");
        }
    }
}

/// Values far from 1 are scaled into range by the engine (the centred scene and its square
/// are then made, not loaded as the rows are transformed): the normalised scores of a scene
/// and template multiplied by 2^50 (J² near 2^100) are those of the originals, one-shot and
/// through a tracker, and `ccoeff` scales by 2^100.
#[test]
fn values_far_from_one_score_as_their_scaled_originals() {
    let engine = Engine::cpu();
    let shape = Shape::d2(40, 36);
    let scene = to_f32(&planes(1, shape, 0.0, 1.0, 41));
    let template = to_f32(&planes(1, Shape::d2(7, 6), 0.0, 1.0, 42));
    let big = |x: &[Array<f32>]| -> Vec<Array<f32>> {
        x.iter().map(|p| p.map(|&v| v * 2f32.powi(50))).collect()
    };
    let (scene_big, template_big) = (big(&scene), big(&template));
    for weighted in [false, true] {
        let mask = mask_of(
            &to_f32(&mask_planes(1, Shape::d2(7, 6), weighted, 43)),
            weighted,
        );
        for method in [
            Method::CCoeffNormed,
            Method::CCorrNormed,
            Method::SqDiffNormed,
            Method::CCoeff,
        ] {
            let small =
                masked_map(&engine, &scene, &template, &mask, method).map(|&v| f64::from(v));
            let unscale = if method == Method::CCoeff {
                2f64.powi(-100)
            } else {
                1.0
            };
            let large = masked_map(&engine, &scene_big, &template_big, &mask, method);
            let err = rel_err(&large.map(|&v| (f64::from(v) * unscale) as f32), &small);
            assert!(err < 1e-4, "one-shot {method} weighted={weighted}: {err:e}");
            let masked = Template::new(views(&template_big), Some(&mask));
            let tracker = Tracker::new(&engine, masked, shape, method).unwrap();
            let tracked = tracker.match_frame(views(&scene_big)).unwrap();
            assert_eq!(tracked, large, "tracker {method} weighted={weighted}");
        }
    }
}

#[test]
fn a_grey_scene_takes_masked_and_plain_templates() {
    // A grey Scene keeps the unmasked matcher's spectrum and makes the masked one on the
    // first masked template; both kinds of template, in any order, give the one-shot maps.
    let engine = Engine::cpu();
    let scene = planes(1, Shape::d2(28, 31), 0.0, 1.0, 40);
    let template = planes(1, Shape::d2(6, 5), 0.0, 1.0, 41);
    let weights = mask_planes(1, Shape::d2(6, 5), true, 42);
    let mask = Mask::weights(&views(&weights)).unwrap();
    let prepared = Scene::new(&engine, &scene[0]).unwrap();
    for method in Method::ALL {
        let masked = Template::new(&template[0], Some(&mask));
        let one = match_template(&engine, &scene[0], masked.clone(), method).unwrap();
        let expect = oracle(&scene, &template, &weights, method);
        assert!(rel_err(&one, &expect) < 1e-10, "{method}");
        assert!(rel_err(&prepared.match_template(masked, method).unwrap(), &one) < 1e-10);
        let plain = match_template(&engine, &scene[0], &template[0], method).unwrap();
        let via_scene = prepared.match_template(&template[0], method).unwrap();
        assert!(rel_err(&via_scene, &plain) < 1e-10, "{method}");
    }
}

#[test]
fn a_masked_out_region_does_not_matter() {
    // The template's masked-out pixels are garbage; the mask finds the true place, with a
    // perfect score, where the unmasked match does not.
    let engine = Engine::cpu();
    let scene = planes(1, Shape::d2(40, 40), 0.0, 1.0, 3);
    let mut template = Array::from_fn(Shape::d2(8, 8), |r, c| scene[0].at(12 + r, 25 + c));
    let mask = Array::from_fn(Shape::d2(8, 8), |r, c| (r + c > 4) as u8 as f64);
    for r in 0..8 {
        for c in 0..8 {
            if r + c <= 4 {
                template.data_mut()[r * 8 + c] = 50.0;
            }
        }
    }
    let mask = Mask::binary(&[mask.view()]).unwrap();
    for method in Method::ALL {
        let found = match_peaks(
            &engine,
            &[scene[0].view()],
            Template::new(&[template.view()], Some(&mask)),
            method,
            &PeakOptions::default(),
        )
        .unwrap();
        assert_eq!((found[0].row, found[0].col), (12, 25), "{method}");
        if method == Method::CCoeffNormed {
            assert!((found[0].score - 1.0).abs() < 1e-9);
        }
    }
}

#[test]
fn colour_photograph_with_a_shared_and_a_per_channel_mask() {
    let engine = Engine::cpu();
    let rgb = vision::photo_rgb("astronaut.png");
    // A 48x40 crop of the colour photograph, direct sums on a 64x72 neighbourhood.
    let scene: Vec<Array<f64>> = rgb
        .iter()
        .map(|p| vision::crop(p, 100, 180, 64, 72).map(|&v| v as f64))
        .collect();
    let template: Vec<Array<f64>> = scene
        .iter()
        .map(|p| vision::crop(p, 10, 20, 20, 16))
        .collect();
    let disc = Array::from_fn(Shape::d2(20, 16), |r, c| {
        let (y, x) = (r as f64 - 9.5, c as f64 - 7.5);
        ((y * y + x * x).sqrt() < 8.0) as u8 as f64
    });
    let per_channel = mask_planes(3, Shape::d2(20, 16), true, 77);
    for mask in [vec![disc], per_channel] {
        let m = mask_of(&mask, true);
        for method in Method::ALL {
            let expect = oracle(&scene, &template, &mask, method);
            let got = masked_map(&engine, &scene, &template, &m, method);
            assert!(rel_err(&got, &expect) < 1e-10, "{method}");
            // The unnormalised correlations favour bright windows, not the template.
            if method.is_normed() || method == Method::SqDiff {
                let best = xcorr::peaks::best(got.view(), method.extremum()).unwrap();
                assert_eq!((best.row, best.col), (10, 20), "{method}");
            }
        }
    }
}

#[test]
fn flat_windows_give_the_documented_values() {
    let engine = Engine::cpu();
    // Left half of the scene constant: windows there are flat (ccoeff) but not zero.
    let mut scene = planes(1, Shape::d2(16, 32), 0.2, 1.0, 4).remove(0);
    for r in 0..16 {
        for c in 0..16 {
            scene.data_mut()[r * 32 + c] = 0.5;
        }
    }
    let template = planes(1, Shape::d2(4, 4), 0.0, 1.0, 9).remove(0);
    let mask = Mask::binary(&[Array::from_fn(Shape::d2(4, 4), |r, _| (r > 0) as u8 as f64).view()])
        .unwrap();
    let map = match_template(
        &engine,
        &[scene.view()],
        Template::new(&[template.view()], Some(&mask)),
        Method::CCoeffNormed,
    )
    .unwrap();
    assert!(map.data().iter().all(|v| v.is_finite()));
    assert_eq!(map.at(0, 0), 0.0, "a flat window scores 0");
    // A flat template in a flat window: 1.
    let flat = Array::from_fn(Shape::d2(4, 4), |_, _| 0.3);
    let map = match_template(
        &engine,
        &[scene.view()],
        Template::new(&[flat.view()], Some(&mask)),
        Method::CCoeffNormed,
    )
    .unwrap();
    assert_eq!(map.at(0, 0), 1.0);
    assert_eq!(map.at(0, 20), 0.0);
    // A zero scene window for ccorr-normed and sqdiff-normed.
    let zero = Array::from_fn(
        Shape::d2(8, 8),
        |r, c| if c < 4 { 0.0 } else { (r + c) as f64 },
    );
    let t = Array::from_fn(Shape::d2(4, 4), |r, c| (1 + r * c) as f64);
    let ccorr = match_template(
        &engine,
        &[zero.view()],
        Template::new(&[t.view()], Some(&mask)),
        Method::CCorrNormed,
    )
    .unwrap();
    let sq = match_template(
        &engine,
        &[zero.view()],
        Template::new(&[t.view()], Some(&mask)),
        Method::SqDiffNormed,
    )
    .unwrap();
    assert_eq!((ccorr.at(0, 0), sq.at(0, 0)), (0.0, 1.0));
}

#[test]
fn bad_masks_and_channels_are_named_errors() {
    let engine = Engine::cpu();
    let scene = planes(3, Shape::d2(20, 20), 0.0, 1.0, 1);
    let template = planes(3, Shape::d2(5, 5), 0.0, 1.0, 2);
    let ones = |shape| Array::from_fn(shape, |_, _| 1.0f64);
    let message = |e: Error| e.to_string();
    // Wrong shape.
    let m = Mask::binary(&[ones(Shape::d2(5, 4)).view()]).unwrap();
    let e = match_template(
        &engine,
        views(&scene),
        Template::new(views(&template), Some(&m)),
        Method::CCorr,
    )
    .unwrap_err();
    assert!(message(e).contains("mask has shape"));
    // Two channels for a three-channel template.
    let m = Mask::binary(&[ones(Shape::d2(5, 5)).view(), ones(Shape::d2(5, 5)).view()]).unwrap();
    let e = match_template(
        &engine,
        views(&scene),
        Template::new(views(&template), Some(&m)),
        Method::CCorr,
    )
    .unwrap_err();
    assert!(message(e).contains("mask has 2 channels"));
    // All zero, negative, non-finite.
    let zero = Array::from_fn(Shape::d2(5, 5), |_, _| 0.0f64);
    assert!(message(Mask::binary(&[zero.view()]).unwrap_err()).contains("all zero"));
    let mut neg = ones(Shape::d2(5, 5));
    neg.data_mut()[7] = -0.5;
    assert!(message(Mask::weights(&[neg.view()]).unwrap_err()).contains("non-negative"));
    let mut nan = ones(Shape::d2(5, 5));
    nan.data_mut()[3] = f64::NAN;
    assert!(Mask::weights(&[nan.view()]).is_err());
    assert!(Mask::binary(&[nan.view()]).is_err());
    // Channels differ between scene and template.
    let e =
        match_template(&engine, views(&scene[..1]), views(&template), Method::CCorr).unwrap_err();
    assert!(message(e).contains("channel"));
}
