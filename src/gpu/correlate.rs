//! The correlation plan: buffers, tables and dispatches for one [`Plan`], built once.

use super::context::GpuContext;
use super::fft::{fuse_product, transform_shape, FftLayout, RowCapacity};
use super::params::{RealParams, ShiftParams, SpectrumParams};
use super::pipelines::{Conj, Kernel, Product};
use super::program::{
    begin_pass, binding, check_buffer, complex_bytes, read_back, read_back_as, record, Buf, Bufs,
    Dispatch, Slot, Step, Uniforms, ELEM,
};
use crate::error::{Error, Result};
use crate::spec::{wrap, Op, Plan};
use num_complex::Complex;

/// Correlation (or convolution) of many inputs against one template on the GPU.
///
/// Built once for a [`Plan`]: buffers, twiddle and chirp tables, bind groups and the list of
/// dispatches all live as long as the plan. [`set_template`](Self::set_template) transforms
/// the second input once and keeps its spectrum on the device; every
/// [`run`](Self::run) then uploads one input, runs the FFTs, the spectrum product and the
/// inverse FFTs, gathers the output window and reads it back, creating no buffers.
///
/// Linear modes transform at a 2,3,5,7-smooth size per axis (the one with the least modelled
/// work between the minimum and the next power of two); circular mode transforms at the
/// input's own size, through Bluestein's algorithm where that is not smooth.
///
/// ```no_run
/// use num_complex::Complex;
/// use xcorr::gpu::{CorrelationPlan, GpuContext};
/// use xcorr::spec::Plan;
/// use xcorr::{Mode, Op, Shape};
///
/// let ctx = GpuContext::new()?;
/// let plan = Plan::new(Op::Correlate, Mode::Full, Shape::d1(1000), Shape::d1(64))?;
/// let mut gpu = CorrelationPlan::new(&ctx, &plan)?;
/// gpu.set_template(&vec![Complex::new(1.0, 0.0); 64])?;
/// for _ in 0..10 {
///     let signal = vec![Complex::new(0.5, 0.0); 1000];
///     let out = gpu.run(&signal)?;
///     assert_eq!(out.len(), plan.out.len());
/// }
/// # Ok::<(), xcorr::Error>(())
/// ```
pub struct CorrelationPlan {
    ctx: GpuContext,
    plan: Plan,
    sample: Sample,
    /// The kernels that read the input and write the output (rebound to callers' buffers).
    load_kernel: Kernel,
    gather_kernel: Kernel,
    /// Transform shape per axis, and the work buffer's (larger on Bluestein axes).
    logical: [usize; 2],
    padded: [usize; 2],
    input: wgpu::Buffer,
    x: wgpu::Buffer,
    y: wgpu::Buffer,
    template: wgpu::Buffer,
    output: wgpu::Buffer,
    staging: wgpu::Buffer,
    tables: wgpu::Buffer,
    uniforms: Uniforms,
    /// Pad the template, transform it; the spectrum ends in `template_at`, to be copied.
    template_prog: Vec<Dispatch>,
    template_at: Buf,
    /// The run: pad (input → X), `middle` (FFT, product, inverse FFT), gather (→ output).
    pad_slot: Slot,
    pad_own: Dispatch,
    middle: Vec<Dispatch>,
    gather_slot: Slot,
    gather_from: Buf,
    gather_own: Dispatch,
    has_template: bool,
    /// The last forward FFT pass, where it applies the spectrum product.
    fused: Option<Kernel>,
    /// Device-memory bytes one run moves, by [`Step::traffic`]'s model.
    traffic: u64,
}

impl CorrelationPlan {
    /// Build the plan for complex data: check it against the device's limits, create
    /// buffers, tables and bind groups. Fails with [`Error::DeviceLimit`] when a buffer or
    /// dispatch cannot fit.
    pub fn new(ctx: &GpuContext, plan: &Plan) -> Result<Self> {
        Self::build(ctx, plan, false)
    }

    /// Build the plan for real inputs and a real output
    /// ([`set_template_real`](Self::set_template_real), [`run_real`](Self::run_real)).
    ///
    /// It does about half the work of a complex plan and moves half the bytes: pairs of
    /// real rows share one complex row FFT, the column FFTs and the spectrum product run
    /// over the half spectrum, and rows of zero padding are never transformed
    /// (`shaders/real.wgsl`). Transforms with an odd number of rows (circular mode at an odd
    /// size, 1-D signals) cannot pair rows and run as complex ones, with real input and
    /// output all the same.
    pub fn new_real(ctx: &GpuContext, plan: &Plan) -> Result<Self> {
        Self::build(ctx, plan, true)
    }

    fn build(ctx: &GpuContext, plan: &Plan, real: bool) -> Result<Self> {
        let rows = RowCapacity::of(ctx);
        let fft = FftLayout::new(transform_shape(plan, rows), rows);
        let (logical, padded) = (fft.logical, fft.padded);
        let sample = if real {
            Sample::Real {
                paired: logical[0] % 2 == 0,
            }
        } else {
            Sample::Complex
        };
        let work_bytes = fft.work_len() as u64 * ELEM;
        let input_bytes = plan.a.len().max(plan.b.len()) as u64 * sample.bytes();
        let out_bytes = plan.out.len() as u64 * sample.bytes();
        let table_bytes = fft.tables.len() as u64 * ELEM;
        for bytes in [work_bytes, input_bytes, out_bytes, table_bytes] {
            check_buffer(ctx, bytes, true)?;
        }

        // Steps first: their dispatch sizes are checked before any buffer exists.
        let steps = Steps::new(&fft, sample, plan);
        let Steps {
            template: template_steps,
            template_at,
            load: pad_a,
            middle,
            fused,
            gather_from,
            gather,
        } = steps;
        let traffic = std::iter::once(&pad_a)
            .chain(&middle)
            .chain([&gather])
            .map(Step::traffic)
            .sum();
        let all: Vec<&Step> = template_steps
            .iter()
            .chain([&pad_a])
            .chain(&middle)
            .chain([&gather])
            .collect();
        ctx.scoped("building a correlation plan", || {
            let (uniforms, slots) = Uniforms::new(ctx, "xcorr correlation", &all)?;
            use wgpu::BufferUsages as U;
            let work = U::STORAGE | U::COPY_SRC | U::COPY_DST;
            let input = ctx.create_buffer("xcorr input", input_bytes, U::STORAGE | U::COPY_DST);
            let x = ctx.create_buffer("xcorr work x", work_bytes, work);
            let y = ctx.create_buffer("xcorr work y", work_bytes, work);
            let template = ctx.create_buffer(
                "xcorr template spectrum",
                work_bytes,
                U::STORAGE | U::COPY_DST,
            );
            let output = ctx.create_buffer("xcorr output", out_bytes, work);
            let staging = ctx.create_buffer("xcorr staging", out_bytes, U::MAP_READ | U::COPY_DST);
            let tables = ctx.create_buffer("xcorr tables", table_bytes, U::STORAGE | U::COPY_DST);
            ctx.queue()
                .write_buffer(&tables, 0, bytemuck::cast_slice(&fft.tables));

            let resolve = |b: Buf| match b {
                Buf::Input => &input,
                Buf::X => &x,
                Buf::Y => &y,
                Buf::Kept => &template,
                Buf::Output => &output,
                Buf::Tables => &tables,
            };
            let bind = |step: &Step, slot: Slot| uniforms.bind_step(ctx, step, slot, resolve);
            let mut slots = slots.into_iter();
            let template_prog: Vec<_> = template_steps
                .iter()
                .map(|s| bind(s, slots.next().unwrap()))
                .collect();
            let pad_slot = slots.next().unwrap();
            let pad_own = bind(&pad_a, pad_slot);
            let middle: Vec<_> = middle
                .iter()
                .map(|s| bind(s, slots.next().unwrap()))
                .collect();
            let gather_slot = slots.next().unwrap();
            let gather_own = bind(&gather, gather_slot);
            Ok(CorrelationPlan {
                ctx: ctx.clone(),
                plan: *plan,
                sample,
                load_kernel: pad_a.kernel,
                gather_kernel: gather.kernel,
                logical,
                padded,
                input,
                x,
                y,
                template,
                output,
                staging,
                tables,
                uniforms,
                template_prog,
                template_at,
                pad_slot,
                pad_own,
                middle,
                gather_slot,
                gather_from,
                gather_own,
                has_template: false,
                fused,
                traffic,
            })
        })
    }

    /// The shapes this plan was built for.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The transform size per axis, `[rows, cols]` (a smooth size for linear modes, the
    /// input's size for circular mode).
    pub fn fft_shape(&self) -> [usize; 2] {
        self.logical
    }

    /// Device-memory bytes one run reads and writes, from a model of its dispatches (every
    /// element a dispatch touches moves once; tables come from cache): the input, every FFT
    /// pass, the spectrum product and the output. A product fused into the last forward
    /// pass counts as that pass's extra read of the template spectrum. Divided by the
    /// device's memory bandwidth, the time a run cannot beat. A model, not a measurement.
    pub fn traffic_bytes(&self) -> u64 {
        self.traffic
    }

    /// Test aid: the kind of the last forward FFT pass where the spectrum product runs
    /// inside it (`"radix-2"`, `"radix-4"`, `"radix-odd"`, `"workgroup lines"`), `None` where
    /// it is a dispatch of its own (see `Steps::new` for which plans fuse it).
    #[doc(hidden)]
    pub fn fused_product_pass(&self) -> Option<&'static str> {
        self.fused.map(|kernel| match kernel {
            Kernel::Stockham { .. } => "radix-2",
            Kernel::Stockham4 { .. } => "radix-4",
            Kernel::StockhamOdd { .. } => "radix-odd",
            Kernel::StockhamShared { .. } => "workgroup lines",
            _ => unreachable!("only Stockham passes take the product"),
        })
    }

    /// Whether this plan takes real data ([`new_real`](Self::new_real)).
    pub fn is_real(&self) -> bool {
        self.sample != Sample::Complex
    }

    /// Bytes [`encode`](Self::encode) reads from the caller's input buffer.
    pub fn input_bytes(&self) -> u64 {
        self.plan.a.len() as u64 * self.sample.bytes()
    }

    /// Bytes [`encode`](Self::encode) writes to the caller's output buffer.
    pub fn output_bytes(&self) -> u64 {
        self.plan.out.len() as u64 * self.sample.bytes()
    }

    /// Transform the template `b` (row-major, shape `plan.b`) and keep its spectrum on the
    /// device for every later run. Returns once the work is submitted.
    pub fn set_template(&mut self, b: &[Complex<f32>]) -> Result<()> {
        self.expect_real(false, "set_template_real")?;
        check_len("template", b.len(), self.plan.b)?;
        self.upload_template(complex_bytes(b))
    }

    /// [`set_template`](Self::set_template) for a plan built by [`new_real`](Self::new_real).
    pub fn set_template_real(&mut self, b: &[f32]) -> Result<()> {
        self.expect_real(true, "set_template")?;
        check_len("template", b.len(), self.plan.b)?;
        self.upload_template(bytemuck::cast_slice(b))
    }

    fn upload_template(&mut self, bytes: &[u8]) -> Result<()> {
        self.ctx.scoped("transforming the template", || {
            self.ctx.queue().write_buffer(&self.input, 0, bytes);
            let mut encoder =
                self.ctx
                    .device()
                    .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                        label: Some("xcorr template"),
                    });
            {
                let mut pass = begin_pass(&mut encoder, "xcorr template transform");
                record(&mut pass, &self.template_prog);
            }
            encoder.copy_buffer_to_buffer(
                self.buffer(self.template_at),
                0,
                &self.template,
                0,
                None,
            );
            self.ctx.queue().submit([encoder.finish()]);
            Ok(())
        })?;
        self.has_template = true;
        Ok(())
    }

    /// Correlate `a` (row-major, shape `plan.a`) with the template; blocks until the result
    /// is back (row-major, shape `plan.out`).
    pub fn run(&mut self, a: &[Complex<f32>]) -> Result<Vec<Complex<f32>>> {
        crate::blocking::wait(self.run_async(a))
    }

    /// [`run`](Self::run) as a future. On native backends it still waits for the GPU inside
    /// (wgpu only completes the readback when the device is polled).
    pub async fn run_async(&mut self, a: &[Complex<f32>]) -> Result<Vec<Complex<f32>>> {
        self.expect_real(false, "run_real")?;
        check_len("input", a.len(), self.plan.a)?;
        self.submit_run(complex_bytes(a))?;
        read_back(&self.ctx, &self.staging).await
    }

    /// [`run`](Self::run) for a plan built by [`new_real`](Self::new_real): real input, real
    /// output.
    pub fn run_real(&mut self, a: &[f32]) -> Result<Vec<f32>> {
        crate::blocking::wait(self.run_real_async(a))
    }

    /// [`run_real`](Self::run_real) as a future.
    pub async fn run_real_async(&mut self, a: &[f32]) -> Result<Vec<f32>> {
        self.expect_real(true, "run")?;
        check_len("input", a.len(), self.plan.a)?;
        self.submit_run(bytemuck::cast_slice(a))?;
        read_back_as(&self.ctx, &self.staging).await
    }

    fn submit_run(&self, input: &[u8]) -> Result<()> {
        self.check_template()?;
        self.ctx.scoped("running a correlation plan", || {
            self.ctx.queue().write_buffer(&self.input, 0, input);
            let mut encoder =
                self.ctx
                    .device()
                    .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                        label: Some("xcorr correlation"),
                    });
            self.record_run(&mut encoder, &self.pad_own, &self.gather_own);
            encoder.copy_buffer_to_buffer(&self.output, 0, &self.staging, 0, None);
            self.ctx.queue().submit([encoder.finish()]);
            Ok(())
        })
    }

    /// Refuse a call made for the other kind of plan, naming the one to make `instead`.
    fn expect_real(&self, real: bool, instead: &str) -> Result<()> {
        if self.is_real() == real {
            return Ok(());
        }
        let built = if self.is_real() { "real" } else { "complex" };
        Err(Error::InvalidArgument(format!(
            "this correlation plan was built for {built} data: call {instead} instead"
        )))
    }

    /// Record the whole correlation into the caller's `encoder`, reading `input` and writing
    /// `output`, so that data already on the GPU never visits the host.
    ///
    /// Layout of both buffers: row-major complex f32, each element two `f32` (re, im), i.e.
    /// a WGSL `array<vec2<f32>>`; for a [real](Self::new_real) plan, row-major `f32`. `input`
    /// holds `plan.a` (at least
    /// [`input_bytes`](Self::input_bytes), from offset 0), `output` receives `plan.out` (at
    /// least [`output_bytes`](Self::output_bytes)); both need `BufferUsages::STORAGE` and must
    /// come from this context's device. The template must be set. Nothing runs until the
    /// caller submits the encoder; the plan's work buffers are in use until then, so do not
    /// interleave with [`run`](Self::run) on the same plan between encode and submit.
    pub fn encode(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        input: &wgpu::Buffer,
        output: &wgpu::Buffer,
    ) -> Result<()> {
        self.check_template()?;
        // Bind first, record after: a bad buffer is reported before the caller's encoder
        // is touched.
        let io = self.bind_io(input, output)?;
        self.encode_bound(encoder, &io)
    }

    /// The bind groups [`encode`](Self::encode) needs for `input` and `output`, made once
    /// for a caller that encodes into the same buffers again and again (a device-side
    /// pipeline per frame), after the same checks.
    pub(crate) fn bind_io(&self, input: &wgpu::Buffer, output: &wgpu::Buffer) -> Result<BoundIo> {
        for (what, buffer, bytes) in [
            ("input", input, self.input_bytes()),
            ("output", output, self.output_bytes()),
        ] {
            if buffer.size() < bytes {
                return Err(Error::InvalidArgument(format!(
                    "{what} buffer holds {} bytes, the plan needs {bytes}",
                    buffer.size()
                )));
            }
            if !buffer.usage().contains(wgpu::BufferUsages::STORAGE) {
                return Err(Error::InvalidArgument(format!(
                    "{what} buffer needs BufferUsages::STORAGE"
                )));
            }
        }
        self.ctx.scoped("binding the caller's buffers", || {
            let pad = self.uniforms.bind(
                &self.ctx,
                self.load_kernel,
                self.pad_slot,
                &[
                    binding(input, self.input_bytes()),
                    self.x.as_entire_buffer_binding(),
                ],
            );
            let gather = self.uniforms.bind(
                &self.ctx,
                self.gather_kernel,
                self.gather_slot,
                &[
                    self.buffer(self.gather_from).as_entire_buffer_binding(),
                    binding(output, self.output_bytes()),
                ],
            );
            Ok(BoundIo { pad, gather })
        })
    }

    /// [`encode`](Self::encode) with buffers bound by [`bind_io`](Self::bind_io).
    pub(crate) fn encode_bound(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        io: &BoundIo,
    ) -> Result<()> {
        self.check_template()?;
        self.record_run(encoder, &io.pad, &io.gather);
        Ok(())
    }

    /// Test aid: fill the work and output buffers with NaN, so that any element a run fails
    /// to write shows up in its result.
    #[doc(hidden)]
    pub fn poison(&self) {
        let nan =
            vec![f32::NAN; (self.padded[0] * self.padded[1] * 2).max(self.plan.out.len() * 2)];
        let bytes: &[u8] = bytemuck::cast_slice(&nan);
        let q = self.ctx.queue();
        q.write_buffer(&self.x, 0, &bytes[..self.x.size() as usize]);
        q.write_buffer(&self.y, 0, &bytes[..self.y.size() as usize]);
        q.write_buffer(&self.output, 0, &bytes[..self.output.size() as usize]);
    }

    fn record_run(&self, encoder: &mut wgpu::CommandEncoder, pad: &Dispatch, gather: &Dispatch) {
        let mut pass = begin_pass(encoder, "xcorr correlation");
        record(
            &mut pass,
            std::iter::once(pad).chain(&self.middle).chain([gather]),
        );
    }

    fn buffer(&self, b: Buf) -> &wgpu::Buffer {
        match b {
            Buf::Input => &self.input,
            Buf::X => &self.x,
            Buf::Y => &self.y,
            Buf::Kept => &self.template,
            Buf::Output => &self.output,
            Buf::Tables => &self.tables,
        }
    }

    fn check_template(&self) -> Result<()> {
        if self.has_template {
            Ok(())
        } else {
            Err(Error::InvalidArgument(
                "set_template must be called before running a correlation plan".into(),
            ))
        }
    }
}

/// A caller's input and output buffers bound to a plan (see [`CorrelationPlan::bind_io`]).
pub(crate) struct BoundIo {
    pad: Dispatch,
    gather: Dispatch,
}

/// How a plan's inputs and output are stored, and whether real rows share complex FFTs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sample {
    Complex,
    /// Real f32; `paired`: two rows per complex row FFT (the transform has an even number
    /// of rows), the half spectrum in between (real.wgsl).
    Real {
        paired: bool,
    },
}

impl Sample {
    /// Bytes per element of the inputs and the output.
    fn bytes(self) -> u64 {
        match self {
            Sample::Complex => ELEM,
            Sample::Real { .. } => ELEM / 2,
        }
    }
}

/// Every step of a plan, before binding.
struct Steps {
    /// Load the template and transform it; its spectrum ends in `template_at`.
    template: Vec<Step>,
    template_at: Buf,
    /// Load the input (input → X).
    load: Step,
    /// Forward FFT, spectrum product, inverse FFT; the result ends in `gather_from`.
    middle: Vec<Step>,
    /// The last forward pass, where it applies the spectrum product (no `spectrum` step).
    fused: Option<Kernel>,
    gather_from: Buf,
    /// The output window (→ output).
    gather: Step,
}

impl Steps {
    fn new(fft: &FftLayout, sample: Sample, plan: &Plan) -> Steps {
        let (logical, padded) = (fft.logical, fft.padded);
        let [rows, cols] = logical;
        let pitch = padded[1] as u32;
        let paired = sample == Sample::Real { paired: true };
        // Columns of the spectrum that are stored and multiplied.
        let spectrum_cols = if paired { cols / 2 + 1 } else { cols };
        // Paired: packed rows holding any input (the rest are zero and skip the row FFTs).
        let live_rows = |shape: crate::Shape| (shape.rows().div_ceil(2)).min(rows / 2);
        let loaded = Bufs::InOut {
            src: Buf::Input,
            dst: Buf::X,
        };
        let load = |shape: crate::Shape| match sample {
            Sample::Complex => Step {
                kernel: Kernel::Pad,
                bufs: loaded,
                params: ShiftParams::pad(logical, shape.axes(), padded[1]).into(),
                threads: (rows * cols) as u64,
            },
            Sample::Real { paired } => {
                let packed = if paired { live_rows(shape) } else { rows };
                Step {
                    kernel: Kernel::Pack { paired },
                    bufs: loaded,
                    params: RealParams {
                        rows: packed as u32,
                        cols: cols as u32,
                        src_rows: shape.rows() as u32,
                        src_cols: shape.cols() as u32,
                        pitch,
                        ..Default::default()
                    }
                    .into(),
                    threads: (packed * cols) as u64,
                }
            }
        };
        let forward = |shape: crate::Shape, out: &mut Vec<Step>| -> Buf {
            if !paired {
                return fft.steps(false, Buf::X, out);
            }
            let live = live_rows(shape);
            let at = fft.axis_steps(1, false, live, Buf::X, out);
            out.push(Step {
                kernel: Kernel::Split,
                bufs: Bufs::InOut {
                    src: at,
                    dst: at.other(),
                },
                params: RealParams {
                    rows: (rows / 2) as u32,
                    cols: spectrum_cols as u32,
                    src_rows: live as u32,
                    src_cols: cols as u32,
                    pitch,
                    ..Default::default()
                }
                .into(),
                threads: (rows / 2 * spectrum_cols) as u64,
            });
            fft.axis_steps(0, false, spectrum_cols, at.other(), out)
        };

        let mut template = vec![load(plan.b)];
        let template_at = forward(plan.b, &mut template);

        let mut middle = Vec::new();
        let at = forward(plan.a, &mut middle);
        let product = Product {
            conj: match plan.op {
                Op::Correlate => Conj::Kept,
                Op::Convolve => Conj::None,
            },
            phase: false,
        };
        let scale = 1.0 / (rows * cols) as f64 as f32;
        // The product rides on the forward transform's last pass wherever that is a
        // Stockham pass: the column passes of 2-D plans (complex, or real over the half
        // spectrum), the row passes of 1-D plans (per pass or in workgroup memory). Where the
        // last axis is a Bluestein one (circular mode at a length with a prime factor above
        // 7) or the transform is 1 × 1, it stays a dispatch of its own.
        let fused = fuse_product(&mut middle, product, Buf::Kept, scale);
        if fused.is_none() {
            middle.push(Step {
                kernel: Kernel::Spectrum(product),
                bufs: Bufs::InPlace {
                    data: at,
                    table: Buf::Kept,
                },
                params: SpectrumParams::product(rows, spectrum_cols, padded[1], scale).into(),
                threads: (rows * spectrum_cols) as u64,
            });
        }
        let gather_from = if paired {
            let at = fft.axis_steps(0, true, spectrum_cols, at, &mut middle);
            middle.push(Step {
                kernel: Kernel::Merge,
                bufs: Bufs::InOut {
                    src: at,
                    dst: at.other(),
                },
                params: RealParams {
                    rows: (rows / 2) as u32,
                    cols: cols as u32,
                    pitch,
                    half_cols: spectrum_cols as u32,
                    ..Default::default()
                }
                .into(),
                threads: (rows / 2 * cols) as u64,
            });
            fft.axis_steps(1, true, rows / 2, at.other(), &mut middle)
        } else {
            fft.steps(true, at, &mut middle)
        };

        let [out_rows, out_cols] = plan.out.axes();
        let first = [
            wrap(plan.axes[0].first, rows),
            wrap(plan.axes[1].first, cols),
        ];
        let gathered = Bufs::InOut {
            src: gather_from,
            dst: Buf::Output,
        };
        let gather = match sample {
            Sample::Complex => Step {
                kernel: Kernel::Gather,
                bufs: gathered,
                params: ShiftParams::gather(plan.out.axes(), logical, padded[1], first).into(),
                threads: plan.out.len() as u64,
            },
            Sample::Real { paired } => Step {
                kernel: Kernel::Unpack { paired },
                bufs: gathered,
                params: RealParams {
                    rows: out_rows as u32,
                    cols: out_cols as u32,
                    src_rows: rows as u32,
                    src_cols: cols as u32,
                    pitch,
                    first_r: first[0] as u32,
                    first_c: first[1] as u32,
                    ..Default::default()
                }
                .into(),
                threads: plan.out.len() as u64,
            },
        };
        Steps {
            template,
            template_at,
            load: load(plan.a),
            middle,
            fused,
            gather_from,
            gather,
        }
    }
}

impl std::fmt::Debug for CorrelationPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CorrelationPlan")
            .field("plan", &self.plan)
            .field("sample", &self.sample)
            .field("fft_shape", &self.logical)
            .field("work_shape", &self.padded)
            .finish()
    }
}

fn check_len(what: &str, len: usize, shape: crate::Shape) -> Result<()> {
    if len != shape.len() {
        return Err(Error::LengthMismatch {
            what: what.to_string(),
            shape,
            expected: shape.len(),
            got: len,
        });
    }
    Ok(())
}

/// One-shot correlation (or convolution) of `a` with `b` as `plan` says: builds a
/// [`CorrelationPlan`], sets `b` as its template and runs `a`. Build the plan yourself to
/// correlate many inputs.
pub fn compute(
    ctx: &GpuContext,
    plan: &Plan,
    a: &[Complex<f32>],
    b: &[Complex<f32>],
) -> Result<Vec<Complex<f32>>> {
    let mut gpu = CorrelationPlan::new(ctx, plan)?;
    gpu.set_template(b)?;
    gpu.run(a)
}
