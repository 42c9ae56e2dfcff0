//! The precision setting of a GPU engine: `single` computes f64 data on the GPU in f32 and
//! returns f64, `double` and `auto` keep f64 off the GPU (an explicit GPU refuses it, naming
//! the setting that would run it), and f32 data runs on the GPU whatever the setting.
#![cfg(feature = "gpu")]

mod common;
mod gpu_support;

use common::{random, rel_l2, to_c64};
use num_complex::Complex;
use xcorr::{Array, Engine, Error, Mode, Op, Precision, Shape};

fn gpu_engine(precision: Precision) -> Option<Engine> {
    let ctx = gpu_support::context()?;
    Some(Engine::with_gpu_context(ctx).with_precision(precision))
}

#[test]
fn single_computes_f64_on_the_gpu_and_returns_f64() {
    let Some(gpu) = gpu_engine(Precision::Single) else {
        return;
    };
    assert!(gpu.runs_on_gpu::<f64>() && gpu.runs_on_gpu::<Complex<f64>>());
    let cpu = Engine::cpu();
    for (sa, sb) in [
        (Shape::d2(37, 53), Shape::d2(10, 17)),
        (Shape::d1(1000), Shape::d1(127)),
    ] {
        for mode in [Mode::Full, Mode::Same, Mode::CIRCULAR_CENTRED] {
            let (a, b) = (random::<f64>(sa, 1), random::<f64>(sb, 2));
            let got: Array<f64> = gpu.correlate(&a, &b, mode).unwrap();
            let want = cpu.correlate(&a, &b, mode).unwrap();
            let err = rel_l2(&to_c64(&got), &to_c64(&want));
            // f32 accuracy, and visibly not the f64 CPU result: it ran in f32.
            assert!(err <= 1e-5 && err > 1e-10, "real {mode} {sa} {sb}: {err:e}");
            let (a, b) = (random::<Complex<f64>>(sa, 3), random::<Complex<f64>>(sb, 4));
            let got = gpu.convolve(&a, &b, mode).unwrap();
            let want = cpu.convolve(&a, &b, mode).unwrap();
            let err = rel_l2(&to_c64(&got), &to_c64(&want));
            assert!(
                err <= 1e-5 && err > 1e-10,
                "complex {mode} {sa} {sb}: {err:e}"
            );
        }
    }
}

#[test]
fn single_keeps_f64_magnitudes_beyond_the_range_of_f32() {
    // Inputs near 1e60 (inf in f32) are scaled by powers of two for the f32 transform and
    // the result (near 1e120) scaled back in f64.
    let Some(gpu) = gpu_engine(Precision::Single) else {
        return;
    };
    let a = random::<f64>(Shape::d2(20, 30), 5).map(|v| v * 1e60);
    let b = random::<f64>(Shape::d2(5, 4), 6).map(|v| v * 1e60);
    let want = Engine::cpu().correlate(&a, &b, Mode::Full).unwrap();
    let got = gpu.correlate(&a, &b, Mode::Full).unwrap();
    let err = rel_l2(&to_c64(&got), &to_c64(&want));
    assert!(err <= 1e-5, "{err:e}");
    // A prepared template takes the same path.
    let prepared = gpu
        .prepare(Op::Correlate, Mode::Full, a.shape(), &b)
        .unwrap();
    let err = rel_l2(&to_c64(&prepared.run(&a).unwrap()), &to_c64(&want));
    assert!(err <= 1e-5, "prepared: {err:e}");
}

#[test]
fn auto_and_double_refuse_f64_on_an_explicit_gpu_naming_the_flag() {
    for precision in [Precision::Auto, Precision::Double] {
        let Some(gpu) = gpu_engine(precision) else {
            return;
        };
        assert!(!gpu.runs_on_gpu::<f64>());
        let a = random::<f64>(Shape::d2(8, 8), 1);
        let err = gpu.correlate(&a, &a, Mode::Full).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("--precision single"), "{msg}");
        assert!(msg.contains(&format!("precision is {precision}")), "{msg}");
        assert!(gpu
            .prepare(Op::Correlate, Mode::Full, a.shape(), &a)
            .is_err());
        // f32 data runs on the GPU whatever the setting.
        assert!(gpu.runs_on_gpu::<f32>());
        let a32 = a.map(|&v| v as f32);
        let got = gpu.correlate(&a32, &a32, Mode::Full).unwrap();
        let want = Engine::cpu().correlate(&a, &a, Mode::Full).unwrap();
        assert!(rel_l2(&to_c64(&got), &to_c64(&want)) <= 1e-5);
    }
}

#[test]
fn a_cpu_engine_computes_f64_in_f64_whatever_the_setting() {
    let a = random::<f64>(Shape::d2(9, 11), 1);
    let b = random::<f64>(Shape::d2(3, 4), 2);
    let exact = Engine::cpu().correlate(&a, &b, Mode::Same).unwrap();
    for precision in [Precision::Auto, Precision::Single, Precision::Double] {
        let cpu = Engine::cpu().with_precision(precision);
        assert_eq!(cpu.precision(), precision);
        assert!(!cpu.runs_on_gpu::<f64>());
        assert_eq!(cpu.correlate(&a, &b, Mode::Same).unwrap(), exact);
    }
    assert!("half".parse::<Precision>().is_err());
}
