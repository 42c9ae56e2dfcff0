//! The device: our own (adapter request) or the caller's, plus what every plan shares.

use super::pipelines::PipelineCache;
use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// A wgpu device and queue with the pipeline cache built on them. Cheap to clone (an `Arc`).
///
/// ```no_run
/// let ctx = xcorr::gpu::GpuContext::new()?;
/// println!("running on {}", ctx.describe());
/// # Ok::<(), xcorr::Error>(())
/// ```
#[derive(Clone)]
pub struct GpuContext {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) info: wgpu::AdapterInfo,
    pub(crate) limits: wgpu::Limits,
    pub(crate) pipelines: PipelineCache,
    buffers_created: AtomicU64,
    bytes_created: AtomicU64,
    workgroup_fft: AtomicBool,
    /// The first device error WebGPU reported since it was last taken (wasm32 only: there
    /// error scopes resolve as promises, which a synchronous [`GpuContext::scoped`] cannot
    /// wait for, so errors arrive through the device's uncaptured-error handler instead).
    #[cfg(target_arch = "wasm32")]
    reported: Arc<std::sync::Mutex<Option<String>>>,
}

/// How many buffers (and bytes) this context has created so far; a plan that is running
/// should not move these numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferStats {
    /// Buffers created.
    pub buffers: u64,
    /// Their total size in bytes.
    pub bytes: u64,
}

impl GpuContext {
    /// Request an adapter (high performance preferred) and a device with the adapter's own
    /// limits, blocking. `WGPU_BACKEND` and the other wgpu environment variables apply. In a
    /// browser, which cannot block, use [`GpuContext::new_async`].
    pub fn new() -> Result<Self> {
        crate::blocking::wait(Self::new_async())
    }

    /// [`GpuContext::new`] without blocking.
    pub async fn new_async() -> Result<Self> {
        // A bad setting is reported even where no adapter would be found.
        workgroup_fft_override()?;
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::BackendUnavailable(format!("no GPU adapter found: {e}")))?;
        // The adapter's own limits are never worse than wgpu's defaults where the hardware
        // can do better (bigger buffers and bindings, more workgroups), so ask for all of them.
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("xcorr"),
                required_limits: adapter.limits(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::BackendUnavailable(format!("GPU device request failed: {e}")))?;
        let ctx = Self::from_device(device, queue)?;
        // Our own device, so its uncaptured errors are ours to collect (a caller's device
        // keeps the caller's handler).
        #[cfg(target_arch = "wasm32")]
        {
            let reported = Arc::clone(&ctx.inner.reported);
            ctx.inner
                .device
                .on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
                    let mut slot = reported.lock().unwrap_or_else(|p| p.into_inner());
                    slot.get_or_insert_with(|| e.to_string());
                }));
        }
        Ok(ctx)
    }

    /// Adopt a device and queue the caller created (a render app's, say). Plans respect the
    /// limits that device was created with.
    pub fn from_device(device: wgpu::Device, queue: wgpu::Queue) -> Result<Self> {
        let info = device.adapter_info();
        let limits = device.limits();
        let pipelines = PipelineCache::new(&device, &limits)?;
        let workgroup_fft = default_workgroup_fft(&info)?;
        Ok(GpuContext {
            inner: Arc::new(Inner {
                device,
                queue,
                info,
                limits,
                pipelines,
                buffers_created: AtomicU64::new(0),
                bytes_created: AtomicU64::new(0),
                workgroup_fft: AtomicBool::new(workgroup_fft),
                #[cfg(target_arch = "wasm32")]
                reported: Arc::default(),
            }),
        })
    }

    /// One line: adapter name and backend, e.g. `llvmpipe (LLVM 15.0.6, 256 bits) via Vulkan`.
    pub fn describe(&self) -> String {
        format!(
            "{} via {}",
            self.inner.info.name,
            backend_name(self.inner.info.backend)
        )
    }

    /// Whether plans built from now on transform power-of-two lines (rows and columns) that
    /// fit the device's workgroup memory (up to 4096 points with 32 KiB of it) in one
    /// dispatch each, points in registers and workgroup memory between stages
    /// (`shaders/stockham_shared.wgsl`), instead of one dispatch per pass through device
    /// memory. Other lengths always take one dispatch per pass.
    ///
    /// On by default on every adapter but a browser's fallback adapter: on lavapipe it takes
    /// about half the time of the per-pass kernels (BENCHMARKS.md, session 8); Chromium's
    /// SwiftShader takes about 10 s to build each of its pipelines (session 11).
    /// `XCORR_WORKGROUP_FFT=on`, `off` or `auto` sets the default. Results agree either way
    /// to within rounding.
    pub fn set_workgroup_fft(&self, on: bool) {
        self.inner.workgroup_fft.store(on, Ordering::Relaxed);
    }

    /// See [`set_workgroup_fft`](Self::set_workgroup_fft).
    pub fn workgroup_fft(&self) -> bool {
        self.inner.workgroup_fft.load(Ordering::Relaxed)
    }

    /// The device the plans run on (the caller's own, when adopted).
    pub fn device(&self) -> &wgpu::Device {
        &self.inner.device
    }

    /// The queue work is submitted on.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.inner.queue
    }

    /// The adapter's name, backend and type (`DeviceType::Cpu` for software adapters).
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.inner.info
    }

    /// The limits of the device (what plans are checked against).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.inner.limits
    }

    /// The limits that decide which jobs fit, as one line.
    pub fn describe_limits(&self) -> String {
        describe_limits(&self.inner.limits)
    }

    /// Buffers created through this context so far.
    pub fn buffer_stats(&self) -> BufferStats {
        BufferStats {
            buffers: self.inner.buffers_created.load(Ordering::Relaxed),
            bytes: self.inner.bytes_created.load(Ordering::Relaxed),
        }
    }

    /// Every buffer of the crate is made here, so that [`GpuContext::buffer_stats`] counts it.
    pub(crate) fn create_buffer(
        &self,
        label: &str,
        size: u64,
        usage: wgpu::BufferUsages,
    ) -> wgpu::Buffer {
        self.inner.buffers_created.fetch_add(1, Ordering::Relaxed);
        self.inner.bytes_created.fetch_add(size, Ordering::Relaxed);
        self.inner.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage,
            mapped_at_creation: false,
        })
    }

    /// Record `f` into a fresh command encoder and submit it, inside [`scoped`](Self::scoped)
    /// error scopes; returns once the work is submitted.
    pub(crate) fn submit(
        &self,
        what: &str,
        f: impl FnOnce(&mut wgpu::CommandEncoder) -> Result<()>,
    ) -> Result<()> {
        self.submit_indexed(what, f).map(drop)
    }

    /// [`submit`](Self::submit), returning the submission's index: a reader that collects
    /// it later waits for this submission only, not for the ones queued after it.
    pub(crate) fn submit_indexed(
        &self,
        what: &str,
        f: impl FnOnce(&mut wgpu::CommandEncoder) -> Result<()>,
    ) -> Result<wgpu::SubmissionIndex> {
        self.scoped(what, || {
            let mut encoder = self
                .inner
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(what) });
            f(&mut encoder)?;
            Ok(self.inner.queue.submit([encoder.finish()]))
        })
    }

    /// Run `f` inside validation and out-of-memory error scopes, turning what they catch
    /// into [`Error::Gpu`] instead of wgpu's default (a panic).
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn scoped<T>(&self, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let device = &self.inner.device;
        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let result = f();
        // wgpu-core reports errors as they happen, so these futures are already resolved.
        let validation = pollster::block_on(validation.pop());
        let oom = pollster::block_on(oom.pop());
        if let Some(e) = validation.or(oom) {
            return Err(Error::Gpu(format!("{what}: {e}")));
        }
        result
    }

    /// Run `f`, then report any device error WebGPU has delivered so far. WebGPU reports
    /// asynchronously, so an error `f` caused may only surface at the next
    /// [`check_reported`](Self::check_reported), which every readback calls.
    #[cfg(target_arch = "wasm32")]
    pub(crate) fn scoped<T>(&self, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let result = f();
        self.check_reported(what)?;
        result
    }

    /// The device error WebGPU reported since the last check, as [`Error::Gpu`]. Always
    /// `Ok` on native targets, where [`scoped`](Self::scoped) catches errors as they happen.
    pub(crate) fn check_reported(&self, what: &str) -> Result<()> {
        #[cfg(target_arch = "wasm32")]
        {
            let mut slot = self
                .inner
                .reported
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some(e) = slot.take() {
                return Err(Error::Gpu(format!("{what}: {e}")));
            }
        }
        let _ = what;
        Ok(())
    }
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.describe())
            .finish()
    }
}

fn backend_name(b: wgpu::Backend) -> &'static str {
    match b {
        wgpu::Backend::Vulkan => "Vulkan",
        wgpu::Backend::Metal => "Metal",
        wgpu::Backend::Dx12 => "DX12",
        wgpu::Backend::Gl => "OpenGL",
        wgpu::Backend::BrowserWebGpu => "WebGPU",
        _ => "no-op backend",
    }
}

fn describe_limits(l: &wgpu::Limits) -> String {
    format!(
        "max buffer {}, max storage binding {}, {} workgroups per dimension, {} invocations per \
         workgroup",
        bytes(l.max_buffer_size),
        bytes(l.max_storage_buffer_binding_size),
        l.max_compute_workgroups_per_dimension,
        l.max_compute_invocations_per_workgroup
    )
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if v.fract() == 0.0 {
        format!("{v} {}", UNITS[unit])
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Every adapter wgpu can see, one line each: name, backend, device type and the limits
/// that decide which jobs fit. Empty when there is none, and in a browser, which answers
/// only asynchronously (see [`list_adapters_async`]).
pub fn list_adapters() -> Vec<String> {
    crate::blocking::wait(async { Ok(list_adapters_async().await) }).unwrap_or_default()
}

/// [`list_adapters`] as a future.
pub async fn list_adapters_async() -> Vec<String> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapters = instance.enumerate_adapters(wgpu::Backends::all()).await;
    adapters
        .iter()
        .map(|a| {
            let info = a.get_info();
            format!(
                "{} via {} ({:?}): {}",
                info.name,
                backend_name(info.backend),
                info.device_type,
                describe_limits(&a.limits())
            )
        })
        .collect()
}

/// The workgroup FFT's default: `XCORR_WORKGROUP_FFT` if set, else on, except on a
/// browser's fallback adapter (SwiftShader in Chromium), whose shader compiler takes about
/// 10 s to build each line-kernel pipeline with an exchange through workgroup memory
/// (0.2 s for the per-pass kernels), and whose per-pass kernels then also run faster
/// (BENCHMARKS.md, session 11). Lavapipe, also a CPU adapter, keeps them: it runs them in
/// about half the per-pass kernels' time (session 8) and shows no such build times.
fn default_workgroup_fft(info: &wgpu::AdapterInfo) -> Result<bool> {
    let browser_fallback =
        info.backend == wgpu::Backend::BrowserWebGpu && info.device_type == wgpu::DeviceType::Cpu;
    Ok(workgroup_fft_override()?.unwrap_or(!browser_fallback))
}

/// `XCORR_WORKGROUP_FFT`: `Some(on)` when set to on or off, `None` when unset or auto.
fn workgroup_fft_override() -> Result<Option<bool>> {
    match std::env::var("XCORR_WORKGROUP_FFT") {
        Err(std::env::VarError::NotPresent) => Ok(None),
        Ok(v) => match v.as_str() {
            "on" | "1" => Ok(Some(true)),
            "off" | "0" => Ok(Some(false)),
            "auto" | "" => Ok(None),
            other => Err(Error::InvalidArgument(format!(
                "XCORR_WORKGROUP_FFT is {other:?}: it must be on, off or auto"
            ))),
        },
        Err(e) => Err(Error::InvalidArgument(format!("XCORR_WORKGROUP_FFT: {e}"))),
    }
}
