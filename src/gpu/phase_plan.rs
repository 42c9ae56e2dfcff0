//! Phase correlation on the device: the reference's spectrum is kept; for each moving image
//! the forward FFT, the cross-power spectrum, the inverse FFT and the integer-peak search run
//! in one submission, and only the peak comes back. The upsampled DFT then runs as two
//! matrix products on the kept cross-power spectrum. `crate::registration` owns the maths
//! (shift conventions, kernels, error metric); this is the plumbing.

use super::context::GpuContext;
use super::fft::{FftLayout, RowCapacity};
use super::peak_search::{PeakRecord, PeakSearch, SearchShape};
use super::pipelines::Kernel;
use super::program::{
    check_buffer, complex_bytes, read_back, record, whole, Buf, Dispatch, Step, Uniforms, ELEM,
};
use crate::error::{Error, Result};
use num_complex::Complex;

/// Buffers and dispatches for images of one shape and one upsampling region.
pub(crate) struct PhasePlan {
    ctx: GpuContext,
    shape: [usize; 2],
    region: usize,
    input: wgpu::Buffer,
    x: wgpu::Buffer,
    reference: wgpu::Buffer,
    product: wgpu::Buffer,
    kernels: wgpu::Buffer,
    y: wgpu::Buffer,
    grid: wgpu::Buffer,
    grid_staging: wgpu::Buffer,
    value_staging: wgpu::Buffer,
    /// Row pitch of the work buffers.
    pitch: usize,
    /// Pad and transform the input (the reference or a moving image); the spectrum ends in
    /// `moving_at`.
    forward_prog: Vec<Dispatch>,
    moving_at: Buf,
    /// `product = reference · conj(moving)`, normalised for phase correlation.
    cross_prog: Vec<Dispatch>,
    /// Inverse transform of the product (copied into X), magnitudes into the keys.
    inverse_prog: Vec<Dispatch>,
    surface_at: Buf,
    upsample_prog: Vec<Dispatch>,
    search: PeakSearch,
    has_reference: bool,
    _buffers: Vec<wgpu::Buffer>,
    _uniforms: Uniforms,
}

impl PhasePlan {
    /// `region` is the side of the upsampled grid (0 when there is no upsampling); `phase`
    /// divides the cross-power spectrum by its magnitude.
    pub(crate) fn new(
        ctx: &GpuContext,
        shape: [usize; 2],
        region: usize,
        phase: bool,
    ) -> Result<Self> {
        let [rows, cols] = shape;
        let fft = FftLayout::new(shape, RowCapacity::of(ctx));
        let (logical, padded) = (fft.logical, fft.padded);
        let work_bytes = fft.work_len() as u64 * ELEM;
        let image_bytes = (rows * cols) as u64 * ELEM;
        let table_bytes = fft.tables.len() as u64 * ELEM;
        let region_len = region.max(1);
        let kernel_bytes = (region_len * (rows + cols)) as u64 * ELEM;
        let half_bytes = (rows * region_len) as u64 * ELEM;
        let grid_bytes = (region_len * region_len) as u64 * ELEM;
        for bytes in [
            work_bytes,
            image_bytes,
            table_bytes,
            kernel_bytes,
            half_bytes,
            grid_bytes,
        ] {
            check_buffer(ctx, bytes, true)?;
        }
        let pad = Step {
            kernel: Kernel::Pad,
            bufs: vec![Buf::Input, Buf::X],
            params: vec![
                logical[0] as u32,
                logical[1] as u32,
                rows as u32,
                cols as u32,
                cols as u32,
                padded[1] as u32,
                0,
                0,
            ],
            threads: (logical[0] * logical[1]) as u64,
        };
        let mut forward = vec![pad];
        let moving_at = fft.steps(false, Buf::X, &mut forward);
        // The product lands in Buf::Output (a copy of the reference's spectrum).
        let cross = Step {
            kernel: Kernel::Spectrum { conj: true, phase },
            bufs: vec![Buf::Output, moving_at],
            params: vec![
                logical[1] as u32,
                logical[1] as u32,
                1,
                padded[1] as u32,
                logical[0] as u32,
                0,
                1f32.to_bits(),
                0,
            ],
            threads: (logical[0] * logical[1]) as u64,
        };
        let mut inverse = Vec::new();
        let surface_at = fft.steps(true, Buf::X, &mut inverse);
        let dims = |region: usize| {
            vec![
                rows as u32,
                cols as u32,
                padded[1] as u32,
                region as u32,
                (region * cols) as u32,
                0,
                0,
                0,
            ]
        };
        let magnitude = Step {
            kernel: Kernel::Magnitude,
            bufs: vec![],
            params: dims(0),
            threads: (rows * cols) as u64,
        };
        let upsample = [
            Step {
                kernel: Kernel::DftCols,
                bufs: vec![],
                params: dims(region_len),
                threads: (rows * region_len) as u64,
            },
            Step {
                kernel: Kernel::DftRows,
                bufs: vec![],
                params: dims(region_len),
                threads: (region_len * region_len) as u64,
            },
        ];

        let all: Vec<&Step> = forward
            .iter()
            .chain([&cross])
            .chain(&inverse)
            .chain([&magnitude])
            .chain(&upsample)
            .collect();
        ctx.scoped("building a registration plan", || {
            let (uniforms, slots) = Uniforms::new(ctx, &all)?;
            use wgpu::BufferUsages as U;
            let work = U::STORAGE | U::COPY_SRC | U::COPY_DST;
            let input =
                ctx.create_buffer("xcorr phase input", image_bytes, U::STORAGE | U::COPY_DST);
            let x = ctx.create_buffer("xcorr phase x", work_bytes, work);
            let y = ctx.create_buffer("xcorr phase y", work_bytes, work);
            let reference = ctx.create_buffer("xcorr phase reference", work_bytes, work);
            let product = ctx.create_buffer("xcorr phase product", work_bytes, work);
            let tables =
                ctx.create_buffer("xcorr phase tables", table_bytes, U::STORAGE | U::COPY_DST);
            let keys = ctx.create_buffer("xcorr phase keys", (rows * cols) as u64 * 4, U::STORAGE);
            let kernels = ctx.create_buffer(
                "xcorr phase kernels",
                kernel_bytes,
                U::STORAGE | U::COPY_DST,
            );
            let half = ctx.create_buffer("xcorr phase half", half_bytes, U::STORAGE);
            let grid = ctx.create_buffer("xcorr phase grid", grid_bytes, U::STORAGE | U::COPY_SRC);
            let grid_staging = ctx.create_buffer(
                "xcorr phase grid staging",
                grid_bytes,
                U::MAP_READ | U::COPY_DST,
            );
            let value_staging =
                ctx.create_buffer("xcorr phase value staging", ELEM, U::MAP_READ | U::COPY_DST);
            ctx.queue()
                .write_buffer(&tables, 0, bytemuck::cast_slice(&fft.tables));

            let resolve = |b: Buf| match b {
                Buf::Input => &input,
                Buf::X => &x,
                Buf::Y => &y,
                Buf::Template => &reference,
                Buf::Output => &product,
                Buf::Tables => &tables,
            };
            let mut slots = slots.into_iter();
            let mut bind = |step: &Step, buffers: Vec<wgpu::BufferBinding<'_>>| {
                uniforms.bind(
                    ctx,
                    step.kernel,
                    slots.next().expect("one slot per step"),
                    &buffers,
                )
            };
            let by_bufs = |step: &Step| step.bufs.iter().map(|&b| whole(resolve(b))).collect();
            let forward_prog: Vec<_> = forward.iter().map(|s| bind(s, by_bufs(s))).collect();
            let cross_prog = vec![bind(&cross, by_bufs(&cross))];
            let mut inverse_prog: Vec<_> = inverse.iter().map(|s| bind(s, by_bufs(s))).collect();
            inverse_prog.push(bind(
                &magnitude,
                vec![whole(resolve(surface_at)), whole(&keys)],
            ));
            let upsample_prog = vec![
                bind(
                    &upsample[0],
                    vec![whole(&product), whole(&half), whole(&kernels)],
                ),
                bind(
                    &upsample[1],
                    vec![whole(&half), whole(&grid), whole(&kernels)],
                ),
            ];
            let search = PeakSearch::new(
                ctx,
                &keys,
                &keys,
                shape,
                SearchShape {
                    rounds: 1,
                    radius: [0, 0],
                    euclidean: None,
                },
                None,
            )?;
            Ok(PhasePlan {
                ctx: ctx.clone(),
                shape,
                region,
                input,
                x,
                reference,
                product,
                kernels,
                y,
                grid,
                grid_staging,
                value_staging,
                pitch: padded[1],
                forward_prog,
                moving_at,
                cross_prog,
                inverse_prog,
                surface_at,
                upsample_prog,
                search,
                has_reference: false,
                _buffers: vec![tables, keys, half],
                _uniforms: uniforms,
            })
        })
    }

    /// Transform the reference (row-major, the plan's shape) and keep its spectrum.
    pub(crate) fn set_reference(&mut self, image: &[Complex<f32>]) -> Result<()> {
        assert_eq!(image.len(), self.shape[0] * self.shape[1]);
        self.ctx
            .queue()
            .write_buffer(&self.input, 0, complex_bytes(image));
        self.ctx.submit("transforming the reference", |encoder| {
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                record(&mut pass, &self.forward_prog);
            }
            encoder.copy_buffer_to_buffer(self.buffer(self.moving_at), 0, &self.reference, 0, None);
            Ok(())
        })?;
        self.has_reference = true;
        Ok(())
    }

    /// The cross-power spectrum with `moving` and the first maximum of the magnitude of its
    /// inverse transform (the record's `index`, row-major, and `key`, the magnitude; its
    /// neighbour fields are magnitudes too and unused). The spectrum stays on the device for
    /// [`value_at`](Self::value_at) and [`upsampled`](Self::upsampled).
    pub(crate) fn integer_peak(&mut self, moving: &[Complex<f32>]) -> Result<PeakRecord> {
        assert_eq!(moving.len(), self.shape[0] * self.shape[1]);
        if !self.has_reference {
            return Err(Error::InvalidArgument("the reference is not set".into()));
        }
        self.ctx
            .queue()
            .write_buffer(&self.input, 0, complex_bytes(moving));
        self.ctx.submit("running phase correlation", |encoder| {
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                record(&mut pass, &self.forward_prog);
            }
            encoder.copy_buffer_to_buffer(&self.reference, 0, &self.product, 0, None);
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                record(&mut pass, &self.cross_prog);
            }
            encoder.copy_buffer_to_buffer(&self.product, 0, &self.x, 0, None);
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                record(&mut pass, &self.inverse_prog);
                self.search.record(&mut pass);
            }
            self.search.copy_out(encoder);
            Ok(())
        })?;
        let found = pollster::block_on(self.search.read(&self.ctx))?;
        found
            .into_iter()
            .next()
            .ok_or_else(|| Error::Gpu("the peak search found no finite value".into()))
    }

    /// The (unnormalised) inverse transform's value at `index`, after
    /// [`integer_peak`](Self::integer_peak).
    pub(crate) fn value_at(&self, index: usize) -> Result<Complex<f32>> {
        let [_, cols] = self.shape;
        let offset = ((index / cols) * self.pitch + index % cols) as u64 * ELEM;
        let at = self.buffer(self.surface_at);
        self.ctx.submit("reading the peak value", |encoder| {
            encoder.copy_buffer_to_buffer(at, offset, &self.value_staging, 0, Some(ELEM));
            Ok(())
        })?;
        Ok(pollster::block_on(read_back(&self.ctx, &self.value_staging))?[0])
    }

    /// The upsampled DFT of the kept cross-power spectrum with the given kernels (column
    /// kernel `region × cols`, then row kernel `region × rows`): the `region × region` grid.
    pub(crate) fn upsampled(&self, kernels: &[Complex<f32>]) -> Result<Vec<Complex<f32>>> {
        assert_eq!(kernels.len(), self.region * (self.shape[0] + self.shape[1]));
        self.ctx
            .queue()
            .write_buffer(&self.kernels, 0, complex_bytes(kernels));
        self.ctx.submit("running the upsampled DFT", |encoder| {
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                record(&mut pass, &self.upsample_prog);
            }
            encoder.copy_buffer_to_buffer(&self.grid, 0, &self.grid_staging, 0, None);
            Ok(())
        })?;
        pollster::block_on(read_back(&self.ctx, &self.grid_staging))
    }

    /// The work buffer the FFT steps name `b` (X or Y).
    fn buffer(&self, b: Buf) -> &wgpu::Buffer {
        if b == Buf::X {
            &self.x
        } else {
            &self.y
        }
    }
}
