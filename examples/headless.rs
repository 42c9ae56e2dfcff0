//! Compute only, no window: one correlation on the CPU and on the GPU, their times and how
//! far apart they are.
//!
//! ```text
//! cargo run --release --example headless
//! ```
//!
//! On a machine without a GPU, wgpu may find a software driver (Mesa's lavapipe): the numbers
//! still agree, but its timings say nothing about GPU speed.

#[cfg(not(feature = "gpu"))]
fn main() {
    eprintln!("this example needs the `gpu` feature");
}

#[cfg(feature = "gpu")]
fn main() {
    if let Err(e) = app::main() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

#[cfg(feature = "gpu")]
mod app {
    use num_complex::Complex;
    use std::time::Instant;
    use xcorr::gpu::{CorrelationPlan, GpuContext};
    use xcorr::spec::Plan;
    use xcorr::{Array, Engine, Mode, Op, Shape};

    pub fn main() -> xcorr::Result<()> {
        let (scene_shape, template_shape) = (Shape::d2(512, 512), Shape::d2(32, 32));
        // A deterministic zero-mean scene and a template cut from it at (200, 300).
        let scene = Array::from_fn(scene_shape, |r, c| Complex::new(noise(r, c), 0.0));
        let template = Array::from_fn(template_shape, |r, c| scene.at(r + 200, c + 300));

        let engine = Engine::cpu();
        let start = Instant::now();
        let cpu = engine.correlate(&scene, &template, Mode::Valid)?;
        let cpu_time = start.elapsed();

        let ctx = match GpuContext::new() {
            Ok(ctx) => ctx,
            Err(e) => {
                println!("CPU only ({e}): {cpu_time:.2?}");
                return Ok(());
            }
        };
        println!("GPU: {}", ctx.describe());
        let plan = Plan::new(Op::Correlate, Mode::Valid, scene_shape, template_shape)?;
        let start = Instant::now();
        let mut gpu = CorrelationPlan::new(&ctx, &plan)?;
        gpu.set_template(template.data())?;
        let build_time = start.elapsed();
        // The first run also warms the driver up; time the second.
        gpu.run(scene.data())?;
        let start = Instant::now();
        let out = gpu.run(scene.data())?;
        let gpu_time = start.elapsed();

        let (mut diff, mut norm) = (0.0f64, 0.0f64);
        for (g, c) in out.iter().zip(cpu.data()) {
            diff += ((g - c).norm() as f64).powi(2);
            norm += (c.norm() as f64).powi(2);
        }
        let peak = |v: &[Complex<f32>]| {
            let i = (0..v.len())
                .max_by(|&i, &j| v[i].re.total_cmp(&v[j].re))
                .unwrap();
            (i / plan.out.cols(), i % plan.out.cols())
        };
        println!(
            "job: correlate {scene_shape} with {template_shape}, valid mode -> {}",
            plan.out
        );
        println!("CPU (rustfft): {cpu_time:.2?}");
        println!(
            "GPU: plan + template {build_time:.2?}, run (upload, FFTs, readback) {gpu_time:.2?}"
        );
        println!(
            "relative L2 difference GPU vs CPU: {:.2e}",
            (diff / norm).sqrt()
        );
        println!(
            "peak: CPU {:?}, GPU {:?} (planted at (200, 300))",
            peak(cpu.data()),
            peak(&out)
        );
        Ok(())
    }

    /// Hash noise in [-1, 1).
    fn noise(r: usize, c: usize) -> f32 {
        let mut x = (r as u64) << 32 | c as u64;
        x = (x ^ (x >> 33)).wrapping_mul(0xff51afd7ed558ccd);
        x = (x ^ (x >> 33)).wrapping_mul(0xc4ceb9fe1a85ec53);
        x ^= x >> 33;
        (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}
