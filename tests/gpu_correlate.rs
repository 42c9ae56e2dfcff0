//! GPU correlation and convolution against f64 oracles: every op × mode, 1-D and 2-D, odd,
//! even, prime and power-of-two sizes, Bluestein sizes in circular mode, and a few large
//! images; complex plans on complex data, and real plans (paired rows, half spectra) on
//! real data. Bound: relative L2 error ≤ 1e-5.
//!
//! The sweeps floor the reference norm at 1e-2·‖a‖·‖b‖: an FFT's error
//! scales with ‖a‖·‖b‖ (about ε·log N of it), whatever the output, so an output that cancels
//! far below that (one `valid` lag of two random real signals, say) cannot be had to 1e-5
//! relative by any FFT method. The floor still asks for 1e-7·‖a‖·‖b‖ there.
#![cfg(feature = "gpu")]

mod gpu_support;

use gpu_support::*;
use xcorr::spec::{Op, Plan};
use xcorr::Shape;

const BOUND: f64 = 1e-5;

/// Every op × mode the shapes allow; returns the lines of failures.
fn sweep(
    pairs: &[(Shape, Shape)],
    seed: u64,
    oracle: fn(&Plan, &[C32], &[C32]) -> Vec<C64>,
) -> Vec<String> {
    let mut failures = Vec::new();
    let mut worst: f64 = 0.0;
    let mut cases = 0;
    for (i, &(sa, sb)) in pairs.iter().enumerate() {
        let a = random(seed + 2 * i as u64, sa.len());
        let b = random(seed + 2 * i as u64 + 1, sb.len());
        for ctx in contexts() {
            let wg = if ctx.workgroup_fft() {
                " (workgroup FFT)"
            } else {
                ""
            };
            for op in [Op::Correlate, Op::Convolve] {
                for mode in ALL_MODES {
                    let Ok(plan) = Plan::new(op, mode, sa, sb) else {
                        continue;
                    };
                    let out = gpu_run(&ctx, &plan, &a, &b);
                    let (ra, rb) = (real_only(&a), real_only(&b));
                    let real = gpu_run_real(&ctx, &plan, &ra, &rb);
                    for (kind, err) in [
                        ("complex", floored_l2(&out, &oracle(&plan, &a, &b), &a, &b)),
                        (
                            "real",
                            floored_l2(&real, &oracle(&plan, &ra, &rb), &ra, &rb),
                        ),
                    ] {
                        cases += 1;
                        worst = worst.max(err);
                        if err.is_nan() || err > BOUND {
                            failures.push(format!(
                                "{kind}{wg} {op:?} {mode} a {sa} b {sb}: rel L2 {err:.2e}"
                            ));
                        }
                    }
                }
            }
        }
    }
    println!("{cases} cases, worst floored rel L2 {worst:.2e}");
    failures
}

/// ‖out − ref‖ / max(‖ref‖, 1e-2·‖a‖·‖b‖); NaN anywhere in `out` gives NaN.
fn floored_l2(out: &[C32], reference: &[C64], a: &[C32], b: &[C32]) -> f64 {
    let norm = |v: &[C64]| v.iter().map(|c| c.norm_sqr()).sum::<f64>().sqrt();
    let reference_norm = norm(reference);
    let floor = 1e-2 * norm(&widen(a)) * norm(&widen(b));
    rel_l2(out, reference) * reference_norm / reference_norm.max(floor)
}

#[test]
fn every_op_and_mode_1d() {
    let pairs: Vec<(Shape, Shape)> = [
        (1, 1),
        (2, 1),
        (5, 3),
        (7, 4),
        (4, 7),
        (8, 8),
        (16, 5),
        (17, 6),
        (31, 32),
        (64, 13),
        (100, 37),
        (128, 128),
        (129, 64),
        (3, 20),
        (1000, 1),
    ]
    .into_iter()
    .map(|(n, m)| (Shape::d1(n), Shape::d1(m)))
    .collect();
    let failures = sweep(&pairs, 1, direct);
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_op_and_mode_2d() {
    let pairs = [
        (Shape::d2(1, 1), Shape::d2(1, 1)),
        (Shape::d2(5, 7), Shape::d2(3, 2)),
        (Shape::d2(7, 9), Shape::d2(4, 3)),
        (Shape::d2(8, 8), Shape::d2(3, 3)),
        (Shape::d2(16, 12), Shape::d2(5, 6)),
        (Shape::d2(13, 17), Shape::d2(13, 17)),
        (Shape::d2(3, 4), Shape::d2(6, 5)),
        (Shape::d2(1, 31), Shape::d2(1, 8)),
        (Shape::d2(32, 1), Shape::d2(7, 1)),
        (Shape::d2(33, 31), Shape::d2(8, 8)),
        (Shape::d2(64, 64), Shape::d2(16, 16)),
    ];
    let failures = sweep(&pairs, 100, direct);
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Circular mode at lengths that are not powers of two runs Bluestein's algorithm.
#[test]
fn bluestein_sizes() {
    let pairs = [
        (Shape::d1(127), Shape::d1(127)),
        (Shape::d1(129), Shape::d1(17)),
        (Shape::d1(1000), Shape::d1(1000)),
        (Shape::d1(4099), Shape::d1(4099)),
        (Shape::d1(4099), Shape::d1(10)),
        (Shape::d2(127, 129), Shape::d2(127, 129)),
        (Shape::d2(127, 129), Shape::d2(9, 10)),
        (Shape::d2(12, 64), Shape::d2(5, 5)),
    ];
    let failures = sweep(&pairs, 200, direct);
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The FFT oracle used for the large cases agrees with the direct sums.
#[test]
fn fft_oracle_matches_direct_sums() {
    for (i, (sa, sb)) in [
        (Shape::d2(9, 12), Shape::d2(4, 5)),
        (Shape::d1(30), Shape::d1(7)),
    ]
    .into_iter()
    .enumerate()
    {
        let a = random(300 + i as u64, sa.len());
        let b = random(400 + i as u64, sb.len());
        for op in [Op::Correlate, Op::Convolve] {
            for mode in ALL_MODES {
                let plan = Plan::new(op, mode, sa, sb).unwrap();
                let d = direct(&plan, &a, &b);
                let f = via_fft(&plan, &a, &b);
                let err: f64 = d
                    .iter()
                    .zip(&f)
                    .map(|(x, y)| (x - y).norm())
                    .fold(0.0, f64::max);
                assert!(err < 1e-9, "{op:?} {mode}: {err}");
            }
        }
    }
}

/// Megapixel images (linear modes pad them to 2048 × 2048), against the f64 FFT oracle.
#[test]
fn large_images() {
    let Some(ctx) = per_pass_context() else {
        return;
    };
    let Some(workgroup) = workgroup_context() else {
        return;
    };
    let cases = [
        (
            Op::Correlate,
            xcorr::Mode::Same,
            Shape::d2(1024, 1024),
            Shape::d2(31, 31),
        ),
        (
            Op::Convolve,
            xcorr::Mode::Full,
            Shape::d2(1000, 1024),
            Shape::d2(64, 33),
        ),
        (
            Op::Correlate,
            xcorr::Mode::CIRCULAR_CENTRED,
            Shape::d2(1024, 1024),
            Shape::d2(1024, 1024),
        ),
        (
            Op::Correlate,
            xcorr::Mode::Valid,
            Shape::d1(1 << 20),
            Shape::d1(1000),
        ),
    ];
    for (i, &(op, mode, sa, sb)) in cases.iter().enumerate() {
        let plan = Plan::new(op, mode, sa, sb).unwrap();
        let a = random(500 + i as u64, sa.len());
        let b = random(600 + i as u64, sb.len());
        let out = gpu_run(&ctx, &plan, &a, &b);
        let err = rel_l2(&out, &via_fft(&plan, &a, &b));
        println!("{op:?} {mode} a {sa} b {sb}: rel L2 {err:.2e}");
        assert!(
            err <= BOUND,
            "{op:?} {mode} a {sa} b {sb}: rel L2 {err:.2e}"
        );
        let (ra, rb) = (real_only(&a), real_only(&b));
        let expected = via_fft(&plan, &ra, &rb);
        for (ctx, how) in [(&ctx, "real"), (&workgroup, "real, workgroup FFT")] {
            let real = gpu_run_real(ctx, &plan, &ra, &rb);
            let err = rel_l2(&real, &expected);
            println!("{how} {op:?} {mode} a {sa} b {sb}: rel L2 {err:.2e}");
            assert!(
                err <= BOUND,
                "{how} {op:?} {mode} a {sa} b {sb}: rel L2 {err:.2e}"
            );
        }
    }
}

/// Which plans multiply the spectra inside the last forward FFT pass, and that those agree
/// with the direct sums: every pass kind that can end a forward transform (radix 2, 4 and
/// odd, along columns or along the rows of 1-D plans, per pass or in workgroup memory),
/// complex and real plans, correlation and convolution; and the cases that keep the separate
/// `spectrum` dispatch (a Bluestein last axis, a 1 × 1 transform).
#[test]
fn fused_product_plans_match_direct_sums() {
    use xcorr::gpu::CorrelationPlan;
    use xcorr::Mode;
    // (mode, a, b, last forward pass with the default context, with the workgroup FFT).
    let cases = [
        // Columns of 16 end in a radix-4 pass, of 2 in radix 2, of 12 in radix 3; the first two
        // fit the one-dispatch line kernel where it is on.
        (
            Mode::CIRCULAR,
            Shape::d2(16, 12),
            Shape::d2(5, 3),
            "radix-4",
            "workgroup lines",
        ),
        (
            Mode::CIRCULAR,
            Shape::d2(2, 16),
            Shape::d2(2, 7),
            "radix-2",
            "workgroup lines",
        ),
        (
            Mode::CIRCULAR_CENTRED,
            Shape::d2(12, 16),
            Shape::d2(12, 16),
            "radix-odd",
            "radix-odd",
        ),
        // Rows of a 1-D plan end the transform; 64 fits workgroup memory, 45 is not a power
        // of two.
        (
            Mode::CIRCULAR,
            Shape::d1(64),
            Shape::d1(9),
            "radix-4",
            "workgroup lines",
        ),
        (
            Mode::CIRCULAR,
            Shape::d1(45),
            Shape::d1(45),
            "radix-odd",
            "radix-odd",
        ),
        // A Bluestein row axis (11) under smooth columns still fuses.
        (
            Mode::CIRCULAR,
            Shape::d2(16, 11),
            Shape::d2(3, 4),
            "radix-4",
            "workgroup lines",
        ),
        // Bluestein columns, a Bluestein 1-D length and 1 × 1 keep the separate dispatch.
        (Mode::CIRCULAR, Shape::d2(11, 16), Shape::d2(4, 4), "", ""),
        (Mode::CIRCULAR, Shape::d1(127), Shape::d1(20), "", ""),
        (Mode::Full, Shape::d2(1, 1), Shape::d2(1, 1), "", ""),
    ];
    let contexts = contexts();
    let mut checked = 0;
    for (i, &(mode, sa, sb, default_pass, workgroup_pass)) in cases.iter().enumerate() {
        let a = random(700 + 2 * i as u64, sa.len());
        let b = random(701 + 2 * i as u64, sb.len());
        let (ra, rb) = (real_only(&a), real_only(&b));
        for ctx in &contexts {
            let expected = if ctx.workgroup_fft() {
                workgroup_pass
            } else {
                default_pass
            };
            for op in [Op::Correlate, Op::Convolve] {
                let plan = Plan::new(op, mode, sa, sb).unwrap();
                let what = format!(
                    "{op:?} {mode} a {sa} b {sb}, workgroup FFT {}",
                    ctx.workgroup_fft()
                );

                let mut gpu = CorrelationPlan::new(ctx, &plan).unwrap();
                assert_eq!(
                    gpu.fused_product_pass().unwrap_or(""),
                    expected,
                    "complex {what}"
                );
                gpu.set_template(&b).unwrap();
                gpu.poison();
                let err = rel_l2(&gpu.run(&a).unwrap(), &direct(&plan, &a, &b));
                assert!(err <= BOUND, "complex {what}: rel L2 {err:.2e}");

                let mut gpu = CorrelationPlan::new_real(ctx, &plan).unwrap();
                assert_eq!(
                    gpu.fused_product_pass().unwrap_or(""),
                    expected,
                    "real {what}"
                );
                gpu.set_template_real(&real_parts(&rb)).unwrap();
                gpu.poison();
                let out: Vec<C32> = gpu
                    .run_real(&real_parts(&ra))
                    .unwrap()
                    .into_iter()
                    .map(|v| C32::new(v, 0.0))
                    .collect();
                let err = rel_l2(&out, &direct(&plan, &ra, &rb));
                assert!(err <= BOUND, "real {what}: rel L2 {err:.2e}");
                checked += 2;
            }
        }
    }
    assert_eq!(checked, cases.len() * contexts.len() * 4);
}

/// The fused load and window store (first forward and last inverse row pass, no `pad`,
/// `pack`, `merge`, `gather`, `unpack` dispatch) at shapes whose transforms take the line
/// kernel on both axes: inputs shorter and narrower than the transform, odd and even output
/// windows, 1-row and 1-D inputs, every op and mode, complex and real, outputs and work
/// buffers poisoned (rows the row pass skips must never be read).
#[test]
fn fused_load_and_window_store_match_direct_sums() {
    use xcorr::gpu::CorrelationPlan;
    let pairs = [
        (Shape::d2(20, 27), Shape::d2(9, 6)),
        (Shape::d2(9, 6), Shape::d2(20, 27)),
        (Shape::d2(31, 16), Shape::d2(2, 16)),
        (Shape::d2(13, 64), Shape::d2(4, 5)),
        (Shape::d2(32, 32), Shape::d2(32, 32)),
        (Shape::d2(16, 8), Shape::d2(7, 3)),
        (Shape::d2(1, 40), Shape::d2(1, 9)),
        (Shape::d2(1, 64), Shape::d2(1, 64)),
        (Shape::d1(100), Shape::d1(37)),
        (Shape::d1(37), Shape::d1(100)),
    ];
    let failures = sweep(&pairs, 900, direct);
    assert!(failures.is_empty(), "{failures:#?}");

    // Which dispatches the plans have where every axis is a power of two the line kernel
    // takes: none of their own to load or cut.
    let Some(ctx) = workgroup_context() else {
        return;
    };
    let separate = ["pad", "gather", "pack", "merge", "unpack"];
    let mut fused = 0;
    for &(sa, sb) in &pairs {
        for mode in ALL_MODES {
            let Ok(plan) = Plan::new(Op::Correlate, mode, sa, sb) else {
                continue;
            };
            let plans = [
                CorrelationPlan::new(&ctx, &plan).unwrap(),
                CorrelationPlan::new_real(&ctx, &plan).unwrap(),
            ];
            for gpu in plans {
                if !gpu.fft_shape().iter().all(|n| n.is_power_of_two()) {
                    continue;
                }
                let kernels = gpu.run_dispatches();
                let own = kernels
                    .iter()
                    .filter(|k| separate.iter().any(|s| k.ends_with(&format!(".wgsl {s}"))));
                assert_eq!(own.count(), 0, "{mode} a {sa} b {sb}: {kernels:?}");
                fused += 1;
            }
        }
    }
    assert!(fused >= 40, "only {fused} plans took the fused path");
}
