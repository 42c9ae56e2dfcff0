//! Shared helpers of the GPU tests: the adapter guard, seeded inputs and f64 oracles.
#![allow(dead_code)]

use num_complex::Complex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustfft::FftPlanner;
use std::sync::OnceLock;
use xcorr::gpu::CorrelationPlan;
use xcorr::gpu::GpuContext;
use xcorr::spec::{Mode, Op, Plan};
use xcorr::{reference, ArrayView, Shape};

pub type C32 = Complex<f32>;
pub type C64 = Complex<f64>;

/// The test binary's shared context, or `None` (and a message) when there is no adapter.
/// With `XCORR_REQUIRE_GPU=1` a missing adapter fails the test instead.
pub fn context() -> Option<GpuContext> {
    static CTX: OnceLock<Option<GpuContext>> = OnceLock::new();
    CTX.get_or_init(|| match GpuContext::new() {
        Ok(ctx) => {
            eprintln!("GPU tests on {}", ctx.describe());
            Some(ctx)
        }
        Err(e) => {
            if std::env::var("XCORR_REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("XCORR_REQUIRE_GPU=1 but no GPU context: {e}");
            }
            eprintln!("skipping GPU test: {e}");
            None
        }
    })
    .clone()
}

/// A context of its own (its counters see no other test's work), or `None` as [`context`].
pub fn own_context() -> Option<GpuContext> {
    context()?;
    Some(GpuContext::new().unwrap())
}

/// A context of its own with the one-dispatch line FFT switched off: every transform one
/// dispatch per pass, or `None` as [`context`].
pub fn per_pass_context() -> Option<GpuContext> {
    static CTX: OnceLock<Option<GpuContext>> = OnceLock::new();
    CTX.get_or_init(|| {
        context()?;
        let ctx = GpuContext::new().unwrap();
        ctx.set_workgroup_fft(false);
        Some(ctx)
    })
    .clone()
}

/// A context of its own with the one-dispatch line FFT switched on (the default, unless
/// `XCORR_WORKGROUP_FFT` says otherwise), or `None` as [`context`]. Checks that lines of 1024
/// points fit it, so that the tests reach the kernel.
pub fn workgroup_context() -> Option<GpuContext> {
    static CTX: OnceLock<Option<GpuContext>> = OnceLock::new();
    CTX.get_or_init(|| {
        context()?;
        let ctx = GpuContext::new().unwrap();
        ctx.set_workgroup_fft(true);
        assert!(
            ctx.workgroup_fft_len() >= 1024,
            "workgroup FFT rows up to {} only",
            ctx.workgroup_fft_len()
        );
        Some(ctx)
    })
    .clone()
}

/// The contexts every plan test runs on: one dispatch per pass, and the one-dispatch line FFT.
pub fn contexts() -> Vec<GpuContext> {
    [per_pass_context(), workgroup_context()]
        .into_iter()
        .flatten()
        .collect()
}

/// Seeded complex values, uniform in [-1, 1)², never all zero.
pub fn random(seed: u64, n: usize) -> Vec<C32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            Complex::new(
                rng.random_range(-1.0f32..1.0),
                rng.random_range(-1.0f32..1.0),
            )
        })
        .collect()
}

pub fn widen(v: &[C32]) -> Vec<C64> {
    v.iter()
        .map(|c| Complex::new(c.re as f64, c.im as f64))
        .collect()
}

/// ‖out − ref‖ / ‖ref‖; NaN anywhere in `out` gives NaN.
pub fn rel_l2(out: &[C32], reference: &[C64]) -> f64 {
    assert_eq!(out.len(), reference.len(), "output length");
    let mut err = 0.0;
    let mut norm = 0.0;
    for (o, r) in out.iter().zip(reference) {
        let d = Complex::new(o.re as f64, o.im as f64) - r;
        err += d.norm_sqr();
        norm += r.norm_sqr();
    }
    (err / norm).sqrt()
}

/// 2-D forward DFT in f64 (rustfft along rows, then columns).
pub fn fft2(data: &[C64], shape: Shape) -> Vec<C64> {
    fft2_dir(data, shape, false)
}

pub fn fft2_dir(data: &[C64], shape: Shape, inverse: bool) -> Vec<C64> {
    let [rows, cols] = shape.axes();
    let mut planner = FftPlanner::new();
    let mut out = data.to_vec();
    let plan = |p: &mut FftPlanner<f64>, n| {
        if inverse {
            p.plan_fft_inverse(n)
        } else {
            p.plan_fft_forward(n)
        }
    };
    let row_fft = plan(&mut planner, cols);
    for row in out.chunks_exact_mut(cols) {
        row_fft.process(row);
    }
    if rows > 1 {
        let col_fft = plan(&mut planner, rows);
        let mut column = vec![Complex::new(0.0, 0.0); rows];
        for c in 0..cols {
            for r in 0..rows {
                column[r] = out[r * cols + c];
            }
            col_fft.process(&mut column);
            for r in 0..rows {
                out[r * cols + c] = column[r];
            }
        }
    }
    out
}

/// The whole output of `plan` by direct sums (`xcorr::reference`, written independently of
/// `spec`): the ground truth for small and medium sizes.
pub fn direct(plan: &Plan, a: &[C32], b: &[C32]) -> Vec<C64> {
    let a = ArrayView::new(a, plan.a).unwrap();
    let b = ArrayView::new(b, plan.b).unwrap();
    reference::compute(plan.op, plan.mode, a, b)
        .unwrap()
        .into_vec()
}

/// The whole output of `plan` through f64 FFTs, independent of the plan's own transform
/// sizes: linear modes transform at N + M − 1 (no wrap at all) and index lags directly;
/// circular mode at N exactly.
pub fn via_fft(plan: &Plan, a: &[C32], b: &[C32]) -> Vec<C64> {
    let (a, b) = (&widen(a)[..], &widen(b)[..]);
    let circular = plan.mode.is_circular();
    let [na, nb] = [plan.a.axes(), plan.b.axes()];
    let len = [0, 1].map(|i| if circular { na[i] } else { na[i] + nb[i] - 1 });
    let shape = Shape::d2(len[0], len[1]);
    let place = |src: &[C64], s: [usize; 2]| {
        let mut v = vec![Complex::new(0.0, 0.0); shape.len()];
        for r in 0..s[0] {
            for c in 0..s[1] {
                v[r * len[1] + c] = src[r * s[1] + c];
            }
        }
        v
    };
    let fa = fft2(&place(a, na), shape);
    let fb = fft2(&place(b, nb), shape);
    let prod: Vec<C64> = fa
        .iter()
        .zip(&fb)
        .map(|(x, y)| match plan.op {
            Op::Correlate => x * y.conj(),
            Op::Convolve => x * y,
        })
        .collect();
    let scale = 1.0 / shape.len() as f64;
    let circ: Vec<C64> = fft2_dir(&prod, shape, true)
        .into_iter()
        .map(|v| v * scale)
        .collect();
    let [out_r, out_c] = plan.out.axes();
    let mut out = Vec::with_capacity(plan.out.len());
    for i in 0..out_r {
        for j in 0..out_c {
            // Circular: lag k sits at k mod N. Linear: correlation lag k sits at k mod L
            // (negative lags wrap to the end); convolution index k at k.
            let k = [
                plan.axes[0].first + i as isize,
                plan.axes[1].first + j as isize,
            ];
            let r = k[0].rem_euclid(len[0] as isize) as usize;
            let c = k[1].rem_euclid(len[1] as isize) as usize;
            out.push(circ[r * len[1] + c]);
        }
    }
    out
}

pub const ALL_MODES: [Mode; 5] = [
    Mode::Full,
    Mode::Same,
    Mode::Valid,
    Mode::Circular { centred: false },
    Mode::Circular { centred: true },
];

/// Run `plan` on the GPU the way a user would (plan, template, run), with the work and
/// output buffers poisoned first so unwritten elements show as NaN.
pub fn gpu_run(ctx: &GpuContext, plan: &Plan, a: &[C32], b: &[C32]) -> Vec<C32> {
    let mut gpu = CorrelationPlan::new(ctx, plan).unwrap();
    gpu.set_template(b).unwrap();
    gpu.poison();
    gpu.run(a).unwrap()
}

/// [`gpu_run`] through a real plan ([`CorrelationPlan::new_real`]) on the real parts of `a`
/// and `b`; the real output comes back as complex for the error measures.
pub fn gpu_run_real(ctx: &GpuContext, plan: &Plan, a: &[C32], b: &[C32]) -> Vec<C32> {
    let mut gpu = CorrelationPlan::new_real(ctx, plan).unwrap();
    gpu.set_template_real(&real_parts(b)).unwrap();
    gpu.poison();
    let out = gpu.run_real(&real_parts(a)).unwrap();
    out.into_iter().map(|v| Complex::new(v, 0.0)).collect()
}

/// The real parts, as real data.
pub fn real_parts(v: &[C32]) -> Vec<f32> {
    v.iter().map(|c| c.re).collect()
}

/// `v` with its imaginary parts dropped (real data as complex).
pub fn real_only(v: &[C32]) -> Vec<C32> {
    v.iter().map(|c| Complex::new(c.re, 0.0)).collect()
}
