//! Template matching through a GPU engine equals the CPU engine's maps, on a photograph.
#![cfg(feature = "gpu")]

mod gpu_support;

use xcorr::{match_template, Array, Engine, Method, Scene, Shape, Tracker};

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
