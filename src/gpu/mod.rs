//! The GPU backend: WGSL compute shaders through wgpu, on any adapter wgpu reaches (Vulkan,
//! Metal, DX12, GL; Mesa's software Vulkan driver, lavapipe, without a GPU).
//!
//! * [`GpuContext`] owns (or adopts) a device and queue and the pipeline cache.
//! * [`CorrelationPlan`] is one correlation or convolution, built once for a
//!   [`spec::Plan`](crate::spec::Plan): its template's spectrum stays on the device and
//!   every run only uploads, dispatches and reads back; [`CorrelationPlan::encode`] records
//!   the work into the caller's command encoder on the caller's buffers instead.
//! * [`compute`] is the one-shot call.
//! * Template matching and registration have device plans of their own (window sums and
//!   scores in `shaders/window.wgsl`, peak searches in `shaders/reduce.wgsl`, the upsampled
//!   DFT in `shaders/dft.wgsl`), reached through [`crate::matching`] and
//!   [`crate::registration`] with a GPU [`crate::Engine`].
//!
//! Every kernel's parameters are a typed struct (`params.rs`), one per WGSL `struct Params`,
//! checked against the shaders by a test; a plan writes them all into one uniform buffer.
//!
//! Data is complex f32 on the device; real plans pair real rows into complex ones and keep
//! half spectra (`shaders/real.wgsl`). Transforms are radix-4 Stockham passes
//! (`shaders/stockham.wgsl`) with host-computed f64 twiddles, or whole rows in workgroup
//! memory (`shaders/stockham_shared.wgsl`); linear modes pad to powers of two, circular mode
//! at other sizes uses Bluestein's chirp-z transform on the same passes.
//! Output element `i` along an axis is read from circular index `(first + i) mod L` of the
//! inverse transform (`shaders/shift.wgsl`), with `first` from [`crate::spec`].

mod context;
mod correlate;
mod fft;
mod match_plan;
mod params;
mod peak_search;
mod phase_plan;
mod pipelines;
mod program;

pub use context::{list_adapters, list_adapters_async, BufferStats, GpuContext};
pub use correlate::{compute, CorrelationPlan};
pub use fft::{fft_forward, FftPlan};
pub(crate) use match_plan::{Collected, MatchPlan, Readback, Submitted};
pub use peak_search::{find_peaks, find_peaks_async};
pub(crate) use peak_search::{PeakRecord, SearchShape};
pub(crate) use phase_plan::PhasePlan;

impl GpuContext {
    /// How many compute pipelines have been compiled on this context's device (each kernel
    /// and constant set once).
    pub fn pipeline_count(&self) -> usize {
        self.inner.pipelines.len()
    }

    /// Compile every WGSL module xcorr ships on this device and return their file names, or
    /// the compiler's complaint (for tests: in a browser the compiler is its own, not naga).
    #[doc(hidden)]
    pub async fn compile_every_module(&self) -> crate::Result<Vec<&'static str>> {
        let files = pipelines::compile_every_module(&self.inner.device).await?;
        self.check_reported("compiling the shaders")?;
        Ok(files)
    }
}
