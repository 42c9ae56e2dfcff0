//! Device plans for matching and registration are cached by the engine like correlation
//! plans: repeated calls of one shape create no buffers, and trackers or registrars that share
//! a cached plan each keep their own template or reference.
#![cfg(feature = "gpu")]

mod gpu_support;
mod vision;

use vision::{crop, fourier_shift, photo};
use xcorr::registration::{register_with, RegisterOptions, Registrar};
use xcorr::{match_peaks, match_template, Engine, Method, PeakOptions, Tracker};

fn gpu_engine() -> Option<Engine> {
    gpu_support::context().map(Engine::with_gpu_context)
}

#[test]
fn repeated_calls_create_no_buffers() {
    // A context of its own: the buffer counters of the shared one also see the other tests
    // of this file, which run in parallel (a tracker they build made this test fail once).
    let Some(gpu) = gpu_support::own_context().map(Engine::with_gpu_context) else {
        return;
    };
    let ctx = gpu.gpu_context().unwrap().clone();
    let scene = crop(&photo("coins.png"), 40, 60, 96, 112);
    let options = PeakOptions {
        count: 3,
        min_distance: 4.0,
        ..PeakOptions::default()
    };
    let reference = scene.map(|&v| v as f64);
    let moving = fourier_shift(&reference, 2.5, -1.25);
    let register_options = RegisterOptions {
        upsample: 20,
        ..Default::default()
    };
    let calls = |round: usize| {
        // Another template of the same size each round.
        let template = crop(&scene, 10 + round, 20 + 2 * round, 16, 12);
        for method in [Method::CCoeffNormed, Method::SqDiff] {
            let map = match_template(&gpu, &scene, &template, method).unwrap();
            assert!(map.data().iter().all(|v| v.is_finite()));
            let found = match_peaks(&gpu, &scene, &template, method, &options).unwrap();
            assert_eq!((found[0].row, found[0].col), (10 + round, 20 + 2 * round));
        }
        let r = register_with(
            &gpu,
            &reference.map(|&v| v as f32),
            &moving.map(|&v| v as f32),
            &register_options,
        )
        .unwrap();
        // The shift that registers moving with reference undoes the applied one.
        assert!(
            (r.shift.0 + 2.5).abs() < 0.1 && (r.shift.1 - 1.25).abs() < 0.1,
            "{r:?}"
        );
    };
    calls(0);
    let before = ctx.buffer_stats();
    for round in 1..6 {
        calls(round);
    }
    assert_eq!(
        ctx.buffer_stats(),
        before,
        "buffers created by repeated calls"
    );
}

#[test]
fn one_shot_calls_sharing_a_plan_use_their_own_templates() {
    let Some(gpu) = gpu_engine() else { return };
    let scene = crop(&photo("astronaut.png"), 100, 100, 120, 140);
    let (a, b) = (crop(&scene, 12, 30, 18, 20), crop(&scene, 70, 95, 18, 20));
    let method = Method::CCoeffNormed;
    let options = PeakOptions::default();
    // A tracker (its own plan) between one-shot calls with two templates of one shape
    // (one shared plan, each call installing its own template).
    let tracker = Tracker::new(&gpu, &b, scene.shape(), method).unwrap();
    for _ in 0..3 {
        for (template, at) in [(&a, (12, 30)), (&b, (70, 95))] {
            let best = match_peaks(&gpu, &scene, template, method, &options).unwrap()[0];
            assert_eq!((best.row, best.col), at);
            let map = match_template(&gpu, &scene, template, method).unwrap();
            assert!((map.at(at.0, at.1) - 1.0).abs() < 1e-3);
        }
        let tracked = tracker.track(&scene).unwrap();
        assert_eq!((tracked.row, tracked.col), (70, 95));
    }
}

#[test]
fn one_shot_registrations_sharing_a_plan_use_their_own_references() {
    let Some(gpu) = gpu_engine() else { return };
    let photo = photo("coins.png");
    let first = crop(&photo, 0, 0, 64, 80).map(|&v| v as f64);
    let second = crop(&photo, 150, 120, 64, 80).map(|&v| v as f64);
    let options = RegisterOptions {
        upsample: 10,
        ..Default::default()
    };
    let on = |x: &xcorr::Array<f64>| x.map(|&v| v as f32);
    let kept = Registrar::with_engine(&gpu, &on(&second), &options).unwrap();
    for (dy, dx) in [(1.5, -2.0), (-3.0, 0.7)] {
        for reference in [&first, &second] {
            let moving = on(&fourier_shift(reference, dy, dx));
            let s = register_with(&gpu, &on(reference), &moving, &options)
                .unwrap()
                .shift;
            let close = (s.0 + dy).abs() < 0.15 && (s.1 + dx).abs() < 0.15;
            assert!(close, "{s:?} for a shift of ({dy}, {dx})");
        }
        let s = kept
            .register(&on(&fourier_shift(&second, dy, dx)))
            .unwrap()
            .shift;
        assert!((s.0 + dy).abs() < 0.15 && (s.1 + dx).abs() < 0.15, "{s:?}");
    }
}
