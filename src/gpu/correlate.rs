//! The correlation plan: buffers, tables and dispatches for one [`Plan`], built once.

use super::context::GpuContext;
use super::fft::{
    forward, fuse_product, fuse_round_trip, fuse_row_io, transform_shape, FftLayout, LineIo,
    LineLoad, LineStore, RowCapacity, Sample,
};
use super::params::{RealParams, ShiftParams, SpectrumParams, StockhamSharedParams};
use super::pipelines::{Conj, Kernel, Product};
use super::program::{
    begin_pass, binding, check_buffer, complex_bytes, read_back, read_back_as, record, whole, Buf,
    Bufs, Dispatch, Slot, Step, Uniforms, ELEM,
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
    /// The steps that read the input and write the output (rebound to callers' buffers).
    load_step: Step,
    gather_step: Step,
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
    /// The run: load (input → work), `middle` (FFT, product, inverse FFT), gather (→ output).
    pad_slot: Slot,
    pad_own: Dispatch,
    middle: Vec<Dispatch>,
    gather_slot: Slot,
    gather_own: Dispatch,
    /// Every kernel of a run, in order (a test aid).
    kernels: Vec<Kernel>,
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
            gather,
        } = steps;
        let kernels = std::iter::once(&pad_a)
            .chain(&middle)
            .chain([&gather])
            .map(|s| s.kernel)
            .collect();
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
                load_step: pad_a.clone(),
                gather_step: gather.clone(),
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
                gather_own,
                kernels,
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
    /// pass counts as that pass's extra read of the template spectrum; a first row pass
    /// that loads the input reads only the input (not its zero padding), a column pass
    /// skips the zero rows it does not read, and a last row pass that stores the window
    /// writes only the window. Divided by the
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

    /// Test aid: the pipeline label of every dispatch of one run, in order
    /// (`"xcorr stockham_shared.wgsl main"`, `"xcorr real.wgsl split"`, …).
    #[doc(hidden)]
    pub fn run_dispatches(&self) -> Vec<String> {
        self.kernels.iter().map(|k| k.label()).collect()
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
        self.sample.expect(real, "correlation plan", instead)
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
            let input = binding(input, self.input_bytes());
            let output = binding(output, self.output_bytes());
            let bind = |step: &Step, slot: Slot| {
                let (_, bufs) = step
                    .bufs
                    .in_binding_order()
                    .expect("a plan's steps bind to its buffers");
                let buffers: Vec<_> = bufs
                    .into_iter()
                    .map(|b| match b {
                        Buf::Input => input.clone(),
                        Buf::Output => output.clone(),
                        b => whole(self.buffer(b)),
                    })
                    .collect();
                self.uniforms.bind(&self.ctx, step.kernel, slot, &buffers)
            };
            Ok(BoundIo {
                pad: bind(&self.load_step, self.pad_slot),
                gather: bind(&self.gather_step, self.gather_slot),
            })
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

/// Every step of a plan, before binding.
struct Steps {
    /// Load the template and transform it; its spectrum ends in `template_at`.
    template: Vec<Step>,
    template_at: Buf,
    /// The run's first step, the one that reads `Buf::Input`: the first forward row pass
    /// where it can load the input itself, else a `pad` or `pack` of its own.
    load: Step,
    /// Forward FFT, spectrum product, inverse FFT, between `load` and `gather`.
    middle: Vec<Step>,
    /// The last forward pass, where it applies the spectrum product (no `spectrum` step).
    fused: Option<Kernel>,
    /// The run's last step, the one that writes `Buf::Output` (the output window only): the
    /// last inverse row pass where it can, else a `gather` or `unpack` of its own.
    gather: Step,
}

impl Steps {
    fn new(fft: &FftLayout, sample: Sample, plan: &Plan) -> Steps {
        let [rows, cols] = fft.logical;
        let paired = sample == Sample::Real { paired: true };
        let spectrum_cols = if paired { cols / 2 + 1 } else { cols };

        let (template, template_at) = forward(fft, sample, plan.b);
        let (mut run, at) = forward(fft, sample, plan.a);
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
        let fused = fuse_product(&mut run, product, Buf::Kept, scale);
        if fused.is_none() {
            run.push(Step {
                kernel: Kernel::Spectrum(product),
                bufs: Bufs::InPlace {
                    data: at,
                    table: Buf::Kept,
                },
                params: SpectrumParams::product(rows, spectrum_cols, fft.padded[1], scale).into(),
                threads: (rows * spectrum_cols) as u64,
            });
        }
        let forward_end = run.len();
        let gather = inverse(fft, sample, plan, at, &mut run);
        // The last forward and the first inverse column pass in one dispatch where they pair
        // (the product fused in the first): the gather's buffers swap with the rest.
        run.push(gather);
        fuse_round_trip(&mut run, forward_end - 1);
        let gather = run.pop().expect("the gather was pushed");
        let load = run.remove(0);
        Steps {
            template,
            template_at,
            load,
            middle: run,
            fused,
            gather,
        }
    }
}

/// Append the inverse transform of the spectrum in `from` to `out` (columns first, then
/// rows) and return the step that writes the output window.
///
/// Where the row axis is one line-kernel pass, that pass is the returned step: it reads only
/// the transform rows the window holds and stores only the window (paired real plans: it
/// reads its packed rows straight from the two half spectra, `merge`'s work, and writes
/// both real rows). Elsewhere the rows go through their passes and a `gather` or `unpack`
/// dispatch of its own cuts the window.
fn inverse(fft: &FftLayout, sample: Sample, plan: &Plan, from: Buf, out: &mut Vec<Step>) -> Step {
    let [rows, cols] = fft.logical;
    let pitch = fft.padded[1];
    let paired = sample == Sample::Real { paired: true };
    let spectrum_cols = if paired { cols / 2 + 1 } else { cols };
    let [out_rows, out_cols] = plan.out.axes();
    let first = [
        wrap(plan.axes[0].first, rows),
        wrap(plan.axes[1].first, cols),
    ];
    let window = |p: &mut StockhamSharedParams| {
        p.rows = rows as u32;
        p.out_rows = out_rows as u32;
        p.out_cols = out_cols as u32;
        p.first_r = first[0] as u32;
        p.first_c = first[1] as u32;
        p.half_cols = spectrum_cols as u32;
    };
    let at = fft.axis_steps(0, true, spectrum_cols, from, out);
    let (io, lines) = match sample {
        Sample::Real { paired: true } => (
            LineIo::new(LineLoad::Merge, LineStore::RealWindow { paired: true }),
            rows / 2,
        ),
        Sample::Real { paired: false } => (
            LineIo::new(LineLoad::Work, LineStore::RealWindow { paired: false }),
            out_rows,
        ),
        Sample::Complex => (LineIo::new(LineLoad::Work, LineStore::Window), out_rows),
    };
    let mut row_pass = Vec::new();
    fft.axis_steps(1, true, lines, at, &mut row_pass);
    if row_pass.len() == 1 && fuse_row_io(&mut row_pass[0], io, window) {
        let mut last = row_pass.remove(0);
        let Bufs::FftPass { dst, .. } = &mut last.bufs else {
            unreachable!("a line-kernel pass binds as an FFT pass")
        };
        *dst = Buf::Output;
        return last;
    }
    let gather_from = if paired {
        out.push(Step {
            kernel: Kernel::Merge,
            bufs: Bufs::InOut {
                src: at,
                dst: at.other(),
            },
            params: RealParams {
                rows: (rows / 2) as u32,
                cols: cols as u32,
                pitch: pitch as u32,
                half_cols: spectrum_cols as u32,
                ..Default::default()
            }
            .into(),
            threads: (rows / 2 * cols) as u64,
        });
        fft.axis_steps(1, true, rows / 2, at.other(), out)
    } else {
        fft.axis_steps(1, true, rows, at, out)
    };
    let bufs = Bufs::InOut {
        src: gather_from,
        dst: Buf::Output,
    };
    match sample {
        Sample::Complex => Step {
            kernel: Kernel::Gather,
            bufs,
            params: ShiftParams::gather(plan.out.axes(), fft.logical, pitch, first).into(),
            threads: plan.out.len() as u64,
        },
        Sample::Real { paired } => Step {
            kernel: Kernel::Unpack { paired },
            bufs,
            params: RealParams {
                rows: out_rows as u32,
                cols: out_cols as u32,
                src_rows: rows as u32,
                src_cols: cols as u32,
                pitch: pitch as u32,
                first_r: first[0] as u32,
                first_c: first[1] as u32,
                ..Default::default()
            }
            .into(),
            threads: plan.out.len() as u64,
        },
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mode, Shape};

    /// The kernels of one run of `plan`'s steps, with the bufs of its first and last.
    fn run_of(plan: &Plan, sample: Sample, rows: RowCapacity) -> (Vec<Step>, [usize; 2]) {
        let fft = FftLayout::new(transform_shape(plan, rows), rows);
        let steps = Steps::new(&fft, sample, plan);
        let run = std::iter::once(steps.load)
            .chain(steps.middle)
            .chain([steps.gather])
            .collect();
        (run, fft.logical)
    }

    fn line_io(step: &Step) -> Option<LineIo> {
        match step.kernel {
            Kernel::StockhamShared { io, .. } => Some(io),
            _ => None,
        }
    }

    fn line_params(step: &Step) -> StockhamSharedParams {
        match step.params {
            crate::gpu::params::Params::StockhamShared(p) => p,
            other => panic!("{other:?}"),
        }
    }

    fn plan(mode: Mode, a: Shape, b: Shape) -> Plan {
        Plan::new(Op::Correlate, mode, a, b).unwrap()
    }

    /// A paired real 2-D plan at power-of-two lengths is five FFT dispatches: the row pass
    /// loads the input and splits the half spectra; four-step columns whose second forward
    /// pass, product and first inverse pass are one round trip; the inverse row pass merges
    /// the half spectra and writes the window. No pack, split, merge, unpack, spectrum.
    #[test]
    fn real_plans_fuse_pack_merge_and_unpack_into_the_row_passes() {
        let plan = plan(Mode::Same, Shape::d2(1000, 1000), Shape::d2(64, 64));
        let (run, logical) = run_of(&plan, Sample::Real { paired: true }, RowCapacity::LAVAPIPE);
        assert_eq!(logical, [2048, 2048]);
        let kernels: Vec<String> = run.iter().map(|s| s.kernel.label()).collect();
        let line = "xcorr stockham_shared.wgsl main";
        assert_eq!(kernels, [line; 5], "{kernels:?}");
        let (first, last) = (&run[0], &run[run.len() - 1]);
        let load = LineLoad::Real { paired: true };
        assert_eq!(line_io(first).unwrap(), LineIo::new(load, LineStore::Split));
        assert!(matches!(
            first.bufs,
            Bufs::FftPass {
                src: Buf::Input,
                ..
            }
        ));
        // 1000 real rows: 500 packed rows are transformed and split, not 1024; the first
        // column pass reads the 1000 rows of half spectra and takes the rest as zeros.
        assert_eq!(line_params(first).lines, 500);
        assert_eq!(line_params(&run[1]).valid, 1000 * 2048);
        // 2 × 1025 columns written per packed row, not the 2048 of the packed row.
        assert_eq!(first.traffic(), (1000 * 1000 / 2 + 1000 * 1025) * ELEM);
        // The trip: sub-lines k1 of 64 points (2048 = 32 · 64) on 1025 columns, the
        // spectrum and the kept one read at k1 + 32·k2, the result stored where it came from,
        // in place.
        let trip = &run[2];
        assert!(line_io(trip).unwrap().round_trip);
        assert!(matches!(
            trip.kernel,
            Kernel::StockhamShared {
                n: 64,
                outer: true,
                product: Some(_),
                ..
            }
        ));
        let p = line_params(trip);
        assert_eq!([p.stride, p.m_in], [2048, 64 * 2048]);
        assert_eq!([p.stride_out, p.m_out], [32 * 2048, 2048]);
        assert_eq!(p.lines, 1025 * 32);
        assert_eq!(trip.traffic(), 3 * 2048 * 1025 * ELEM);
        let (Bufs::FftPass { dst: before, .. }, Bufs::FftPass { src: after, .. }) =
            (run[1].bufs, run[3].bufs)
        else {
            panic!("{:?}", run[1].bufs)
        };
        assert!(
            matches!(trip.bufs, Bufs::FftPass { src, dst, .. } if src == before && dst == after && src == dst)
        );
        let io = line_io(last).unwrap();
        assert_eq!(io.load, LineLoad::Merge);
        assert_eq!(io.store, LineStore::RealWindow { paired: true });
        assert!(matches!(
            last.bufs,
            Bufs::FftPass {
                dst: Buf::Output,
                ..
            }
        ));
        let p = line_params(last);
        assert_eq!([p.out_rows, p.out_cols, p.half_cols], [1000, 1000, 1025]);
    }

    /// A complex plan loads in its first row pass over the input's rows only, the first
    /// column pass reads the rows past them as zeros, and the inverse runs columns first so
    /// that its last pass, a row pass over the window's rows, writes the window.
    #[test]
    fn complex_plans_skip_zero_rows_and_store_the_window() {
        let plan = plan(Mode::Valid, Shape::d2(40, 40), Shape::d2(25, 25));
        let (run, logical) = run_of(&plan, Sample::Complex, RowCapacity::LAVAPIPE);
        assert_eq!(logical, [64, 64]);
        assert_eq!(
            run.len(),
            3,
            "rows, columns there and back (with the product), rows"
        );
        assert!(run.iter().all(|s| line_io(s).is_some()));
        assert_eq!(line_io(&run[0]).unwrap().load, LineLoad::Complex);
        assert_eq!(line_params(&run[0]).lines, 40);
        assert_eq!(line_params(&run[1]).stride, 64, "a column pass");
        assert_eq!(line_params(&run[1]).valid, 40 * 64);
        assert!(matches!(
            run[1].kernel,
            Kernel::StockhamShared {
                product: Some(_),
                io: LineIo {
                    round_trip: true,
                    ..
                },
                ..
            }
        ));
        let p = line_params(&run[2]);
        assert_eq!(line_io(&run[2]).unwrap().store, LineStore::Window);
        assert_eq!([p.lines, p.out_rows, p.out_cols], [16, 16, 16]);
        assert_eq!([p.first_r, p.first_c], [0, 0]);
        assert!(matches!(
            run[2].bufs,
            Bufs::FftPass {
                dst: Buf::Output,
                ..
            }
        ));
        // The model moves the input once, not the padded 64 × 64, and writes 16 × 16; the
        // trip reads the 40 rows holding input and the kept spectrum, writes all 64.
        let read_write = run[0].traffic();
        assert_eq!(read_write, (40 * 40 + 40 * 64) * ELEM);
        assert_eq!(run[1].traffic(), (40 * 64 + 64 * 64 + 64 * 64) * ELEM);
        assert_eq!(run[2].traffic(), (16 * 64 + 16 * 16) * ELEM);
    }

    /// A 1-D plan is one row pass each way: load and product in the first, the window in
    /// the second.
    #[test]
    fn one_dimensional_plans_are_two_dispatches() {
        let plan = plan(Mode::Full, Shape::d1(1000), Shape::d1(64));
        for sample in [Sample::Complex, Sample::Real { paired: false }] {
            let (run, _) = run_of(&plan, sample, RowCapacity::LAVAPIPE);
            assert_eq!(run.len(), 2, "{sample:?}");
            assert!(matches!(
                run[0].kernel,
                Kernel::StockhamShared {
                    product: Some(_),
                    ..
                }
            ));
            assert_ne!(line_io(&run[0]).unwrap().load, LineLoad::Work);
            assert_ne!(line_io(&run[1]).unwrap().store, LineStore::Work);
        }
    }

    /// Without the line kernel (per-pass rows) every plan keeps its load and gather
    /// dispatches; so do Bluestein rows.
    #[test]
    fn per_pass_and_bluestein_rows_keep_their_own_load_and_gather() {
        let cases = [
            (
                plan(Mode::Same, Shape::d2(100, 100), Shape::d2(9, 9)),
                RowCapacity::NONE,
            ),
            (
                plan(Mode::CIRCULAR, Shape::d2(64, 67), Shape::d2(5, 5)),
                RowCapacity::LAVAPIPE,
            ),
        ];
        for (plan, rows) in cases {
            for (sample, load, gather) in [
                (Sample::Complex, "pad", "gather"),
                (Sample::Real { paired: true }, "pack", "unpack"),
            ] {
                let (run, _) = run_of(&plan, sample, rows);
                let kernels: Vec<String> = run.iter().map(|s| s.kernel.label()).collect();
                assert!(kernels[0].ends_with(load), "{kernels:?}");
                assert!(kernels.last().unwrap().ends_with(gather), "{kernels:?}");
                assert!(run
                    .iter()
                    .all(|s| line_io(s).is_none_or(|io| io.store == LineStore::Work
                        && matches!(io.load, LineLoad::Work | LineLoad::InPlace))));
                if sample != Sample::Complex {
                    assert!(kernels.iter().any(|k| k.ends_with("merge")), "{kernels:?}");
                }
            }
        }
    }
}
