//! Phase correlation on the device: the reference's spectrum is kept; for each moving image
//! the forward FFT, the cross-power spectrum, the inverse FFT and the integer-peak search run
//! in one submission, and only the peak comes back. The upsampled DFT then runs as two
//! matrix products on the kept cross-power spectrum. `crate::registration` owns the maths
//! (shift conventions, kernels, error metric); this is the plumbing.

use super::context::GpuContext;
use super::fft::{fuse_product, FftLayout, RowCapacity};
use super::params::{DftParams, ShiftParams, SpectrumParams};
use super::peak_search::{PeakRecord, PeakSearch, SearchShape};
use super::pipelines::{Conj, Kernel, Product};
use super::program::{
    begin_pass, check_buffer, complex_bytes, read_back, record, whole, Buf, Bufs, Dispatch, Step,
    Uniforms, ELEM,
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
    /// Pad and transform the reference; its spectrum ends in `moving_at`.
    forward_prog: Vec<Dispatch>,
    moving_at: Buf,
    /// Pad and transform a moving image, its last pass applying the cross-power product:
    /// `reference · conj(moving)` ends in `moving_at`. Only where `fused`; else empty, and
    /// moving images run `forward_prog` and `cross_prog`.
    moving_prog: Vec<Dispatch>,
    fused: bool,
    /// `product = reference · conj(moving)`, normalised for phase correlation (empty when
    /// fused).
    cross_prog: Vec<Dispatch>,
    /// Inverse transform of the product (in `moving_at`), magnitudes into the keys.
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
            bufs: Bufs::InOut {
                src: Buf::Input,
                dst: Buf::X,
            },
            params: ShiftParams::pad(logical, shape, padded[1]).into(),
            threads: (logical[0] * logical[1]) as u64,
        };
        let mut forward = vec![pad];
        let moving_at = fft.steps(false, Buf::X, &mut forward);
        // The moving image's last forward pass forms the cross-power spectrum where it is a
        // Stockham pass (every smooth column length, or the rows of a one-row image), with
        // the moving spectrum as `own`, hence `Conj::Own`. A Bluestein last axis, or a 1 × 1
        // image, keeps the separate `cross` dispatch.
        let product = Product {
            conj: Conj::Own,
            phase,
        };
        let mut moving = forward.clone();
        let fused = fuse_product(&mut moving, product, Buf::Kept, 1.0).is_some();
        // Unfused, the product lands in the `product` buffer (a copy of the reference's
        // spectrum), the moving spectrum is `kept`; bound below.
        let cross = Step {
            kernel: Kernel::Spectrum(Product {
                conj: Conj::Kept,
                phase,
            }),
            bufs: Bufs::Own,
            params: SpectrumParams::product(logical[0], logical[1], padded[1], 1.0).into(),
            threads: (logical[0] * logical[1]) as u64,
        };
        let mut inverse = Vec::new();
        let surface_at = fft.steps(true, moving_at, &mut inverse);
        let dims = |region: usize| {
            DftParams {
                rows: rows as u32,
                cols: cols as u32,
                pitch: padded[1] as u32,
                region: region as u32,
                row_kernel: (region * cols) as u32,
            }
            .into()
        };
        let magnitude = Step {
            kernel: Kernel::Magnitude,
            bufs: Bufs::Own,
            params: dims(0),
            threads: (rows * cols) as u64,
        };
        let upsample = [
            Step {
                kernel: Kernel::DftCols,
                bufs: Bufs::Own,
                params: dims(region_len),
                threads: (rows * region_len) as u64,
            },
            Step {
                kernel: Kernel::DftRows,
                bufs: Bufs::Own,
                params: dims(region_len),
                threads: (region_len * region_len) as u64,
            },
        ];

        let moving = if fused { &moving[..] } else { &[] };
        let cross = if fused { None } else { Some(cross) };
        let all: Vec<&Step> = forward
            .iter()
            .chain(moving)
            .chain(&cross)
            .chain(&inverse)
            .chain([&magnitude])
            .chain(&upsample)
            .collect();
        ctx.scoped("building a registration plan", || {
            let (uniforms, slots) = Uniforms::new(ctx, "xcorr registration", &all)?;
            use wgpu::BufferUsages as U;
            let work = U::STORAGE | U::COPY_SRC | U::COPY_DST;
            let input =
                ctx.create_buffer("xcorr phase input", image_bytes, U::STORAGE | U::COPY_DST);
            let x = ctx.create_buffer("xcorr phase x", work_bytes, work);
            let y = ctx.create_buffer("xcorr phase y", work_bytes, work);
            let reference = ctx.create_buffer("xcorr phase reference spectrum", work_bytes, work);
            let product = ctx.create_buffer("xcorr phase cross-power", work_bytes, work);
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
                Buf::Kept => &reference,
                Buf::Tables => &tables,
                Buf::Output => unreachable!("registration reads its results from its own buffers"),
            };
            let mut slots = slots.into_iter();
            let mut bind = |step: &Step, buffers: Option<Vec<wgpu::BufferBinding<'_>>>| {
                let slot = slots.next().expect("one slot per step");
                match buffers {
                    Some(buffers) => uniforms.bind(ctx, step.kernel, slot, &buffers),
                    None => uniforms.bind_step(ctx, step, slot, resolve),
                }
            };
            let forward_prog: Vec<_> = forward.iter().map(|s| bind(s, None)).collect();
            let moving_prog: Vec<_> = moving.iter().map(|s| bind(s, None)).collect();
            let cross_prog: Vec<_> = cross
                .iter()
                .map(|s| bind(s, Some(vec![whole(&product), whole(resolve(moving_at))])))
                .collect();
            let mut inverse_prog: Vec<_> = inverse.iter().map(|s| bind(s, None)).collect();
            inverse_prog.push(bind(
                &magnitude,
                Some(vec![whole(resolve(surface_at)), whole(&keys)]),
            ));
            let upsample_prog = vec![
                bind(
                    &upsample[0],
                    Some(vec![whole(&product), whole(&half), whole(&kernels)]),
                ),
                bind(
                    &upsample[1],
                    Some(vec![whole(&half), whole(&grid), whole(&kernels)]),
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
                moving_prog,
                fused,
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
                let mut pass = begin_pass(encoder, "xcorr reference transform");
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
    pub(crate) async fn integer_peak(&mut self, moving: &[Complex<f32>]) -> Result<PeakRecord> {
        assert_eq!(moving.len(), self.shape[0] * self.shape[1]);
        if !self.has_reference {
            return Err(Error::InvalidArgument("the reference is not set".into()));
        }
        self.ctx
            .queue()
            .write_buffer(&self.input, 0, complex_bytes(moving));
        let moving_at = self.buffer(self.moving_at);
        self.ctx.submit("running phase correlation", |encoder| {
            if self.fused {
                {
                    let mut pass = begin_pass(encoder, "xcorr moving transform and cross-power");
                    record(&mut pass, &self.moving_prog);
                }
                // The upsampled DFT reads the product after the inverse has overwritten
                // the work buffers.
                encoder.copy_buffer_to_buffer(moving_at, 0, &self.product, 0, None);
            } else {
                {
                    let mut pass = begin_pass(encoder, "xcorr moving transform");
                    record(&mut pass, &self.forward_prog);
                }
                encoder.copy_buffer_to_buffer(&self.reference, 0, &self.product, 0, None);
                {
                    let mut pass = begin_pass(encoder, "xcorr cross-power");
                    record(&mut pass, &self.cross_prog);
                }
                encoder.copy_buffer_to_buffer(&self.product, 0, moving_at, 0, None);
            }
            {
                let mut pass = begin_pass(encoder, "xcorr inverse and peak search");
                record(&mut pass, &self.inverse_prog);
                self.search.record(&mut pass);
            }
            self.search.copy_out(encoder, 0);
            Ok(())
        })?;
        let found = self.search.read(&self.ctx, 0, None).await?;
        found
            .into_iter()
            .next()
            .ok_or_else(|| Error::Gpu("the peak search found no finite value".into()))
    }

    /// The (unnormalised) inverse transform's value at `index`, after
    /// [`integer_peak`](Self::integer_peak).
    pub(crate) async fn value_at(&self, index: usize) -> Result<Complex<f32>> {
        let [_, cols] = self.shape;
        let offset = ((index / cols) * self.pitch + index % cols) as u64 * ELEM;
        let at = self.buffer(self.surface_at);
        self.ctx.submit("reading the peak value", |encoder| {
            encoder.copy_buffer_to_buffer(at, offset, &self.value_staging, 0, Some(ELEM));
            Ok(())
        })?;
        Ok(read_back(&self.ctx, &self.value_staging).await?[0])
    }

    /// The upsampled DFT of the kept cross-power spectrum with the given kernels (column
    /// kernel `region × cols`, then row kernel `region × rows`): the `region × region` grid.
    pub(crate) async fn upsampled(&self, kernels: &[Complex<f32>]) -> Result<Vec<Complex<f32>>> {
        assert_eq!(kernels.len(), self.region * (self.shape[0] + self.shape[1]));
        self.ctx
            .queue()
            .write_buffer(&self.kernels, 0, complex_bytes(kernels));
        self.ctx.submit("running the upsampled DFT", |encoder| {
            {
                let mut pass = begin_pass(encoder, "xcorr upsampled dft");
                record(&mut pass, &self.upsample_prog);
            }
            encoder.copy_buffer_to_buffer(&self.grid, 0, &self.grid_staging, 0, None);
            Ok(())
        })?;
        read_back(&self.ctx, &self.grid_staging).await
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    type C64 = Complex<f64>;

    /// A context, or `None` (skip) without an adapter; with `XCORR_REQUIRE_GPU=1` a missing
    /// adapter fails instead, as in the integration tests.
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

    /// Unnormalised 2-D DFT in f64, forward or inverse (the CPU backend's, an oracle).
    fn dft2(data: &mut [C64], [rows, cols]: [usize; 2], inverse: bool) {
        crate::cpu::Fft2::new(rows, cols, inverse).process(data);
    }

    /// The surface the plan searches, `ifft2(F(reference) · conj(F(moving)))` unnormalised,
    /// with each product divided by its magnitude for `phase`, in f64.
    fn surface(
        reference: &[Complex<f32>],
        moving: &[Complex<f32>],
        shape: [usize; 2],
        phase: bool,
    ) -> Vec<C64> {
        let widen = |v: &[Complex<f32>]| -> Vec<C64> {
            v.iter()
                .map(|c| C64::new(c.re as f64, c.im as f64))
                .collect()
        };
        let (mut r, mut m) = (widen(reference), widen(moving));
        dft2(&mut r, shape, false);
        dft2(&mut m, shape, false);
        let mut product: Vec<C64> = r
            .iter()
            .zip(&m)
            .map(|(r, m)| {
                let v = r * m.conj();
                if phase {
                    v / v.norm().max(100.0 * f64::EPSILON)
                } else {
                    v
                }
            })
            .collect();
        dft2(&mut product, shape, true);
        product
    }

    /// The moving image's last forward pass forms the cross-power spectrum (conjugating its
    /// own output, `Conj::Own`) wherever that is a Stockham pass; a Bluestein last axis or a
    /// 1 × 1 image keeps the separate dispatch. Either way the peak and the surface's values
    /// agree with f64, plain and phase-normalised.
    #[test]
    fn cross_power_spectrum_fused_or_not_matches_f64() {
        let Some(ctx) = context() else { return };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
        // (shape, fused): smooth columns (a Bluestein row axis or not) and one-row images
        // fuse; Bluestein columns and 1 × 1 do not.
        for (shape, fused) in [
            ([24, 32], true),
            ([1, 64], true),
            ([16, 11], true),
            ([11, 16], false),
            ([1, 1], false),
        ] {
            let [rows, cols] = shape;
            let reference: Vec<Complex<f32>> = (0..rows * cols)
                .map(|_| Complex::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)))
                .collect();
            // The reference moved by (3, 5), so the surface has one clear peak.
            let moving: Vec<Complex<f32>> = (0..rows * cols)
                .map(|i| reference[((i / cols + 3) % rows) * cols + (i % cols + 5) % cols])
                .collect();
            // The workgroup FFT on and off (rows of 64 and 32 fit it).
            for (phase, workgroup) in [(false, false), (true, false), (false, true), (true, true)] {
                ctx.set_workgroup_fft(workgroup);
                let mut plan = PhasePlan::new(&ctx, shape, 0, phase).unwrap();
                assert_eq!(plan.fused, fused, "{shape:?}");
                plan.set_reference(&reference).unwrap();
                let expected = surface(&reference, &moving, shape, phase);
                let peak = crate::blocking::wait(plan.integer_peak(&moving)).unwrap();
                let norms: Vec<f64> = expected.iter().map(|v| v.norm()).collect();
                let best = norms.iter().cloned().fold(0.0, f64::max);
                let want = norms.iter().position(|&v| v == best).unwrap();
                let what = format!("{shape:?} phase {phase} workgroup {workgroup}");
                assert_eq!(peak.index as usize, want, "{what}");
                // The peak and a spread of other values, to 1e-5 of the peak.
                for index in [want, 0, rows * cols / 3, rows * cols - 1] {
                    let got = crate::blocking::wait(plan.value_at(index)).unwrap();
                    let got = C64::new(got.re as f64, got.im as f64);
                    let err = (got - expected[index]).norm() / best;
                    assert!(err <= 1e-5, "{what} at {index}: {err:.2e}");
                }
            }
        }
    }
}
