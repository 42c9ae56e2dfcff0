//! The GPU path in a real browser: WebGPU through Chromium's own shader compiler (Tint) and
//! driver stack (Dawn; SwiftShader where there is no GPU), checked against the CPU path in
//! the same page with the native tests' bound (relative L2 error ≤ 1e-5, the reference norm
//! floored at 1e-2·‖a‖·‖b‖; see tests/gpu_correlate.rs).
//!
//! `bash scripts/web-test.sh` installs what this needs and runs
//! `cargo test --target wasm32-unknown-unknown --no-default-features --features gpu,image
//! --test web`. Between them the tests run every kernel family: FFT passes at
//! power-of-two, mixed-radix and Bluestein lengths, real plans, the spectrum product, the
//! gather/shift, window sums and scores, the peak search, and the upsampled DFT.
//! `XCORR_REQUIRE_GPU=1` at build time makes a missing WebGPU adapter fail the GPU tests
//! (the page has no environment of its own to read it from at run time).
#![cfg(target_arch = "wasm32")]

use num_complex::Complex;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};
use xcorr::gpu::{find_peaks_async, CorrelationPlan, FftPlan, GpuContext};
use xcorr::matching::match_peaks_async;
use xcorr::peaks::{top_k, PeakOptions};
use xcorr::registration::{register_with_async, RegisterOptions};
use xcorr::spec::{Mode, Op, Plan};
use xcorr::{match_template_async, Array, Element, Engine, Error, Method, Real, Shape, Tracker};

wasm_bindgen_test_configure!(run_in_browser);

type C32 = Complex<f32>;
type C64 = Complex<f64>;

const BOUND: f64 = 1e-5;

const MODES: [Mode; 5] = [
    Mode::Full,
    Mode::Same,
    Mode::Valid,
    Mode::CIRCULAR,
    Mode::CIRCULAR_CENTRED,
];

/// An engine on the browser's WebGPU adapter, or `None` (logged) where the page has none.
async fn gpu_engine() -> Option<Engine> {
    match GpuContext::new_async().await {
        Ok(ctx) => Some(Engine::with_gpu_context(ctx)),
        Err(e) => {
            if option_env!("XCORR_REQUIRE_GPU") == Some("1") {
                panic!("XCORR_REQUIRE_GPU=1 but the browser gave no WebGPU adapter: {e}");
            }
            console_log!("skipping a GPU test: {e}");
            None
        }
    }
}

/// Seeded values uniform in [-1, 1) (xorshift: no OS randomness in a page).
fn random(seed: u64, n: usize) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

fn random_complex(seed: u64, n: usize) -> Vec<C32> {
    let v = random(seed, 2 * n);
    v.chunks(2).map(|p| Complex::new(p[0], p[1])).collect()
}

fn widen<T: Element>(x: &[T]) -> Vec<C64> {
    x.iter()
        .map(|v| {
            let c = v.to_complex();
            Complex::new(c.re.to_f64(), c.im.to_f64())
        })
        .collect()
}

/// ‖out − ref‖ / max(‖ref‖, 1e-2·‖a‖·‖b‖); NaN anywhere in `out` gives NaN.
fn floored_l2(out: &[C64], reference: &[C64], a: &[C64], b: &[C64]) -> f64 {
    let norm = |v: &[C64]| v.iter().map(|c| c.norm_sqr()).sum::<f64>().sqrt();
    let diff: f64 = out
        .iter()
        .zip(reference)
        .map(|(o, r)| (o - r).norm_sqr())
        .sum::<f64>()
        .sqrt();
    diff / norm(reference).max(1e-2 * norm(a) * norm(b))
}

/// The GPU result of every op × mode for `a` and `b` (f32 data, real or complex) against the
/// CPU path in f64 on the same values; returns the failures.
async fn sweep<T: Element>(gpu: &Engine, a: &Array<T>, b: &Array<T>) -> Vec<String> {
    let cpu = Engine::cpu();
    let (wa, wb) = (widen(a.data()), widen(b.data()));
    let (a64, b64) = (
        Array::new(wa.clone(), a.shape()).unwrap(),
        Array::new(wb.clone(), b.shape()).unwrap(),
    );
    let mut failures = Vec::new();
    for op in [Op::Correlate, Op::Convolve] {
        for mode in MODES {
            let expected = match cpu.compute_async(op, &a64, &b64, mode).await {
                Ok(out) => out,
                // Shapes that mode does not take (valid with b larger than a, say).
                Err(_) => continue,
            };
            let got = gpu
                .compute_async(op, a, b, mode)
                .await
                .unwrap_or_else(|e| panic!("{op:?} {mode} a {} b {}: {e}", a.shape(), b.shape()));
            assert_eq!(got.shape(), expected.shape());
            let err = floored_l2(&widen(got.data()), expected.data(), &wa, &wb);
            if err.is_nan() || err > BOUND {
                failures.push(format!(
                    "{} {op:?} {mode} a {} b {}: rel L2 {err:.2e}",
                    if T::IS_COMPLEX { "complex" } else { "real" },
                    a.shape(),
                    b.shape()
                ));
            }
        }
    }
    failures
}

/// Powers of two (radix-2 and -4 passes), 3-, 5- and 7-smooth lengths (the odd-radix
/// passes), primes (Bluestein in circular mode), 1-D and 2-D.
fn shapes() -> Vec<(Shape, Shape)> {
    vec![
        (Shape::d1(64), Shape::d1(9)),
        (Shape::d1(45), Shape::d1(7)),
        (Shape::d1(49), Shape::d1(6)),
        (Shape::d1(97), Shape::d1(13)),
        (Shape::d1(1000), Shape::d1(33)),
        (Shape::d2(16, 16), Shape::d2(3, 5)),
        (Shape::d2(15, 21), Shape::d2(4, 4)),
        (Shape::d2(33, 17), Shape::d2(8, 3)),
        (Shape::d2(128, 96), Shape::d2(9, 7)),
    ]
}

/// The adapter as the page's WebGPU describes it (wgpu's `AdapterInfo` is empty in a browser).
async fn browser_adapter() -> String {
    let script = "navigator.gpu.requestAdapter().then(a => a ? \
        [a.info.vendor, a.info.architecture, a.info.description, \
         (a.info.isFallbackAdapter ?? a.isFallbackAdapter) ? '(fallback adapter)' : ''] \
        .filter(Boolean).join(' ') : 'none')";
    let promise = js_sys::Promise::from(js_sys::eval(script).expect("a promise"));
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

#[wasm_bindgen_test]
async fn every_shader_module_compiles_in_the_browser() {
    let Some(engine) = gpu_engine().await else {
        return;
    };
    console_log!("WebGPU adapter: {}", browser_adapter().await);
    let ctx = engine.gpu_context().expect("a GPU engine");
    let files = ctx
        .compile_every_module()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    console_log!("compiled by the browser: {}", files.join(", "));
    assert!(!files.is_empty());
}

#[wasm_bindgen_test]
async fn real_correlations_match_the_cpu() {
    let Some(gpu) = gpu_engine().await else {
        return;
    };
    let mut failures = Vec::new();
    for (i, (sa, sb)) in shapes().into_iter().enumerate() {
        let a = Array::new(random(2 * i as u64, sa.len()), sa).unwrap();
        let b = Array::new(random(2 * i as u64 + 1, sb.len()), sb).unwrap();
        failures.extend(sweep(&gpu, &a, &b).await);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[wasm_bindgen_test]
async fn complex_correlations_match_the_cpu() {
    let Some(gpu) = gpu_engine().await else {
        return;
    };
    let mut failures = Vec::new();
    for (i, (sa, sb)) in shapes().into_iter().enumerate() {
        let a = Array::new(random_complex(7 + 2 * i as u64, sa.len()), sa).unwrap();
        let b = Array::new(random_complex(8 + 2 * i as u64, sb.len()), sb).unwrap();
        failures.extend(sweep(&gpu, &a, &b).await);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The one-dispatch line kernel (stockham_shared.wgsl with its generated `main`) is off by
/// default on the browser's fallback adapter, whose compiler takes about 10 s to build each of
/// its pipelines that exchanges through workgroup memory (src/gpu/context.rs). Switched on
/// here, every fused load and store it has runs once through Tint and SwiftShader: lines of
/// 16 (one register stage) and of 64 (an exchange), rows and columns, complex and real
/// (paired and not), against the CPU path.
#[wasm_bindgen_test]
async fn the_line_kernel_matches_the_cpu() {
    let Some(engine) = gpu_engine().await else {
        return;
    };
    let ctx = engine.gpu_context().expect("a GPU engine");
    ctx.set_workgroup_fft(true);
    let cpu = Engine::cpu();
    let cases = [
        (Shape::d1(12), Shape::d1(5), true),
        (Shape::d1(50), Shape::d1(9), true),
        (Shape::d1(12), Shape::d1(5), false),
        (Shape::d2(12, 12), Shape::d2(3, 5), false),
    ];
    for (i, (sa, sb, complex)) in cases.into_iter().enumerate() {
        let plan = Plan::new(Op::Correlate, Mode::Full, sa, sb).unwrap();
        let (a, b) = if complex {
            (
                random_complex(40 + i as u64, sa.len()),
                random_complex(50 + i as u64, sb.len()),
            )
        } else {
            let real = |seed, n| {
                random(seed, n)
                    .into_iter()
                    .map(|v| Complex::new(v, 0.0))
                    .collect()
            };
            (real(40 + i as u64, sa.len()), real(50 + i as u64, sb.len()))
        };
        let (got, dispatches): (Vec<C32>, _) = if complex {
            let mut gpu = CorrelationPlan::new(ctx, &plan).unwrap();
            gpu.set_template(&b).unwrap();
            (gpu.run_async(&a).await.unwrap(), gpu.run_dispatches())
        } else {
            let re = |x: &[C32]| x.iter().map(|c| c.re).collect::<Vec<f32>>();
            let mut gpu = CorrelationPlan::new_real(ctx, &plan).unwrap();
            gpu.set_template_real(&re(&b)).unwrap();
            let out = gpu.run_real_async(&re(&a)).await.unwrap();
            (
                out.into_iter().map(|v| Complex::new(v, 0.0)).collect(),
                gpu.run_dispatches(),
            )
        };
        assert!(
            dispatches.iter().any(|d| d.contains("stockham_shared")),
            "{sa} {sb}: the plan takes no line kernel: {dispatches:?}"
        );
        let (wa, wb) = (widen(&a), widen(&b));
        let expected = cpu
            .correlate_async(
                &Array::new(wa.clone(), sa).unwrap(),
                &Array::new(wb.clone(), sb).unwrap(),
                Mode::Full,
            )
            .await
            .unwrap();
        let err = floored_l2(&widen(&got), expected.data(), &wa, &wb);
        assert!(
            err <= BOUND,
            "{sa} {sb} complex {complex}: rel L2 {err:.2e}"
        );
    }
    check_fft(ctx, Shape::d2(64, 64)).await;
}

#[wasm_bindgen_test]
async fn a_prepared_template_runs_many_frames() {
    let Some(gpu) = gpu_engine().await else {
        return;
    };
    let (frame, template) = (Shape::d2(40, 50), Shape::d2(7, 9));
    let b = Array::new(random(99, template.len()), template).unwrap();
    let prepared = gpu.prepare(Op::Correlate, Mode::Same, frame, &b).unwrap();
    let cpu = Engine::cpu();
    for seed in 0..3 {
        let a = Array::new(random(100 + seed, frame.len()), frame).unwrap();
        let got = prepared.run_async(&a).await.unwrap();
        let expected = cpu.correlate_async(&a, &b, Mode::Same).await.unwrap();
        let (wa, wb) = (widen(a.data()), widen(b.data()));
        let err = floored_l2(&widen(got.data()), &widen(expected.data()), &wa, &wb);
        assert!(err <= BOUND, "frame {seed}: rel L2 {err:.2e}");
    }
}

/// The blocking calls cannot wait for WebGPU in a page: they say so instead of panicking,
/// and the CPU path still answers through them.
#[wasm_bindgen_test]
async fn blocking_calls_fail_cleanly_in_the_browser() {
    let a = Array::new(random(1, 32), Shape::d1(32)).unwrap();
    let b = Array::new(random(2, 5), Shape::d1(5)).unwrap();
    let auto = Engine::new();
    assert!(auto.is_cpu(), "a blocking Engine::new cannot reach WebGPU");
    let why = auto.fallback_reason().unwrap_or_default();
    assert!(
        why.contains("_async"),
        "the reason names the async call: {why}"
    );
    assert_eq!(
        auto.correlate(&a, &b, Mode::Full).unwrap().shape(),
        Shape::d1(36)
    );

    let Some(gpu) = gpu_engine().await else {
        return;
    };
    match gpu.correlate(&a, &b, Mode::Full) {
        Err(Error::BackendUnavailable(message)) => assert!(message.contains("_async")),
        other => panic!("expected a BackendUnavailable error, got {other:?}"),
    }
}

/// A 120×100 crop of the coins photograph (tests/data), decoded in the page.
fn coins_crop() -> Array<f32> {
    let png = include_bytes!("data/coins.png");
    let image = xcorr::io::read_image_from(png, 1 << 26).unwrap();
    Array::from_fn(Shape::d2(120, 100), |r, c| image.at(60 + r, 150 + c))
}

#[wasm_bindgen_test]
async fn ffts_match_rustfft() {
    let Some(engine) = gpu_engine().await else {
        return;
    };
    let ctx = engine.gpu_context().expect("a GPU engine");
    // Radix-2/4 passes, odd radices, a Bluestein length, and 2-D shapes.
    let shapes = [
        Shape::d1(2),
        Shape::d1(64),
        Shape::d1(4096),
        Shape::d1(3 * 5 * 7 * 4),
        Shape::d1(1031),
        Shape::d2(32, 48),
        Shape::d2(27, 125),
    ];
    for shape in shapes {
        check_fft(ctx, shape).await;
    }
}

/// The device's forward FFT of seeded data of `shape` against rustfft in f64 (rows, then
/// columns): relative L2 error at most 1e-5.
async fn check_fft(ctx: &GpuContext, shape: Shape) {
    let x = random_complex(shape.len() as u64, shape.len());
    let got = FftPlan::new(ctx, shape)
        .unwrap()
        .forward_async(&x)
        .await
        .unwrap();
    let mut planner = rustfft::FftPlanner::<f64>::new();
    let [rows, cols] = shape.axes();
    let mut want = widen(&x);
    for row in want.chunks_mut(cols) {
        planner.plan_fft_forward(cols).process(row);
    }
    let column_fft = planner.plan_fft_forward(rows);
    for c in 0..cols {
        let mut column: Vec<C64> = (0..rows).map(|r| want[r * cols + c]).collect();
        column_fft.process(&mut column);
        for (r, v) in column.into_iter().enumerate() {
            want[r * cols + c] = v;
        }
    }
    let norm = |v: &[C64]| v.iter().map(|c| c.norm_sqr()).sum::<f64>().sqrt();
    let diff: Vec<C64> = widen(&got).iter().zip(&want).map(|(g, w)| g - w).collect();
    let err = norm(&diff) / norm(&want);
    assert!(err <= 1e-5, "FFT {shape}: rel L2 {err:.2e}");
}

#[wasm_bindgen_test]
async fn every_matching_method_matches_the_cpu() {
    let Some(gpu) = gpu_engine().await else {
        return;
    };
    let cpu = Engine::cpu();
    let scene = coins_crop();
    let template = Array::from_fn(Shape::d2(15, 12), |r, c| scene.at(40 + r, 30 + c));
    for method in Method::ALL {
        let g = match_template_async(&gpu, &scene, &template, method)
            .await
            .unwrap();
        let c = match_template_async(&cpu, &scene, &template, method)
            .await
            .unwrap();
        let scale = c.data().iter().map(|v| v.abs()).fold(1.0f32, f32::max);
        let err = g
            .data()
            .iter()
            .zip(c.data())
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max)
            / if method.is_normed() { 1.0 } else { scale };
        assert!(err <= 1e-3, "{method:?}: max difference {err:e}");
        // The device's peak search finds what the host finds (for the normalised methods
        // and sqdiff: the place the template was cut from).
        let options = PeakOptions {
            count: 2,
            min_distance: 5.0,
            ..PeakOptions::default()
        };
        let on_gpu = match_peaks_async(&gpu, &scene, &template, method, &options).await;
        let on_cpu = match_peaks_async(&cpu, &scene, &template, method, &options).await;
        let at = |p: &[xcorr::Peak]| p.iter().map(|p| (p.row, p.col)).collect::<Vec<_>>();
        let (on_gpu, on_cpu) = (at(&on_gpu.unwrap()), at(&on_cpu.unwrap()));
        assert_eq!(on_gpu, on_cpu, "{method:?}");
        if method.is_normed() || method == Method::SqDiff {
            assert_eq!(on_gpu[0], (40, 30), "{method:?}");
        }
    }
}

#[wasm_bindgen_test]
async fn a_tracker_follows_a_template_on_the_gpu() {
    let Some(gpu) = gpu_engine().await else {
        return;
    };
    let scene = coins_crop();
    let template = Array::from_fn(Shape::d2(16, 16), |r, c| scene.at(50 + r, 40 + c));
    let frame_shape = Shape::d2(80, 70);
    let tracker = Tracker::new(&gpu, &template, frame_shape, Method::CCoeffNormed).unwrap();
    for step in 0..4 {
        let (dy, dx) = (2 * step, 3 * step);
        // A window of the photograph moving down and right: the template moves up and left.
        let frame = Array::from_fn(frame_shape, |r, c| scene.at(10 + dy + r, 5 + dx + c));
        let peak = tracker.track_async(&frame).await.unwrap();
        assert_eq!((peak.row, peak.col), (40 - dy, 35 - dx), "step {step}");
    }
}

#[wasm_bindgen_test]
async fn the_peak_search_matches_the_host() {
    let Some(gpu) = gpu_engine().await else {
        return;
    };
    let ctx = gpu.gpu_context().expect("a GPU engine");
    let map = Array::new(random(5, 90 * 70), Shape::d2(90, 70)).unwrap();
    let options = PeakOptions {
        count: 6,
        min_distance: 4.0,
        ..PeakOptions::default()
    };
    let got = find_peaks_async(ctx, map.view(), &options).await.unwrap();
    let want = top_k(map.view(), &options);
    let at = |p: &[xcorr::Peak]| p.iter().map(|p| (p.row, p.col)).collect::<Vec<_>>();
    assert_eq!(at(&got), at(&want));
}

#[wasm_bindgen_test]
async fn registration_matches_the_cpu() {
    let Some(gpu) = gpu_engine().await else {
        return;
    };
    let cpu = Engine::cpu();
    let scene = coins_crop();
    let reference = Array::from_fn(Shape::d2(64, 64), |r, c| scene.at(20 + r, 20 + c));
    let moving = Array::from_fn(Shape::d2(64, 64), |r, c| scene.at(23 + r, 15 + c));
    for upsample in [1, 10] {
        let options = RegisterOptions {
            upsample,
            ..RegisterOptions::default()
        };
        let g = register_with_async(&gpu, &reference, &moving, &options)
            .await
            .unwrap();
        let c = register_with_async(&cpu, &reference, &moving, &options)
            .await
            .unwrap();
        assert_eq!(g.shift, c.shift, "upsample {upsample}");
        assert!(
            (g.error - c.error).abs() <= 1e-3,
            "upsample {upsample}: {g:?} {c:?}"
        );
    }
}
