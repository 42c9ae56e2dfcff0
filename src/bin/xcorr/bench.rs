//! The standard workloads (W1–W6, FFT) timed in-process: what `xcorr bench` runs.
//!
//! Inputs are seeded random data, plans are built before timing, and each case reports the
//! median of its runs. Criterion benches in `benches/` time the same workloads.

use num_complex::Complex;
use std::time::{Duration, Instant};
use xcorr::array::{Array, Shape};
use xcorr::engine::Engine;
use xcorr::error::Result;
use xcorr::matching::{match_template, Mask, Method, Template, Tracker};
use xcorr::registration::{register_with, RegisterOptions};
use xcorr::spec::Mode;

/// One timed case: a workload on one backend.
#[derive(Clone, Debug)]
pub struct Measurement {
    pub workload: String,
    pub backend: String,
    pub median_ms: f64,
    pub runs: usize,
    /// For GPU FFT cases, the dispatches of one 2-D forward transform.
    pub dispatches: Option<usize>,
}

/// How long to spend on each case.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// At least this many timed runs (after one warm-up run; one if the warm-up alone
    /// outlasted `time`)...
    pub min_runs: usize,
    /// ...and at most this many...
    pub max_runs: usize,
    /// ...stopping early once the timed runs add up to this.
    pub time: Duration,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            min_runs: 3,
            max_runs: 15,
            time: Duration::from_secs(2),
        }
    }
}

/// A prepared case: calling it runs the workload once.
pub type Case<'a> = Box<dyn FnMut() -> Result<()> + 'a>;

/// Time `case`: one warm-up run (pipelines compile, buffers are allocated), then runs until
/// the budget is met; the median in milliseconds.
pub fn time_case(case: &mut Case<'_>, budget: Budget) -> Result<(f64, usize)> {
    let warm_up = Instant::now();
    case()?;
    // A case slower than the whole budget (a big job on a software GPU driver) is timed
    // once, so that a full run stays within minutes.
    let min_runs = if warm_up.elapsed() > budget.time {
        1
    } else {
        budget.min_runs
    };
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < min_runs || (times.len() < budget.max_runs && start.elapsed() < budget.time)
    {
        let t = Instant::now();
        case()?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], times.len()))
}

/// Seeded values in [0, 1): a cheap generator, so benchmarks need no rand dependency.
pub fn random_image(shape: Shape, seed: u64) -> Array<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    Array::from_fn(shape, |_, _| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 40) as f32 / (1u64 << 24) as f32
    })
}

/// The names of the standard workloads, in order.
pub const WORKLOADS: [&str; 13] = [
    "W1", "W2", "W3", "W4", "W4M", "W5", "W6", "FFT1024", "FFT2048", "FFT4096", "RFFT1024",
    "RFFT2048", "RFFT4096",
];

/// Build the case for `workload` on `engine`, or `None` if the engine cannot run it.
pub fn build_case<'a>(workload: &str, engine: &'a Engine) -> Result<Option<Case<'a>>> {
    let case: Case<'a> = match workload {
        "W1" => {
            let image = random_image(Shape::d2(1024, 1024), 1);
            let template = random_image(Shape::d2(64, 64), 2);
            Box::new(move || engine.correlate(&image, &template, Mode::Same).map(drop))
        }
        "W2" => {
            let a = random_image(Shape::d2(2048, 2048), 3);
            let b = random_image(Shape::d2(2048, 2048), 4);
            Box::new(move || engine.correlate(&a, &b, Mode::Full).map(drop))
        }
        "W3" => {
            let a = random_image(Shape::d2(512, 512), 5);
            let b = random_image(Shape::d2(512, 512), 6);
            Box::new(move || engine.correlate(&a, &b, Mode::CIRCULAR_CENTRED).map(drop))
        }
        "W4" => {
            let scene = random_image(Shape::d2(1024, 1024), 8);
            let template = random_image(Shape::d2(64, 64), 9);
            Box::new(move || {
                match_template(engine, &scene, &template, Method::CCoeffNormed).map(drop)
            })
        }
        "W4M" => {
            // W4 with a binary mask: the disc inscribed in the template (OpenCV's masked
            // formulas; the budget is 3× W4).
            let scene = random_image(Shape::d2(1024, 1024), 8);
            let template = random_image(Shape::d2(64, 64), 9);
            let disc = Array::from_fn(Shape::d2(64, 64), |r, c| {
                let (y, x) = (r as f32 - 31.5, c as f32 - 31.5);
                (y * y + x * x <= 32.0 * 32.0) as u8 as f32
            });
            let mask = Mask::binary(&[disc.view()])?;
            Box::new(move || {
                let masked = Template::new(&template, Some(&mask));
                match_template(engine, &scene, masked, Method::CCoeffNormed).map(drop)
            })
        }
        "W5" => {
            // 100 frames of 640×480 (rows × cols 480 × 640); the template's spectrum is
            // prepared once, outside the timed loop.
            let frames: Vec<Array<f32>> = (0..100)
                .map(|i| random_image(Shape::d2(480, 640), 100 + i))
                .collect();
            let template = random_image(Shape::d2(48, 48), 10);
            let tracker =
                Tracker::new(engine, &template, Shape::d2(480, 640), Method::CCorrNormed)?;
            Box::new(move || {
                for frame in &frames {
                    tracker.track(frame)?;
                }
                Ok(())
            })
        }
        "W6" => {
            let reference = random_image(Shape::d2(1024, 1024), 11);
            let moving = Array::from_fn(reference.shape(), |r, c| {
                reference.at((r + 1024 - 7) % 1024, (c + 12) % 1024)
            });
            let options = RegisterOptions {
                upsample: 100,
                ..Default::default()
            };
            Box::new(move || register_with(engine, &reference, &moving, &options).map(drop))
        }
        "FFT1024" | "FFT2048" | "FFT4096" => {
            let n: usize = workload[3..].parse().expect("size in the name");
            return fft_case(engine, n);
        }
        "RFFT1024" | "RFFT2048" | "RFFT4096" => {
            let n: usize = workload[4..].parse().expect("size in the name");
            return rfft_case(engine, n);
        }
        _ => return Ok(None),
    };
    Ok(Some(case))
}

/// W1–W3 with the data already on the GPU: the plan encodes into a fresh command encoder
/// reading and writing device buffers, and the timer waits for the GPU to finish. No upload
/// or readback is timed.
#[cfg(feature = "gpu")]
pub fn build_resident_case(workload: &str, engine: &Engine) -> Result<Option<Case<'static>>> {
    use xcorr::gpu::CorrelationPlan;
    use xcorr::spec::{Op, Plan};
    let Some(ctx) = engine.gpu_context() else {
        return Ok(None);
    };
    let (a, b, mode) = match workload {
        "W1" => (
            random_image(Shape::d2(1024, 1024), 1),
            random_image(Shape::d2(64, 64), 2),
            Mode::Same,
        ),
        "W2" => (
            random_image(Shape::d2(2048, 2048), 3),
            random_image(Shape::d2(2048, 2048), 4),
            Mode::Full,
        ),
        "W3" => (
            random_image(Shape::d2(512, 512), 5),
            random_image(Shape::d2(512, 512), 6),
            Mode::CIRCULAR_CENTRED,
        ),
        _ => return Ok(None),
    };
    let plan = Plan::new(Op::Correlate, mode, a.shape(), b.shape())?;
    // Real images: the real plan, as the engine picks for real data.
    let mut gpu = CorrelationPlan::new_real(ctx, &plan)?;
    gpu.set_template_real(b.data())?;
    let device = ctx.device().clone();
    let queue = ctx.queue().clone();
    let storage = |bytes: u64| {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("xcorr bench resident"),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    };
    let input = storage(gpu.input_bytes());
    let output = storage(gpu.output_bytes());
    queue.write_buffer(&input, 0, bytemuck::cast_slice(a.data()));
    Ok(Some(Box::new(move || {
        let mut encoder = device.create_command_encoder(&Default::default());
        gpu.encode(&mut encoder, &input, &output)?;
        queue.submit([encoder.finish()]);
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| xcorr::Error::Gpu(format!("waiting for the GPU: {e}")))?;
        Ok(())
    })))
}

/// A bare 2-D complex FFT of `n × n` (forward, unnormalised); on a GPU engine the plan is
/// built beforehand and each run uploads, transforms and reads back.
fn fft_case(engine: &Engine, n: usize) -> Result<Option<Case<'_>>> {
    let image = random_image(Shape::d2(n, n), 7);
    let mut data: Vec<Complex<f32>> = image.data().iter().map(|&v| Complex::new(v, 0.0)).collect();
    if engine.is_cpu() {
        let fft = xcorr::cpu::Fft2::<f32>::new(n, n, false);
        return Ok(Some(Box::new(move || {
            fft.process(&mut data);
            Ok(())
        })));
    }
    #[cfg(feature = "gpu")]
    if let Some(ctx) = engine.gpu_context() {
        let plan = xcorr::gpu::FftPlan::new(ctx, Shape::d2(n, n))?;
        return Ok(Some(Box::new(move || plan.forward(&data).map(drop))));
    }
    Ok(None)
}

/// A bare 2-D real-to-complex FFT of `n × n` (forward, unnormalised, the half spectrum):
/// GPU engines only, the plan built beforehand, each run uploading, transforming and reading
/// back. (The CPU backend's real transforms live inside its correlation plans.)
fn rfft_case(engine: &Engine, n: usize) -> Result<Option<Case<'_>>> {
    #[cfg(feature = "gpu")]
    if let Some(ctx) = engine.gpu_context() {
        let image = random_image(Shape::d2(n, n), 7);
        let plan = xcorr::gpu::FftPlan::new_real(ctx, Shape::d2(n, n))?;
        return Ok(Some(Box::new(move || {
            plan.forward_real(image.data()).map(drop)
        })));
    }
    let _ = (engine, n);
    Ok(None)
}

/// A GPU FFT case with the data on the device, timed as the VkFFT peer harness
/// (`../shared/peers/vkfft`) times its plans: `ops` forward transforms recorded into one
/// submission, submit, wait. Also the dispatches of one transform.
#[cfg(feature = "gpu")]
pub struct ResidentFft {
    pub case: Case<'static>,
    pub ops: usize,
    pub dispatches: usize,
}

/// The resident GPU case of an `FFTn` (complex) or `RFFTn` (real) workload, or `None` for
/// other workloads and engines.
#[cfg(feature = "gpu")]
pub fn build_resident_fft(workload: &str, engine: &Engine) -> Result<Option<ResidentFft>> {
    use xcorr::gpu::FftPlan;
    let Some(ctx) = engine.gpu_context() else {
        return Ok(None);
    };
    let (real, n) = match (workload.strip_prefix("RFFT"), workload.strip_prefix("FFT")) {
        (Some(n), _) => (true, n),
        (None, Some(n)) => (false, n),
        (None, None) => return Ok(None),
    };
    let Ok(n) = n.parse::<usize>() else {
        return Ok(None);
    };
    let shape = Shape::d2(n, n);
    let image = random_image(shape, 7);
    let plan = if real {
        let plan = FftPlan::new_real(ctx, shape)?;
        plan.upload_real(image.data())?;
        plan
    } else {
        let plan = FftPlan::new(ctx, shape)?;
        let data: Vec<Complex<f32>> = image.data().iter().map(|&v| Complex::new(v, 0.0)).collect();
        plan.upload(&data)?;
        plan
    };
    // The peer harness's operations per submission at these sizes.
    let ops = match n {
        ..=1024 => 10,
        2048 => 4,
        _ => 2,
    };
    let dispatches = plan.transform_dispatches();
    let (device, queue) = (ctx.device().clone(), ctx.queue().clone());
    let case: Case<'static> = Box::new(move || {
        let mut encoder = device.create_command_encoder(&Default::default());
        plan.encode_transforms(&mut encoder, ops);
        queue.submit([encoder.finish()]);
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| xcorr::Error::Gpu(format!("waiting for the GPU: {e}")))?;
        Ok(())
    });
    Ok(Some(ResidentFft {
        case,
        ops,
        dispatches,
    }))
}

/// Run every workload in `workloads` on every engine, calling `report` after each case.
pub fn run(
    engines: &[Engine],
    workloads: &[&str],
    budget: Budget,
    mut report: impl FnMut(&Measurement),
) -> Result<Vec<Measurement>> {
    let mut results = Vec::new();
    for workload in workloads {
        for engine in engines {
            let Some(mut case) = build_case(workload, engine)? else {
                continue;
            };
            let (median_ms, runs) = time_case(&mut case, budget)?;
            let m = Measurement {
                workload: workload.to_string(),
                backend: engine.backend_label().to_string(),
                median_ms,
                runs,
                dispatches: None,
            };
            report(&m);
            results.push(m);
            #[cfg(feature = "gpu")]
            if let Some(mut fft) = build_resident_fft(workload, engine)? {
                let (median_ms, runs) = time_case(&mut fft.case, budget)?;
                let m = Measurement {
                    workload: workload.to_string(),
                    backend: "gpu-resident".to_string(),
                    median_ms: median_ms / fft.ops as f64,
                    runs,
                    dispatches: Some(fft.dispatches),
                };
                report(&m);
                results.push(m);
            }
            #[cfg(feature = "gpu")]
            if let Some(mut case) = build_resident_case(workload, engine)? {
                let (median_ms, runs) = time_case(&mut case, budget)?;
                let m = Measurement {
                    workload: workload.to_string(),
                    backend: "gpu-resident".to_string(),
                    median_ms,
                    runs,
                    dispatches: None,
                };
                report(&m);
                results.push(m);
            }
        }
    }
    Ok(results)
}

/// The results as the JSON object `xcorr bench --json` prints.
pub fn to_json(device: &str, results: &[Measurement]) -> String {
    let rows: Vec<String> = results
        .iter()
        .map(|m| {
            let dispatches = m
                .dispatches
                .map(|d| format!(", \"dispatches\": {d}"))
                .unwrap_or_default();
            format!(
                "{{\"workload\": \"{}\", \"backend\": \"{}\", \"median_ms\": {:.3}, \"runs\": {}{dispatches}}}",
                m.workload, m.backend, m.median_ms, m.runs
            )
        })
        .collect();
    format!(
        "{{\"device\": \"{}\", \"results\": [{}]}}",
        device.replace('\\', "\\\\").replace('"', "\\\""),
        rows.join(", ")
    )
}
