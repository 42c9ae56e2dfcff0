//! A plan's work as a list of dispatches, built once: parameters in one uniform buffer, one
//! bind group per dispatch. Also the limit checks, upload and readback helpers.

use super::context::GpuContext;
use super::fft::line_traffic;
use super::params::{Params, PARAM_BYTES};
use super::pipelines::{Kernel, Layout, Product};
use crate::error::{Error, Result};
use num_complex::Complex;
use std::sync::Arc;

/// Bytes per complex f32 element on the device (`vec2<f32>`).
pub(crate) const ELEM: u64 = 8;

/// The buffers a step can name; a plan resolves them to its own `wgpu::Buffer`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Buf {
    /// Upload buffer for the inputs (compact, row-major).
    Input,
    /// The two ping-pong work buffers of the FFT.
    X,
    Y,
    /// The spectrum kept on the device that a product reads: the template's (correlation)
    /// or the reference image's (registration).
    Kept,
    /// The compact output.
    Output,
    /// Twiddle and chirp tables.
    Tables,
}

impl Buf {
    /// The other ping-pong work buffer (X for Y, Y for anything else).
    pub(crate) fn other(self) -> Buf {
        if self == Buf::X {
            Buf::Y
        } else {
            Buf::X
        }
    }
}

/// A step's storage buffers by what each holds, one variant per [`Layout`] it binds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bufs {
    /// `src` → `dst` (`Layout::InOut`).
    InOut { src: Buf, dst: Buf },
    /// `data` in place, reading `table` (`Layout::InPlace`).
    InPlace { data: Buf, table: Buf },
    /// A Stockham pass `src` → `dst` with the twiddle tables; `kept` is the spectrum a fused
    /// product reads (`Layout::FftPass`). `src == dst` is a line-kernel pass in place
    /// (`LineLoad::InPlace`), which reads `dst` only.
    FftPass {
        src: Buf,
        dst: Buf,
        kept: Option<Buf>,
    },
    /// Bound by the plan to buffers of its own (window sums, peak search, DFT).
    Own,
}

impl Bufs {
    /// The layout these buffers bind and the buffers in its order; `None` for
    /// [`Bufs::Own`].
    pub(crate) fn in_binding_order(self) -> Option<(Layout, Vec<Buf>)> {
        Some(match self {
            Bufs::InOut { src, dst } => (Layout::InOut, vec![src, dst]),
            Bufs::InPlace { data, table } => (Layout::InPlace, vec![data, table]),
            // Passes without a product never read `kept`, but WebGPU wants every binding an
            // entry point names bound: the tables stand in, and for `src` in place (one
            // buffer cannot bind both read-only and read-write in a dispatch).
            Bufs::FftPass { src, dst, kept } => (
                Layout::FftPass,
                vec![
                    if src == dst { Buf::Tables } else { src },
                    dst,
                    Buf::Tables,
                    kept.unwrap_or(Buf::Tables),
                ],
            ),
            Bufs::Own => return None,
        })
    }
}

/// One dispatch before it is bound: kernel, buffers, parameters.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub kernel: Kernel,
    pub bufs: Bufs,
    /// The kernel's module's `Params`.
    pub params: Params,
    /// Invocations needed (one per butterfly or element).
    pub threads: u64,
}

impl Step {
    /// Bytes the step reads and writes in device memory, under a simple model: every
    /// element it touches moves once, twiddle and chirp tables come from cache. The model
    /// behind the bandwidth figures in BENCHMARKS.md, not a measurement.
    pub(crate) fn traffic(&self) -> u64 {
        // A pass with the spectrum product fused reads one kept element per output too.
        let moves = |product: Option<Product>| 2 + product.is_some() as u64;
        let per_thread = match self.kernel {
            // Per butterfly: two complex reads and two writes (and two kept reads).
            Kernel::Stockham { product, .. } => 2 * moves(product) * ELEM,
            Kernel::Stockham4 { product, .. } => 4 * moves(product) * ELEM,
            Kernel::StockhamOdd { radix, product, .. } => radix as u64 * moves(product) * ELEM,
            // Lines in and out once, less what a fused load or store skips.
            Kernel::StockhamShared { n, product, io, .. } => {
                let Params::StockhamShared(p) = &self.params else {
                    unreachable!("the line kernel with {:?}", self.params)
                };
                return line_traffic(n as usize, io, product.is_some(), p);
            }
            Kernel::Chirp | Kernel::Pad | Kernel::Gather => 2 * ELEM,
            Kernel::Spectrum(_) => 3 * ELEM,
            // Two f32 in (or one), one complex out.
            Kernel::Pack { paired } => ELEM + if paired { ELEM } else { ELEM / 2 },
            // The row spectra with input in, both half spectra of every row it covers out.
            Kernel::Split => {
                let Params::Real(p) = &self.params else {
                    unreachable!("split with {:?}", self.params)
                };
                let (read, written) = (p.src_rows * p.src_cols, 2 * p.rows * p.cols);
                return (read + written) as u64 * ELEM;
            }
            Kernel::Merge => 3 * ELEM,
            Kernel::Unpack { .. } => ELEM + ELEM / 2,
            _ => return 0,
        };
        self.threads * per_thread
    }
}

/// A bound dispatch, ready to record.
pub(crate) struct Dispatch {
    pipeline: Arc<wgpu::ComputePipeline>,
    bind_group: wgpu::BindGroup,
    groups: [u32; 2],
}

/// Where a step's parameters live in the uniform buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    offset: u64,
    groups: [u32; 2],
}

/// The parameters of every step of a plan in one uniform buffer, each at an offset aligned
/// as the device requires. Written once, when the plan is built.
pub(crate) struct Uniforms {
    buffer: wgpu::Buffer,
    /// The plan's name, in front of its bind groups' labels.
    label: &'static str,
}

impl Uniforms {
    /// Check every step's dispatch size, then create and fill the buffer; the slots come
    /// back in the order of `steps`. `label` names the plan in its objects' labels.
    pub(crate) fn new(
        ctx: &GpuContext,
        label: &'static str,
        steps: &[&Step],
    ) -> Result<(Uniforms, Vec<Slot>)> {
        let align = (ctx.limits().min_uniform_buffer_offset_alignment as u64).max(PARAM_BYTES);
        let mut slots = Vec::with_capacity(steps.len());
        for (i, s) in steps.iter().enumerate() {
            slots.push(Slot {
                offset: i as u64 * align,
                groups: groups_for(ctx, s.threads, s.kernel)?,
            });
        }
        let size = (steps.len().max(1) as u64) * align;
        check_buffer(ctx, size, false)?;
        let buffer = ctx.create_buffer(
            &format!("{label} params"),
            size,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        let mut bytes = vec![0u8; size as usize];
        for (s, slot) in steps.iter().zip(&slots) {
            assert_eq!(
                s.params.module(),
                s.kernel.entry().0,
                "{:?} given another module's parameters",
                s.kernel
            );
            let params = s.params.bytes();
            let at = slot.offset as usize;
            bytes[at..at + params.len()].copy_from_slice(params);
        }
        ctx.queue().write_buffer(&buffer, 0, &bytes);
        Ok((Uniforms { buffer, label }, slots))
    }

    /// Overwrite the parameters in `slot` (for values that change per run); the write lands
    /// before the next submitted command buffer runs.
    pub(crate) fn write(&self, ctx: &GpuContext, slot: Slot, params: Params) {
        ctx.queue()
            .write_buffer(&self.buffer, slot.offset, params.bytes());
    }

    /// Bind `step` to the plan's buffers, `resolve` naming the buffer each [`Buf`] is.
    pub(crate) fn bind_step<'b>(
        &self,
        ctx: &GpuContext,
        step: &Step,
        slot: Slot,
        resolve: impl Fn(Buf) -> &'b wgpu::Buffer,
    ) -> Dispatch {
        let (layout, bufs) = step
            .bufs
            .in_binding_order()
            .expect("steps with buffers of the plan's own are bound by `bind`");
        // Same-length layouts (src → dst, data in place) would bind without complaint.
        assert_eq!(
            layout,
            step.kernel.layout(),
            "{:?} bound as {layout:?}",
            step.kernel
        );
        // An FFT pass with one buffer for both must be the kernel that reads `dst`.
        if let Bufs::FftPass { src, dst, .. } = step.bufs {
            assert_eq!(
                src == dst,
                step.kernel.in_place(),
                "{:?} bound as {:?}",
                step.kernel,
                step.bufs
            );
        }
        let buffers: Vec<_> = bufs.into_iter().map(|b| whole(resolve(b))).collect();
        self.bind(ctx, step.kernel, slot, &buffers)
    }

    /// Bind `step` to concrete buffers (in its binding order) and its parameter slot.
    pub(crate) fn bind(
        &self,
        ctx: &GpuContext,
        kernel: Kernel,
        slot: Slot,
        buffers: &[wgpu::BufferBinding<'_>],
    ) -> Dispatch {
        let pipelines = &ctx.inner.pipelines;
        let layout = kernel.layout();
        debug_assert_eq!(buffers.len(), layout.storage().len(), "{kernel:?}");
        let mut entries: Vec<wgpu::BindGroupEntry<'_>> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: wgpu::BindingResource::Buffer(b.clone()),
            })
            .collect();
        entries.push(wgpu::BindGroupEntry {
            binding: buffers.len() as u32,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &self.buffer,
                offset: slot.offset,
                size: wgpu::BufferSize::new(PARAM_BYTES),
            }),
        });
        let bind_group = ctx.device().create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(&format!("{}: {}", self.label, kernel.label())),
            layout: pipelines.bind_group_layout(layout),
            entries: &entries,
        });
        Dispatch {
            pipeline: pipelines.get(ctx.device(), kernel),
            bind_group,
            groups: slot.groups,
        }
    }
}

/// Begin a compute pass named `label`, so that captures and validation errors name it.
pub(crate) fn begin_pass<'e>(
    encoder: &'e mut wgpu::CommandEncoder,
    label: &str,
) -> wgpu::ComputePass<'e> {
    encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(label),
        timestamp_writes: None,
    })
}

/// Record dispatches in order. One compute pass holds them all: wgpu makes every dispatch
/// its own usage scope, so each one sees the writes of the one before.
pub(crate) fn record<'a>(
    pass: &mut wgpu::ComputePass<'_>,
    dispatches: impl IntoIterator<Item = &'a Dispatch>,
) {
    for d in dispatches {
        pass.set_pipeline(&d.pipeline);
        pass.set_bind_group(0, &d.bind_group, &[]);
        pass.dispatch_workgroups(d.groups[0], d.groups[1], 1);
    }
}

/// Workgroups of `kernel` for `threads` invocations: along x up to the per-dimension limit,
/// the rest along y (the kernels rebuild a linear index from both).
fn groups_for(ctx: &GpuContext, threads: u64, kernel: Kernel) -> Result<[u32; 2]> {
    let wg = kernel.workgroup_size(ctx.inner.pipelines.workgroup_size) as u64;
    let max = ctx.limits().max_compute_workgroups_per_dimension as u64;
    let groups = threads.div_ceil(wg).max(1);
    if groups <= max {
        return Ok([groups as u32, 1]);
    }
    let y = groups.div_ceil(max);
    if y > max {
        return Err(Error::DeviceLimit {
            limit: "max_compute_workgroups_per_dimension".into(),
            needed: y,
            allowed: max,
        });
    }
    Ok([max as u32, y as u32])
}

/// Refuse a buffer the device cannot hold (or bind as storage), naming the limit.
pub(crate) fn check_buffer(ctx: &GpuContext, bytes: u64, storage: bool) -> Result<()> {
    let limits = ctx.limits();
    if bytes > limits.max_buffer_size {
        return Err(Error::DeviceLimit {
            limit: "max_buffer_size".into(),
            needed: bytes,
            allowed: limits.max_buffer_size,
        });
    }
    if storage && bytes > limits.max_storage_buffer_binding_size {
        return Err(Error::DeviceLimit {
            limit: "max_storage_buffer_binding_size".into(),
            needed: bytes,
            allowed: limits.max_storage_buffer_binding_size,
        });
    }
    // The kernels index with u32 (WGSL has no 64-bit integers by default).
    let elements = bytes / ELEM;
    if elements > u32::MAX as u64 {
        return Err(Error::DeviceLimit {
            limit: "u32 element index".into(),
            needed: elements,
            allowed: u32::MAX as u64,
        });
    }
    Ok(())
}

/// A binding of the whole of `buffer`.
pub(crate) fn whole(buffer: &wgpu::Buffer) -> wgpu::BufferBinding<'_> {
    buffer.as_entire_buffer_binding()
}

/// A storage buffer binding of the first `bytes` of `buffer`.
pub(crate) fn binding(buffer: &wgpu::Buffer, bytes: u64) -> wgpu::BufferBinding<'_> {
    wgpu::BufferBinding {
        buffer,
        offset: 0,
        size: wgpu::BufferSize::new(bytes),
    }
}

/// The bytes of complex f32 data as the device stores them (re, im interleaved).
pub(crate) fn complex_bytes(data: &[Complex<f32>]) -> &[u8] {
    // SAFETY: `Complex<f32>` is `#[repr(C)]` with two f32 fields and no padding, so the slice
    // is `2 * len` valid f32 values; every byte of an f32 is initialised.
    unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<u8>(), std::mem::size_of_val(data)) }
}

/// Map `staging` (MAP_READ) and copy it out as complex f32.
pub(crate) async fn read_back(
    ctx: &GpuContext,
    staging: &wgpu::Buffer,
) -> Result<Vec<Complex<f32>>> {
    let pairs: Vec<[f32; 2]> = read_back_as(ctx, staging).await?;
    Ok(pairs
        .into_iter()
        .map(|[re, im]| Complex::new(re, im))
        .collect())
}

/// Map `staging` (MAP_READ) and copy it out as `T`s. The map completes when the queue has
/// finished the work before it, so this waits (`poll`) for the GPU on native; the oneshot
/// channel carries the callback's verdict back into the async caller.
pub(crate) async fn read_back_as<T: bytemuck::Pod>(
    ctx: &GpuContext,
    staging: &wgpu::Buffer,
) -> Result<Vec<T>> {
    read_back_after(ctx, staging, None).await
}

/// [`read_back_as`] of a buffer filled by `submission`: the wait ends when that submission
/// is done, even if later ones (the next frame, submitted before this one is collected)
/// are still running. `None` waits for everything submitted so far.
pub(crate) async fn read_back_after<T: bytemuck::Pod>(
    ctx: &GpuContext,
    staging: &wgpu::Buffer,
    submission: Option<wgpu::SubmissionIndex>,
) -> Result<Vec<T>> {
    let slice = staging.slice(..);
    let (sender, receiver) = futures_intrusive::channel::shared::oneshot_channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = sender.send(r);
    });
    // Unmaps when this future ends, however it ends: dropped while the map is pending (a
    // blocking call in a browser gives up after one poll), that cancels the map, so the
    // plan's next run can map the buffer again.
    let mut mapped = UnmapOnDrop(Some(staging));
    ctx.device()
        .poll(wgpu::PollType::Wait {
            submission_index: submission,
            timeout: None,
        })
        .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))?;
    match receiver.receive().await {
        Some(Ok(())) => {}
        Some(Err(e)) => {
            mapped.0 = None; // never mapped
            return Err(Error::Gpu(format!("reading results back: {e}")));
        }
        None => {
            return Err(Error::Gpu(
                "reading results back: map callback dropped".into(),
            ))
        }
    }
    ctx.check_reported("reading results back")?;
    let view = slice
        .get_mapped_range()
        .map_err(|e| Error::Gpu(format!("reading results back: {e}")))?;
    // The mapped bytes need not be aligned for T: copy out bytewise.
    let len = view.len() / std::mem::size_of::<T>();
    let mut out = vec![T::zeroed(); len];
    bytemuck::cast_slice_mut::<T, u8>(&mut out)
        .copy_from_slice(&view[..len * std::mem::size_of::<T>()]);
    Ok(out)
}

/// Unmaps its buffer when dropped (after the mapped view, declared later, is gone).
struct UnmapOnDrop<'a>(Option<&'a wgpu::Buffer>);

impl Drop for UnmapOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(buffer) = self.0 {
            buffer.unmap();
        }
    }
}
