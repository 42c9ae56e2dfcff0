//! The engine on the GPU: same results as the f64 CPU oracle through the public API,
//! real and complex, prepared templates, and the f64 routing rules.
#![cfg(feature = "gpu")]

mod common;
mod gpu_support;

use common::{random, rel_l2, to_c64};
use num_complex::Complex;
use xcorr::{Backend, Engine, Error, Mode, Op, Shape};

fn gpu_engine() -> Option<Engine> {
    let ctx = gpu_support::context()?;
    Some(Engine::with_gpu_context(ctx))
}

#[test]
fn engine_on_gpu_matches_the_cpu_oracle() {
    let Some(gpu) = gpu_engine() else { return };
    let cpu = Engine::cpu();
    let cases = [
        (Shape::d2(37, 53), Shape::d2(10, 17)),
        (Shape::d2(64, 64), Shape::d2(64, 64)),
        (Shape::d1(1000), Shape::d1(127)),
    ];
    for (sa, sb) in cases {
        for op in [Op::Correlate, Op::Convolve] {
            for mode in [Mode::Full, Mode::Same, Mode::Valid, Mode::CIRCULAR_CENTRED] {
                // Real f32 on the GPU against f64 on the CPU.
                let a = random::<f32>(sa, 1);
                let b = random::<f32>(sb, 2);
                let got = gpu.compute(op, &a, &b, mode).unwrap();
                let want = cpu
                    .compute(op, &a.map(|&v| v as f64), &b.map(|&v| v as f64), mode)
                    .unwrap();
                let want: Vec<_> = want.data().iter().map(|&v| Complex::new(v, 0.0)).collect();
                let err = rel_l2(&to_c64(&got), &want);
                assert!(err <= 1e-5, "real {op:?} {mode} {sa} {sb}: {err:e}");
                // Complex.
                let a = random::<Complex<f32>>(sa, 3);
                let b = random::<Complex<f32>>(sb, 4);
                let got = gpu.compute(op, &a, &b, mode).unwrap();
                let want = cpu
                    .compute(
                        op,
                        &a.map(|v| Complex::new(v.re as f64, v.im as f64)),
                        &b.map(|v| Complex::new(v.re as f64, v.im as f64)),
                        mode,
                    )
                    .unwrap();
                let err = rel_l2(&to_c64(&got), want.data());
                assert!(err <= 1e-5, "complex {op:?} {mode} {sa} {sb}: {err:e}");
            }
        }
    }
}

#[test]
fn prepared_template_on_gpu_matches_one_shot() {
    let Some(gpu) = gpu_engine() else { return };
    let template = random::<f32>(Shape::d2(9, 12), 5);
    let prepared = gpu
        .prepare(Op::Correlate, Mode::Valid, Shape::d2(40, 50), &template)
        .unwrap();
    for seed in 0..3 {
        let frame = random::<f32>(Shape::d2(40, 50), 10 + seed);
        let once = gpu.correlate(&frame, &template, Mode::Valid).unwrap();
        let err = rel_l2(&to_c64(&prepared.run(&frame).unwrap()), &to_c64(&once));
        assert!(err < 1e-6, "{err:e}");
    }
}

#[test]
fn f64_is_refused_by_an_explicit_gpu_engine() {
    let Some(gpu) = gpu_engine() else { return };
    let a = random::<f64>(Shape::d1(16), 1);
    let err = gpu.correlate(&a, &a, Mode::Full).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    assert!(err.to_string().contains("f32"), "{err}");
    // An automatic engine runs f64 on the CPU instead, exactly.
    let auto = Engine::with_backend(Backend::Auto).unwrap();
    let got = auto.correlate(&a, &a, Mode::Full).unwrap();
    assert_eq!(got, Engine::cpu().correlate(&a, &a, Mode::Full).unwrap());
}

#[test]
fn the_engine_reports_its_gpu() {
    let Some(gpu) = gpu_engine() else { return };
    assert_eq!(gpu.backend_label(), "gpu");
    assert!(gpu.backend_name().starts_with("gpu: "));
    assert!(Engine::available_backends()
        .iter()
        .any(|l| l.starts_with("gpu: ")));
}

/// `auto` takes a hardware GPU and never a software adapter (lavapipe here), where the CPU
/// backend is many times faster; `xcorr info` says which it picked and why.
#[test]
fn auto_never_picks_a_software_adapter() {
    let Some(gpu) = gpu_engine() else { return };
    let software =
        gpu.gpu_context().unwrap().adapter_info().device_type == xcorr::wgpu::DeviceType::Cpu;
    let auto = Engine::new();
    let info = assert_cmd::Command::cargo_bin("xcorr")
        .unwrap()
        .arg("info")
        .output()
        .unwrap();
    let info = String::from_utf8(info.stdout).unwrap();
    if software {
        assert_eq!(
            auto.backend_label(),
            "cpu",
            "auto skips {}",
            gpu.backend_name()
        );
        assert!(auto.fallback_reason().unwrap().contains("software"));
        assert!(
            info.contains("auto (the default) uses: cpu") && info.contains("software"),
            "{info}"
        );
    } else {
        assert_eq!(auto.backend_label(), "gpu", "auto picks a hardware GPU");
        assert!(info.contains("auto (the default) uses: gpu"), "{info}");
    }
}

#[test]
fn pairs_on_gpu_equal_separate_correlations() {
    // The GPU runs each pair as its own correlation; the results are those of separate
    // calls, and within the f32 bound of the f64 CPU oracle, one-shot and prepared.
    let Some(gpu) = gpu_engine() else { return };
    let cpu = Engine::cpu();
    let (sa, sb) = (Shape::d2(40, 50), Shape::d2(9, 12));
    let a: Vec<_> = (0..2).map(|s| random::<f32>(sa, 30 + s)).collect();
    let b: Vec<_> = (0..3).map(|s| random::<f32>(sb, 40 + s)).collect();
    let (av, bv): (Vec<_>, Vec<_>) = (
        a.iter().map(|x| x.view()).collect(),
        b.iter().map(|x| x.view()).collect(),
    );
    let pairs = [(0, 0), (0, 1), (1, 1), (0, 2), (1, 0)];
    let once = gpu
        .compute_pairs(Op::Correlate, &av, &bv, &pairs, Mode::Valid)
        .unwrap();
    let prepared = gpu
        .prepare_many(Op::Correlate, Mode::Valid, sa, &bv)
        .unwrap()
        .run_pairs(&av, &pairs)
        .unwrap();
    for ((got, kept), &(i, k)) in once.iter().zip(&prepared).zip(&pairs) {
        let alone = gpu.correlate(&a[i], &b[k], Mode::Valid).unwrap();
        let err = rel_l2(&to_c64(got), &to_c64(&alone));
        assert!(err < 1e-6, "pair ({i}, {k}) one-shot: {err:e}");
        let err = rel_l2(&to_c64(kept), &to_c64(&alone));
        assert!(err < 1e-6, "pair ({i}, {k}) prepared: {err:e}");
        let f64 = |x: &xcorr::Array<f32>| x.map(|&v| v as f64);
        let want = cpu
            .correlate(&f64(&a[i]), &f64(&b[k]), Mode::Valid)
            .unwrap();
        let err = rel_l2(&to_c64(got), &to_c64(&want));
        assert!(err < 1e-5, "pair ({i}, {k}) against the CPU: {err:e}");
    }
}
