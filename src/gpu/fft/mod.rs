//! The FFT on the device, by job: transform lengths and what the device's workgroup memory
//! allows ([`lengths`]), the host-computed twiddle and Bluestein tables ([`tables`]), the
//! passes of a transform as steps ([`steps`]), the generated entry point of the
//! one-dispatch line kernel ([`line_kernel`]); and [`fft_forward`], a one-shot transform.

mod lengths;
mod line_kernel;
mod steps;
mod tables;

pub(crate) use lengths::{transform_shape, Registers, RowCapacity};
pub(crate) use line_kernel::{line_main, LineIo, LineLoad, LineStore};
pub(crate) use steps::{
    bound_work_load, fuse_product, fuse_round_trip, fuse_row_io, line_traffic, FftLayout,
};

use super::context::GpuContext;
use super::params::ShiftParams;
use super::pipelines::Kernel;
use super::program::{
    begin_pass, check_buffer, complex_bytes, read_back, record, Buf, Bufs, Dispatch, Step,
    Uniforms, ELEM,
};
use crate::error::{Error, Result};
use crate::Shape;
use num_complex::Complex;

/// The exact forward DFT of a 1-D or 2-D array (row-major, unnormalised, like numpy's
/// `fft2`) on the GPU: Stockham passes at power-of-two lengths, Bluestein elsewhere. A check
/// of the transform on its own; correlation plans do not go through here.
pub fn fft_forward(
    ctx: &GpuContext,
    data: &[Complex<f32>],
    shape: Shape,
) -> Result<Vec<Complex<f32>>> {
    FftPlan::new(ctx, shape)?.forward(data)
}

/// A forward transform built once on the device: [`fft_forward`]'s program (pad into the
/// work buffer, the transform's passes, gather out), kept so that the transform can run
/// again on data already on the device. Benchmarks time it the way peer libraries' plans are
/// timed; [`encode_transforms`](Self::encode_transforms) records the passes alone.
pub struct FftPlan {
    ctx: GpuContext,
    shape: Shape,
    input: wgpu::Buffer,
    output: wgpu::Buffer,
    // Pad, then the transform's passes, then gather.
    dispatches: Vec<Dispatch>,
    _uniforms: Uniforms,
}

impl FftPlan {
    /// Plan the forward DFT of `shape` (1-D or 2-D, non-empty) on `ctx`.
    pub fn new(ctx: &GpuContext, shape: Shape) -> Result<FftPlan> {
        if shape.is_empty() {
            return Err(Error::Empty {
                what: "FFT input".into(),
                shape,
            });
        }
        let fft = FftLayout::new(shape.axes(), RowCapacity::of(ctx));
        let (logical, padded) = (fft.logical, fft.padded);
        let data_bytes = shape.len() as u64 * ELEM;
        let work_bytes = fft.work_len() as u64 * ELEM;
        let table_bytes = fft.tables.len() as u64 * ELEM;
        for bytes in [data_bytes, work_bytes, table_bytes] {
            check_buffer(ctx, bytes, true)?;
        }
        let mut steps = vec![Step {
            kernel: Kernel::Pad,
            bufs: Bufs::InOut {
                src: Buf::Input,
                dst: Buf::X,
            },
            params: ShiftParams::pad(logical, logical, padded[1]).into(),
            threads: shape.len() as u64,
        }];
        let at = fft.steps(false, Buf::X, &mut steps);
        steps.push(Step {
            kernel: Kernel::Gather,
            bufs: Bufs::InOut {
                src: at,
                dst: Buf::Output,
            },
            params: ShiftParams::gather(logical, logical, padded[1], [0, 0]).into(),
            threads: shape.len() as u64,
        });
        ctx.scoped("building an FFT plan", || {
            let refs: Vec<&Step> = steps.iter().collect();
            let (uniforms, slots) = Uniforms::new(ctx, "xcorr fft", &refs)?;
            use wgpu::BufferUsages as U;
            let input = ctx.create_buffer("xcorr fft input", data_bytes, U::STORAGE | U::COPY_DST);
            let x = ctx.create_buffer("xcorr fft x", work_bytes, U::STORAGE);
            let y = ctx.create_buffer("xcorr fft y", work_bytes, U::STORAGE);
            let output =
                ctx.create_buffer("xcorr fft output", data_bytes, U::STORAGE | U::COPY_SRC);
            let tables =
                ctx.create_buffer("xcorr fft tables", table_bytes, U::STORAGE | U::COPY_DST);
            ctx.queue()
                .write_buffer(&tables, 0, bytemuck::cast_slice(&fft.tables));
            let resolve = |b: Buf| match b {
                Buf::Input => &input,
                Buf::X => &x,
                Buf::Y => &y,
                Buf::Output => &output,
                Buf::Tables => &tables,
                Buf::Kept => unreachable!("a lone transform has no product"),
            };
            let dispatches = steps
                .iter()
                .zip(slots)
                .map(|(s, slot)| uniforms.bind_step(ctx, s, slot, resolve))
                .collect();
            Ok(FftPlan {
                ctx: ctx.clone(),
                shape,
                input,
                output,
                dispatches,
                _uniforms: uniforms,
            })
        })
    }

    /// Dispatches of one transform, without the pad and gather around it.
    pub fn transform_dispatches(&self) -> usize {
        self.dispatches.len() - 2
    }

    /// Write `data` (row-major, the plan's shape) into the plan's input buffer.
    pub fn upload(&self, data: &[Complex<f32>]) -> Result<()> {
        if data.len() != self.shape.len() {
            return Err(Error::LengthMismatch {
                what: "FFT input".into(),
                shape: self.shape,
                expected: self.shape.len(),
                got: data.len(),
            });
        }
        self.ctx
            .queue()
            .write_buffer(&self.input, 0, complex_bytes(data));
        Ok(())
    }

    /// Record `repeats` transforms of the work buffer into one compute pass, without the
    /// pad and gather around them: the work of one submission, for timing. Each transforms
    /// whatever the one before left in the work buffer (the same passes either way);
    /// [`run`](Self::run) pads the input in first.
    pub fn encode_transforms(&self, encoder: &mut wgpu::CommandEncoder, repeats: usize) {
        let passes = &self.dispatches[1..self.dispatches.len() - 1];
        let mut pass = begin_pass(encoder, "xcorr fft");
        for _ in 0..repeats {
            record(&mut pass, passes);
        }
    }

    /// Pad the uploaded input into the work buffer, transform it `repeats` times and gather
    /// the last result into a mappable buffer (submitted, not yet waited on).
    pub fn run(&self, repeats: usize) -> Result<wgpu::Buffer> {
        let ctx = &self.ctx;
        let bytes = self.shape.len() as u64 * ELEM;
        ctx.scoped("running an FFT", || {
            use wgpu::BufferUsages as U;
            let staging = ctx.create_buffer("xcorr fft staging", bytes, U::MAP_READ | U::COPY_DST);
            ctx.submit("xcorr fft", |encoder| {
                record(
                    &mut begin_pass(encoder, "xcorr fft pad"),
                    self.dispatches.first(),
                );
                self.encode_transforms(encoder, repeats);
                record(
                    &mut begin_pass(encoder, "xcorr fft gather"),
                    self.dispatches.last(),
                );
                encoder.copy_buffer_to_buffer(&self.output, 0, &staging, 0, None);
                Ok(())
            })?;
            Ok(staging)
        })
    }

    /// Transform `data` once: upload, transform, read back.
    pub fn forward(&self, data: &[Complex<f32>]) -> Result<Vec<Complex<f32>>> {
        crate::blocking::wait(self.forward_async(data))
    }

    /// [`forward`](Self::forward) as a future.
    pub async fn forward_async(&self, data: &[Complex<f32>]) -> Result<Vec<Complex<f32>>> {
        self.upload(data)?;
        let staging = self.run(1)?;
        read_back(&self.ctx, &staging).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> Option<GpuContext> {
        match GpuContext::new() {
            Ok(ctx) => Some(ctx),
            Err(e) if std::env::var("XCORR_REQUIRE_GPU").as_deref() == Ok("1") => {
                panic!("XCORR_REQUIRE_GPU=1 but no GPU context: {e}")
            }
            Err(e) => {
                eprintln!("skipping GPU test: {e}");
                None
            }
        }
    }

    fn data(seed: u32, len: usize) -> Vec<Complex<f32>> {
        (0..len as u32)
            .map(|i| {
                let h = (i ^ seed).wrapping_mul(2654435761) >> 8;
                Complex::new(h as f32 / (1 << 24) as f32, (h % 97) as f32 / 97.0)
            })
            .collect()
    }

    /// A plan run again on new data transforms that data (against the CPU backend's FFT),
    /// and its dispatch count (the bench's figure) is the passes alone: radix-4 passes per
    /// axis.
    #[test]
    fn plan_reruns_and_counts_its_passes() {
        let Some(ctx) = context() else { return };
        ctx.set_workgroup_fft(false);
        let shape = Shape::d2(64, 256);
        let plan = FftPlan::new(&ctx, shape).unwrap();
        // 64 = 4^3, 256 = 4^4.
        assert_eq!(plan.transform_dispatches(), 3 + 4);
        let cpu = crate::cpu::Fft2::<f32>::new(64, 256, false);
        for seed in [1, 2] {
            let input = data(seed, shape.len());
            let got = plan.forward(&input).unwrap();
            let mut want = input;
            cpu.process(&mut want);
            let err: f32 = got.iter().zip(&want).map(|(a, b)| (a - b).norm_sqr()).sum();
            let norm: f32 = want.iter().map(|b| b.norm_sqr()).sum();
            assert!(
                (err / norm).sqrt() < 1e-5,
                "seed {seed}: rel L2 {}",
                (err / norm).sqrt()
            );
        }
    }
}
