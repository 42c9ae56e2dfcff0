//! The FFT on the device, by job: transform lengths and what the device's workgroup memory
//! allows ([`lengths`]), the host-computed twiddle and Bluestein tables ([`tables`]), the
//! passes of a transform as steps ([`steps`]), the generated entry point of the
//! one-dispatch line kernel ([`line_kernel`]); and [`fft_forward`], a one-shot transform.

mod forward;
mod lengths;
mod line_kernel;
mod steps;
mod tables;

use forward::transform_where_uploaded;
pub(crate) use forward::{forward, Sample};
pub(crate) use lengths::{transform_shape, Registers, RowCapacity};
pub(crate) use line_kernel::{line_main, LineIo, LineLoad, LineStore};
pub(crate) use steps::{fuse_product, fuse_round_trip, fuse_row_io, line_traffic, FftLayout};

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
/// `fft2`) on the GPU: Stockham passes at 2,3,5,7-smooth lengths, Bluestein elsewhere. A
/// check of the transform on its own; correlation plans do not go through here.
pub fn fft_forward(
    ctx: &GpuContext,
    data: &[Complex<f32>],
    shape: Shape,
) -> Result<Vec<Complex<f32>>> {
    FftPlan::new(ctx, shape)?.forward(data)
}

/// A forward transform built once on the device, complex ([`new`](Self::new), numpy's
/// `fft2`) or real to complex ([`new_real`](Self::new_real), numpy's `rfft2`): the forward
/// half of a correlation plan's program (the first pass reads the input, the last leaves the
/// spectrum in a work buffer) and a gather of the spectrum, kept so that the transform can
/// run again on data already on the device. Benchmarks time it the way peer libraries' plans
/// are timed; [`encode_transforms`](Self::encode_transforms) records the transform alone.
pub struct FftPlan {
    ctx: GpuContext,
    shape: Shape,
    sample: Sample,
    /// Where `upload` writes: the input buffer, or the work buffer X where the first pass
    /// transforms the upload in place (`transform_where_uploaded`).
    input: wgpu::Buffer,
    output: wgpu::Buffer,
    // The transform's passes (the first reads `input`), then the gather into `output`.
    dispatches: Vec<Dispatch>,
    _uniforms: Uniforms,
}

impl FftPlan {
    /// Plan the complex forward DFT of `shape` (1-D or 2-D, non-empty) on `ctx`.
    pub fn new(ctx: &GpuContext, shape: Shape) -> Result<FftPlan> {
        Self::build(ctx, shape, Sample::Complex)
    }

    /// Plan the forward DFT of real data of `shape` on `ctx`: its half spectrum,
    /// `rows × (cols/2 + 1)` (numpy's `rfft2`). With an even number of rows, two real rows
    /// share each complex row FFT and the column FFTs cover the half spectrum only, as in a
    /// real correlation plan.
    pub fn new_real(ctx: &GpuContext, shape: Shape) -> Result<FftPlan> {
        let paired = shape.rows() % 2 == 0;
        Self::build(ctx, shape, Sample::Real { paired })
    }

    fn build(ctx: &GpuContext, shape: Shape, sample: Sample) -> Result<FftPlan> {
        if shape.is_empty() {
            return Err(Error::Empty {
                what: "FFT input".into(),
                shape,
            });
        }
        let fft = FftLayout::new(shape.axes(), RowCapacity::of(ctx));
        let spectrum = spectrum_shape(shape, sample);
        let input_bytes = shape.len() as u64 * sample.bytes();
        let output_bytes = spectrum.len() as u64 * ELEM;
        let work_bytes = fft.work_len() as u64 * ELEM;
        let table_bytes = fft.tables.len() as u64 * ELEM;
        for bytes in [input_bytes, output_bytes, work_bytes, table_bytes] {
            check_buffer(ctx, bytes, true)?;
        }
        let (mut steps, at) = forward(&fft, sample, shape);
        let in_x = sample == Sample::Complex
            && fft.padded == shape.axes()
            && transform_where_uploaded(&mut steps[0]);
        steps.push(Step {
            kernel: Kernel::Gather,
            bufs: Bufs::InOut {
                src: at,
                dst: Buf::Output,
            },
            params: ShiftParams::gather(spectrum.axes(), fft.logical, fft.padded[1], [0, 0]).into(),
            threads: spectrum.len() as u64,
        });
        ctx.scoped("building an FFT plan", || {
            let refs: Vec<&Step> = steps.iter().collect();
            let (uniforms, slots) = Uniforms::new(ctx, "xcorr fft", &refs)?;
            use wgpu::BufferUsages as U;
            let x = ctx.create_buffer("xcorr fft x", work_bytes, U::STORAGE | U::COPY_DST);
            let input = if in_x {
                x.clone()
            } else {
                ctx.create_buffer("xcorr fft input", input_bytes, U::STORAGE | U::COPY_DST)
            };
            let y = ctx.create_buffer("xcorr fft y", work_bytes, U::STORAGE);
            let output =
                ctx.create_buffer("xcorr fft output", output_bytes, U::STORAGE | U::COPY_SRC);
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
                sample,
                input,
                output,
                dispatches,
                _uniforms: uniforms,
            })
        })
    }

    /// The spectrum's shape: the input's for a complex plan, `rows × (cols/2 + 1)` for a
    /// real one.
    pub fn spectrum_shape(&self) -> Shape {
        spectrum_shape(self.shape, self.sample)
    }

    /// Dispatches of one transform, from the first read of the input to the spectrum
    /// (without the gather after it).
    pub fn transform_dispatches(&self) -> usize {
        self.dispatches.len() - 1
    }

    /// Write `data` (row-major, the plan's shape) into the input buffer of a complex plan.
    pub fn upload(&self, data: &[Complex<f32>]) -> Result<()> {
        self.expect_real(false, "upload_real or forward_real")?;
        self.check_len(data.len())?;
        self.ctx
            .queue()
            .write_buffer(&self.input, 0, complex_bytes(data));
        Ok(())
    }

    /// Write `data` (row-major, the plan's shape) into the input buffer of a real plan.
    pub fn upload_real(&self, data: &[f32]) -> Result<()> {
        self.expect_real(true, "upload or forward")?;
        self.check_len(data.len())?;
        self.ctx
            .queue()
            .write_buffer(&self.input, 0, bytemuck::cast_slice(data));
        Ok(())
    }

    /// Record `repeats` transforms of the uploaded input into one compute pass, without the
    /// gather after them: the work of one submission, for timing. Each does the same work;
    /// where the plan transforms its upload in place (complex data laid out as the work
    /// buffer) each after the first transforms what the one before left, as a peer's
    /// in-place plan run K times does.
    pub fn encode_transforms(&self, encoder: &mut wgpu::CommandEncoder, repeats: usize) {
        let passes = &self.dispatches[..self.dispatches.len() - 1];
        let mut pass = begin_pass(encoder, "xcorr fft");
        for _ in 0..repeats {
            record(&mut pass, passes);
        }
    }

    /// Transform the uploaded input once and gather the spectrum into a mappable buffer
    /// (submitted, not yet waited on).
    fn run(&self) -> Result<wgpu::Buffer> {
        let ctx = &self.ctx;
        let bytes = self.spectrum_shape().len() as u64 * ELEM;
        ctx.scoped("running an FFT", || {
            use wgpu::BufferUsages as U;
            let staging = ctx.create_buffer("xcorr fft staging", bytes, U::MAP_READ | U::COPY_DST);
            ctx.submit("xcorr fft", |encoder| {
                record(&mut begin_pass(encoder, "xcorr fft"), &self.dispatches);
                encoder.copy_buffer_to_buffer(&self.output, 0, &staging, 0, None);
                Ok(())
            })?;
            Ok(staging)
        })
    }

    /// Transform `data` once with a complex plan: upload, transform, read back.
    pub fn forward(&self, data: &[Complex<f32>]) -> Result<Vec<Complex<f32>>> {
        crate::blocking::wait(self.forward_async(data))
    }

    /// [`forward`](Self::forward) as a future.
    pub async fn forward_async(&self, data: &[Complex<f32>]) -> Result<Vec<Complex<f32>>> {
        self.upload(data)?;
        read_back(&self.ctx, &self.run()?).await
    }

    /// Transform real `data` once with a real plan: its half spectrum,
    /// [`spectrum_shape`](Self::spectrum_shape), row-major.
    pub fn forward_real(&self, data: &[f32]) -> Result<Vec<Complex<f32>>> {
        crate::blocking::wait(self.forward_real_async(data))
    }

    /// [`forward_real`](Self::forward_real) as a future.
    pub async fn forward_real_async(&self, data: &[f32]) -> Result<Vec<Complex<f32>>> {
        self.upload_real(data)?;
        read_back(&self.ctx, &self.run()?).await
    }

    fn check_len(&self, got: usize) -> Result<()> {
        if got == self.shape.len() {
            return Ok(());
        }
        Err(Error::LengthMismatch {
            what: "FFT input".into(),
            shape: self.shape,
            expected: self.shape.len(),
            got,
        })
    }

    fn expect_real(&self, real: bool, instead: &str) -> Result<()> {
        self.sample.expect(real, "FFT plan", instead)
    }
}

fn spectrum_shape(shape: Shape, sample: Sample) -> Shape {
    match sample {
        Sample::Complex => shape,
        Sample::Real { .. } => shape.with_axes([shape.rows(), shape.cols() / 2 + 1]),
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

    fn rel_l2(got: &[Complex<f32>], want: &[Complex<f32>]) -> f32 {
        assert_eq!(got.len(), want.len());
        let err: f32 = got.iter().zip(want).map(|(a, b)| (a - b).norm_sqr()).sum();
        let norm: f32 = want.iter().map(|b| b.norm_sqr()).sum();
        (err / norm).sqrt()
    }

    /// A plan run again on new data transforms that data (against the CPU backend's FFT),
    /// and its dispatch count (the bench's figure) is the passes alone: without the line
    /// kernel, a `pad` load of the work buffer, then radix-4 passes per axis.
    #[test]
    fn plan_reruns_and_counts_its_passes() {
        let Some(ctx) = context() else { return };
        ctx.set_workgroup_fft(false);
        let shape = Shape::d2(64, 256);
        let plan = FftPlan::new(&ctx, shape).unwrap();
        // 64 = 4^3, 256 = 4^4.
        assert_eq!(plan.transform_dispatches(), 1 + 3 + 4);
        let cpu = crate::cpu::Fft2::<f32>::new(64, 256, false);
        for seed in [1, 2] {
            let input = data(seed, shape.len());
            let got = plan.forward(&input).unwrap();
            let mut want = input;
            cpu.process(&mut want);
            let err = rel_l2(&got, &want);
            assert!(err < 1e-5, "seed {seed}: rel L2 {err}");
        }
    }

    /// A complex input with the work buffer's layout is transformed where it is uploaded:
    /// the line-kernel row pass that would load it from the input buffer reads X in place.
    /// A plan whose first step is a `pad` (per-pass rows) keeps it. With the line kernel
    /// the plan reruns on fresh uploads and matches the CPU.
    #[test]
    fn unpadded_complex_input_is_transformed_where_it_is_uploaded() {
        for (rows, converts) in [(RowCapacity::LAVAPIPE, true), (RowCapacity::NONE, false)] {
            let fft = FftLayout::new([64, 256], rows);
            let (mut steps, _) = forward(&fft, Sample::Complex, Shape::d2(64, 256));
            let first = steps[0].clone();
            assert_eq!(transform_where_uploaded(&mut steps[0]), converts);
            if converts {
                assert!(steps[0].kernel.in_place());
                assert!(matches!(
                    steps[0].bufs,
                    Bufs::FftPass {
                        src: Buf::X,
                        dst: Buf::X,
                        kept: None
                    }
                ));
            } else {
                assert_eq!((steps[0].kernel, steps[0].bufs), (first.kernel, first.bufs));
            }
        }
        let Some(ctx) = context() else { return };
        ctx.set_workgroup_fft(true);
        let shape = Shape::d2(256, 512);
        let plan = FftPlan::new(&ctx, shape).unwrap();
        let cpu = crate::cpu::Fft2::<f32>::new(256, 512, false);
        for seed in [3, 4] {
            let input = data(seed, shape.len());
            let got = plan.forward(&input).unwrap();
            let mut want = input;
            cpu.process(&mut want);
            let err = rel_l2(&got, &want);
            assert!(err < 1e-6, "seed {seed}: rel L2 {err}");
        }
    }

    /// A real plan's half spectrum is the first `cols/2 + 1` columns of the complex FFT of
    /// the same data, on every path of the real forward transform: paired rows (even row
    /// count) and unpaired (odd, 1-D), rows one line-kernel pass and not (the kernel off,
    /// a row past the workgroup's capacity), mixed radix and Bluestein lengths.
    #[test]
    fn real_plan_is_the_half_of_the_complex_spectrum() {
        let Some(ctx) = context() else { return };
        let shapes = [
            Shape::d2(64, 256),
            Shape::d2(7, 100),
            Shape::d1(1000),
            Shape::d2(6, 4099),
            Shape::d2(4, 16384),
        ];
        for workgroup_fft in [true, false] {
            ctx.set_workgroup_fft(workgroup_fft);
            for shape in shapes {
                let plan = FftPlan::new_real(&ctx, shape).unwrap();
                let [rows, cols] = shape.axes();
                let half = cols / 2 + 1;
                assert_eq!(plan.spectrum_shape(), shape.with_axes([rows, half]));
                let real: Vec<f32> = data(rows as u32, shape.len())
                    .iter()
                    .map(|z| z.re - 0.5)
                    .collect();
                let got = plan.forward_real(&real).unwrap();
                let mut full: Vec<Complex<f32>> =
                    real.iter().map(|&x| Complex::new(x, 0.0)).collect();
                crate::cpu::Fft2::<f32>::new(rows, cols, false).process(&mut full);
                let want: Vec<Complex<f32>> = full
                    .chunks(cols)
                    .flat_map(|row| row[..half].iter().copied())
                    .collect();
                let err = rel_l2(&got, &want);
                assert!(
                    err < 1e-6,
                    "{shape:?} (line kernel {workgroup_fft}): rel L2 {err}"
                );
            }
        }
    }

    /// Data of the wrong kind or length is refused with an error naming the call to make or
    /// the length expected, not transformed.
    #[test]
    fn plans_refuse_the_wrong_kind_and_length() {
        let Some(ctx) = context() else { return };
        let shape = Shape::d2(4, 8);
        let complex = FftPlan::new(&ctx, shape).unwrap();
        let real = FftPlan::new_real(&ctx, shape).unwrap();
        let err = complex.forward_real(&[0.0; 32]).unwrap_err().to_string();
        assert!(
            err.contains("complex data") && err.contains("call upload or forward "),
            "{err}"
        );
        let err = real
            .forward(&[Complex::new(0.0, 0.0); 32])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("real data") && err.contains("call upload_real or forward_real "),
            "{err}"
        );
        let err = real.forward_real(&[0.0; 31]).unwrap_err();
        assert!(
            matches!(
                err,
                Error::LengthMismatch {
                    expected: 32,
                    got: 31,
                    ..
                }
            ),
            "{err}"
        );
        let err = complex.forward(&[Complex::new(0.0, 0.0); 33]).unwrap_err();
        assert!(
            matches!(
                err,
                Error::LengthMismatch {
                    expected: 32,
                    got: 33,
                    ..
                }
            ),
            "{err}"
        );
        assert!(matches!(
            FftPlan::new_real(&ctx, Shape::d2(0, 8)),
            Err(Error::Empty { .. })
        ));
    }
}
