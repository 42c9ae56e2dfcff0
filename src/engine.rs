//! [`Engine`]: picks the GPU or the CPU backend and offers the simple blocking calls.

#[cfg(feature = "gpu")]
use crate::array::Real;
use crate::array::{Array, ArrayView, Element, Shape};
use crate::cpu::CpuPlan;
#[cfg(feature = "gpu")]
use crate::device::{DeviceFuture, DeviceResult, DeviceTicket, FrameTerms, Wanted};
use crate::device::{MatchDevice, PhaseDevice, TemplateTerms};
use crate::error::{Error, Result};
#[cfg(feature = "gpu")]
use crate::gpu::{
    Collected, CorrelationPlan, GpuContext, MatchPlan, PeakRecord, PhasePlan, Readback,
    SearchShape, Submitted,
};
use crate::plan_cache::PlanCache;
use crate::range;
use crate::spec::{Mode, Op, Pair, Plan};
#[cfg(feature = "gpu")]
use crate::vision::peaks::{Extremum, Peak, PeakOptions};
use num_complex::Complex;
use std::fmt;
use std::str::FromStr;
#[cfg(feature = "gpu")]
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What [`Engine::settle`] is given: a GPU context, or (without the `gpu` feature) nothing.
#[cfg(feature = "gpu")]
type GpuRequest = GpuContext;
#[cfg(not(feature = "gpu"))]
type GpuRequest = std::convert::Infallible;

/// Which backend an [`Engine`] should use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Backend {
    /// A hardware GPU when one exists, else the CPU. A software adapter (lavapipe,
    /// SwiftShader, WARP: `wgpu::DeviceType::Cpu`) is never chosen: the CPU backend runs many
    /// times faster than a rasteriser emulating a GPU on the same cores.
    #[default]
    Auto,
    /// The CPU backend (rustfft/realfft on every core), f32 and f64.
    Cpu,
    /// Whatever GPU adapter exists, software ones included (that is how tests run without a
    /// GPU); an error when there is none.
    Gpu,
}

impl FromStr for Backend {
    type Err = Error;
    fn from_str(s: &str) -> Result<Backend> {
        match s {
            "auto" => Ok(Backend::Auto),
            "cpu" => Ok(Backend::Cpu),
            "gpu" => Ok(Backend::Gpu),
            _ => Err(Error::InvalidArgument(format!(
                "unknown backend '{s}' (expected auto, cpu or gpu)"
            ))),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Auto => "auto",
            Backend::Cpu => "cpu",
            Backend::Gpu => "gpu",
        })
    }
}

/// How an [`Engine`] on a GPU treats float64 work (the GPU computes in float32; float32 work
/// runs there whatever the setting, and a CPU engine computes each type in its own
/// precision).
///
/// ```
/// use xcorr::{Array, Backend, Engine, Mode, Precision};
/// let a = Array::from_vec(vec![1.0f64, 2.0, 3.0]);
/// let b = Array::from_vec(vec![1.0f64, 1.0]);
/// // Single precision is fine here: on a GPU engine the f64 inputs run there in f32, and the
/// // result comes back as f64.
/// let engine = Engine::new().with_precision(Precision::Single);
/// let out: Array<f64> = engine.correlate(&a, &b, Mode::Valid).unwrap();
/// assert!((out.data()[0] - 3.0).abs() < 1e-5);
/// assert_eq!("double".parse::<Precision>().unwrap(), Precision::Double);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Precision {
    /// Today's rule: an [`Backend::Auto`] engine sends f64 work to the CPU, an explicit GPU
    /// engine refuses it (naming [`Precision::Single`]).
    #[default]
    Auto,
    /// f64 work is computed on the GPU in f32 (inputs converted once on the way in, the
    /// result once on the way out, still returned as f64: about 1e-6 relative error instead
    /// of 1e-15).
    Single,
    /// f64 work is computed in f64: on the CPU (xcorr has no f64 GPU kernels), so an
    /// explicit GPU engine refuses it. Today the same as `Auto`; `Auto` is the setting that
    /// may one day pick f64 GPU kernels where an adapter has them.
    Double,
}

impl FromStr for Precision {
    type Err = Error;
    fn from_str(s: &str) -> Result<Precision> {
        match s {
            "auto" => Ok(Precision::Auto),
            "single" => Ok(Precision::Single),
            "double" => Ok(Precision::Double),
            _ => Err(Error::InvalidArgument(format!(
                "unknown precision '{s}' (expected auto, single or double)"
            ))),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::Auto => "auto",
            Precision::Single => "single",
            Precision::Double => "double",
        })
    }
}

/// The backend an engine actually runs on.
#[derive(Clone)]
enum Active {
    Cpu,
    #[cfg(feature = "gpu")]
    Gpu(GpuContext),
}

/// Correlation and convolution with blocking calls.
///
/// ```
/// use xcorr::{Array, Engine, Mode, Shape};
/// let engine = Engine::cpu();
/// let image = Array::from_fn(Shape::d2(5, 6), |r, c| ((r * 7 + c * 3) % 5) as f32);
/// let template = Array::new(vec![1.0f32, 0.0, 0.0, 2.0], Shape::d2(2, 2)).unwrap();
/// let out = engine.correlate(&image, &template, Mode::Same).unwrap();
/// assert_eq!(out.shape(), image.shape());
/// ```
#[derive(Clone)]
pub struct Engine {
    active: Active,
    /// `Auto` engines hand f64 work to the CPU; an explicit GPU engine refuses it.
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    requested: Backend,
    /// Why an `Auto` engine runs on the CPU, when it does.
    why: Option<String>,
    /// Where f64 work runs on a GPU engine.
    precision: Precision,
    plans: PlanCache,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("backend", &self.backend_name())
            .field("requested", &self.requested)
            .field("precision", &self.precision)
            .finish()
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    /// The engine's cache of built plans, shared with its clones.
    pub(crate) fn plan_cache(&self) -> &PlanCache {
        &self.plans
    }

    /// A hardware GPU when one exists, else the CPU (logged; see [`Backend::Auto`]).
    pub fn new() -> Engine {
        Engine::with_backend(Backend::Auto).expect("auto always finds the CPU")
    }

    /// The CPU backend.
    pub fn cpu() -> Engine {
        Engine {
            active: Active::Cpu,
            requested: Backend::Cpu,
            why: None,
            precision: Precision::Auto,
            plans: PlanCache::default(),
        }
    }

    /// A specific backend; `Gpu` without an adapter (or without the `gpu` feature) is an error.
    ///
    /// In a browser this cannot wait for WebGPU's adapter: `Auto` gives the CPU there (the
    /// reason names [`Engine::with_backend_async`]), and `Gpu` is an error.
    pub fn with_backend(backend: Backend) -> Result<Engine> {
        #[cfg(feature = "gpu")]
        let gpu = (backend != Backend::Cpu).then(GpuContext::new);
        #[cfg(not(feature = "gpu"))]
        let gpu = None;
        Engine::settle(backend, gpu)
    }

    /// [`Engine::new`] without blocking: the adapter request is awaited (the way to get the
    /// GPU in a browser).
    pub async fn new_async() -> Engine {
        Engine::with_backend_async(Backend::Auto)
            .await
            .expect("auto always finds the CPU")
    }

    /// [`Engine::with_backend`] without blocking.
    pub async fn with_backend_async(backend: Backend) -> Result<Engine> {
        #[cfg(feature = "gpu")]
        let gpu = if backend == Backend::Cpu {
            None
        } else {
            Some(GpuContext::new_async().await)
        };
        #[cfg(not(feature = "gpu"))]
        let gpu = None;
        Engine::settle(backend, gpu)
    }

    /// The engine for `backend`, given the outcome of the GPU context request (`None`: none
    /// was made, because the CPU was asked for or the build has no GPU backend).
    fn settle(backend: Backend, gpu: Option<Result<GpuRequest>>) -> Result<Engine> {
        match (backend, gpu) {
            (Backend::Cpu, _) => Ok(Engine::cpu()),
            #[cfg(feature = "gpu")]
            (Backend::Auto, Some(request)) => match request {
                Ok(ctx) if ctx.adapter_info().device_type == wgpu::DeviceType::Cpu => {
                    let why = format!(
                        "the GPU adapter is a software one ({}), slower than the CPU backend; \
                         using the CPU (--backend gpu or Backend::Gpu takes it anyway)",
                        ctx.describe()
                    );
                    log::info!("xcorr: {why}");
                    Ok(Engine {
                        requested: Backend::Auto,
                        why: Some(why),
                        ..Engine::cpu()
                    })
                }
                Ok(ctx) => {
                    log::info!("xcorr: using the GPU: {}", ctx.describe());
                    Ok(Engine::from_gpu(ctx, Backend::Auto))
                }
                // A bad setting is the caller's to fix, not a reason to fall back quietly.
                Err(e @ Error::InvalidArgument(_)) => Err(e),
                Err(e) => {
                    let why = format!("{e}; using the CPU");
                    log::info!("xcorr: {why}");
                    Ok(Engine {
                        requested: Backend::Auto,
                        why: Some(why),
                        ..Engine::cpu()
                    })
                }
            },
            #[cfg(feature = "gpu")]
            (Backend::Gpu, Some(request)) => Ok(Engine::from_gpu(request?, Backend::Gpu)),
            (Backend::Auto, _) => {
                let why = "built without the GPU backend; using the CPU".to_string();
                log::info!("xcorr: {why}");
                Ok(Engine {
                    requested: Backend::Auto,
                    why: Some(why),
                    ..Engine::cpu()
                })
            }
            (Backend::Gpu, _) => Err(Error::BackendUnavailable(
                "the GPU backend is not available in this build (built without feature `gpu`)"
                    .into(),
            )),
        }
    }

    /// An engine on a GPU context the caller made, e.g. from its own `wgpu::Device` and
    /// `Queue` through [`GpuContext::from_device`].
    #[cfg(feature = "gpu")]
    pub fn with_gpu_context(ctx: GpuContext) -> Engine {
        Engine::from_gpu(ctx, Backend::Gpu)
    }

    #[cfg(feature = "gpu")]
    fn from_gpu(ctx: GpuContext, requested: Backend) -> Engine {
        Engine {
            active: Active::Gpu(ctx),
            requested,
            why: None,
            precision: Precision::Auto,
            plans: PlanCache::default(),
        }
    }

    /// The GPU context this engine runs on, if it runs on one.
    #[cfg(feature = "gpu")]
    pub fn gpu_context(&self) -> Option<&GpuContext> {
        match &self.active {
            Active::Gpu(ctx) => Some(ctx),
            Active::Cpu => None,
        }
    }

    /// What this engine runs on, e.g. `"cpu (2 threads)"` or `"gpu: llvmpipe via Vulkan"`.
    pub fn backend_name(&self) -> String {
        match &self.active {
            Active::Cpu => format!("cpu ({} threads)", rayon::current_num_threads()),
            #[cfg(feature = "gpu")]
            Active::Gpu(ctx) => format!("gpu: {}", ctx.describe()),
        }
    }

    /// Why an [`Backend::Auto`] engine chose the CPU (no adapter, a software adapter, or a
    /// build without the GPU backend); `None` for engines that run where they were asked to.
    pub fn fallback_reason(&self) -> Option<&str> {
        self.why.as_deref()
    }

    /// This engine with float64 work computed as `precision` says (see [`Precision`]).
    pub fn with_precision(mut self, precision: Precision) -> Engine {
        self.precision = precision;
        self
    }

    /// How this engine computes float64 work on a GPU.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Whether work on element type `T` runs on the GPU (f32 work on a GPU engine, and f64
    /// work too with [`Precision::Single`]); `false` where it runs on the CPU. An explicit
    /// GPU engine that refuses `T` answers `false`.
    pub fn runs_on_gpu<T: Element>(&self) -> bool {
        #[cfg(feature = "gpu")]
        return matches!(self.route::<T>(), Ok(Route::Gpu(_)));
        #[cfg(not(feature = "gpu"))]
        false
    }

    /// `"cpu"` or `"gpu"`: the short name benchmarks and JSON output use.
    pub fn backend_label(&self) -> &'static str {
        match &self.active {
            Active::Cpu => "cpu",
            #[cfg(feature = "gpu")]
            Active::Gpu(_) => "gpu",
        }
    }

    /// Whether this engine runs on the CPU.
    pub fn is_cpu(&self) -> bool {
        matches!(self.active, Active::Cpu)
    }

    /// One line per backend this build and machine offer, for `xcorr info`.
    pub fn available_backends() -> Vec<String> {
        let mut lines = vec![format!(
            "cpu: rustfft/realfft, f32 and f64, {} threads",
            rayon::current_num_threads()
        )];
        #[cfg(feature = "gpu")]
        {
            let adapters = crate::gpu::list_adapters();
            if adapters.is_empty() {
                lines.push(
                    "gpu: no adapter found (install a Vulkan driver, e.g. mesa-vulkan-drivers)"
                        .into(),
                );
            }
            lines.extend(adapters.into_iter().map(|a| format!("gpu: {a}")));
        }
        #[cfg(not(feature = "gpu"))]
        lines.push("gpu: not in this build (feature `gpu` off)".into());
        lines
    }

    /// Where work on element type `T` runs: the GPU computes in f32, so f64 work goes to the
    /// GPU only with [`Precision::Single`]; otherwise to the CPU on an `Auto` engine, and an
    /// explicit GPU engine refuses it.
    fn route<T: Element>(&self) -> Result<Route<'_>> {
        match &self.active {
            Active::Cpu => Ok(Route::Cpu),
            #[cfg(feature = "gpu")]
            Active::Gpu(ctx) => {
                if std::mem::size_of::<T::Real>() == 4 || self.precision == Precision::Single {
                    Ok(Route::Gpu(ctx))
                } else if self.requested == Backend::Auto {
                    log::debug!("xcorr: f64 input runs on the CPU (the GPU computes in f32)");
                    Ok(Route::Cpu)
                } else {
                    Err(Error::InvalidArgument(format!(
                        "the GPU computes in f32 and this engine's precision is {}: pass --precision \
                         single (Precision::Single) to compute float64 data on the GPU in f32 and \
                         get float64 back, or use the CPU backend for float64",
                        self.precision
                    )))
                }
            }
        }
    }

    /// The engine's cached host plan for `op` in `mode` on these shapes, where it runs work
    /// on `T` on the host; `None` where a device does. A caller with inputs it can load
    /// rather than copy ([`crate::cpu::Load`]) runs them through it.
    pub(crate) fn host_plan<T: Element>(
        &self,
        op: Op,
        mode: Mode,
        a_shape: Shape,
        b_shape: Shape,
    ) -> Result<Option<Arc<CpuPlan<T>>>> {
        let plan = Plan::new(op, mode, a_shape, b_shape)?;
        match self.route::<T>()? {
            Route::Cpu => {
                Ok(Some(self.plans.get_or_build(&plan, || {
                    Ok::<_, Error>(CpuPlan::<T>::new(&plan))
                })?))
            }
            #[allow(unreachable_patterns)] // no device in a build without `gpu`
            _ => Ok(None),
        }
    }

    /// Matching's numerator on the host, or the whole match on a device: the engine's choice
    /// for work on `T` (f64 stays on the host), for `centred_template` against frames of
    /// `frame_shape`. `keep`: many frames follow (a tracker), so the plan is the caller's own;
    /// a one-shot call takes the engine's cached plan of this shape instead.
    pub(crate) fn matcher<T: Element>(
        &self,
        frame_shape: Shape,
        centred_template: ArrayView<'_, T>,
        terms: TemplateTerms,
        keep: bool,
    ) -> Result<Matcher<T>> {
        let [rows, cols] = frame_shape.axes();
        let plan = Plan::new(
            Op::Correlate,
            Mode::Valid,
            Shape::d2(rows, cols),
            centred_template.shape(),
        )?;
        match self.route::<T>()? {
            Route::Cpu => Ok(Matcher::Host(if keep {
                let mut cpu = CpuPlan::new(&plan);
                cpu.set_template(centred_template);
                HostNumerator::Kept(Box::new(cpu))
            } else {
                let cpu = self
                    .plans
                    .get_or_build(&plan, || Ok::<_, Error>(CpuPlan::<T>::new(&plan)))?;
                HostNumerator::OneShot(cpu, centred_template.to_owned())
            })),
            #[cfg(feature = "gpu")]
            Route::Gpu(ctx) => {
                let template = to_f32(centred_template.data());
                let shape = centred_template.shape().axes();
                // One-shot calls share a plan cached by shape, like correlation plans, so
                // repeated calls create no buffers; each installs its own template.
                let id = new_handle_id();
                let build = || {
                    let gpu = MatchPlan::new(ctx, [rows, cols], shape, &template, terms)?;
                    Ok::<_, Error>(SharedPlan::new(gpu, id))
                };
                let shared = if keep {
                    Arc::new(build()?)
                } else {
                    self.plans.get_or_build(&plan, build)?
                };
                let handle = Handle::new(shared, id, (template, terms));
                Ok(Matcher::Device(Box::new(handle)))
            }
            #[cfg(not(feature = "gpu"))]
            Route::Never(_) => {
                let _ = terms;
                unreachable!()
            }
        }
    }

    /// A device plan holding `reference`'s spectrum for phase correlation, where this engine
    /// runs work on `T` on a device; `None` where it runs on the host (the caller's f64
    /// transforms). `reference` is asked for only when a device takes it. `keep`: many
    /// moving images follow, so the plan is the caller's own rather than the cached one.
    pub(crate) fn phase_device<T: Element>(
        &self,
        shape: Shape,
        region: usize,
        phase: bool,
        keep: bool,
        reference: impl FnOnce() -> Result<Vec<Complex<f64>>>,
    ) -> Result<Option<Box<dyn PhaseDevice>>> {
        match self.route::<T>()? {
            Route::Cpu => Ok(None),
            #[cfg(feature = "gpu")]
            Route::Gpu(ctx) => {
                let reference: Vec<Complex<f32>> = reference()?
                    .iter()
                    .map(|v| Complex::new(v.re as f32, v.im as f32))
                    .collect();
                let key = Plan::new(Op::Correlate, Mode::CIRCULAR, shape, shape)?;
                let extra = (region as u64) << 1 | phase as u64;
                let id = new_handle_id();
                let build = || {
                    let mut gpu = PhasePlan::new(ctx, shape.axes(), region, phase)?;
                    gpu.set_reference(&reference)?;
                    Ok::<_, Error>(SharedPlan::new(gpu, id))
                };
                let shared = if keep {
                    Arc::new(build()?)
                } else {
                    self.plans.get_or_build_with(&key, extra, build)?
                };
                Ok(Some(Box::new(Handle::new(shared, id, reference))))
            }
            #[cfg(not(feature = "gpu"))]
            Route::Never(_) => {
                let _ = (shape, region, phase, keep, reference);
                unreachable!()
            }
        }
    }

    /// Cross-correlate: `out[k] = Σ_n a[n + k] · conj(b[n])` (see [`crate::spec`]).
    pub fn correlate<'a, T: Element>(
        &self,
        a: impl Into<ArrayView<'a, T>>,
        b: impl Into<ArrayView<'a, T>>,
        mode: Mode,
    ) -> Result<Array<T>> {
        self.compute(Op::Correlate, a, b, mode)
    }

    /// Convolve: `out[k] = Σ_n a[n] · b[k − n]` (see [`crate::spec`]).
    pub fn convolve<'a, T: Element>(
        &self,
        a: impl Into<ArrayView<'a, T>>,
        b: impl Into<ArrayView<'a, T>>,
        mode: Mode,
    ) -> Result<Array<T>> {
        self.compute(Op::Convolve, a, b, mode)
    }

    /// Correlate or convolve, as `op` says; blocks until the result is back (see
    /// [`compute_async`](Self::compute_async)).
    pub fn compute<'a, T: Element>(
        &self,
        op: Op,
        a: impl Into<ArrayView<'a, T>>,
        b: impl Into<ArrayView<'a, T>>,
        mode: Mode,
    ) -> Result<Array<T>> {
        crate::blocking::wait(self.compute_async(op, a, b, mode))
    }

    /// [`correlate`](Self::correlate) as a future.
    pub async fn correlate_async<'a, T: Element>(
        &self,
        a: impl Into<ArrayView<'a, T>>,
        b: impl Into<ArrayView<'a, T>>,
        mode: Mode,
    ) -> Result<Array<T>> {
        self.compute_async(Op::Correlate, a, b, mode).await
    }

    /// [`convolve`](Self::convolve) as a future.
    pub async fn convolve_async<'a, T: Element>(
        &self,
        a: impl Into<ArrayView<'a, T>>,
        b: impl Into<ArrayView<'a, T>>,
        mode: Mode,
    ) -> Result<Array<T>> {
        self.compute_async(Op::Convolve, a, b, mode).await
    }

    /// [`compute`](Self::compute) as a future: the GPU's result is awaited, never waited
    /// for by blocking the thread (the only way in a browser). On the CPU it finishes when
    /// first polled.
    pub async fn compute_async<'a, T: Element>(
        &self,
        op: Op,
        a: impl Into<ArrayView<'a, T>>,
        b: impl Into<ArrayView<'a, T>>,
        mode: Mode,
    ) -> Result<Array<T>> {
        let (a, b) = ([a.into()], [b.into()]);
        let mut out = self
            .compute_pairs_async(op, &a, &b, &[(0, 0)], mode)
            .await?;
        Ok(out.remove(0))
    }

    /// Several correlations (or convolutions) that share inputs, in one call: for each pair
    /// `(i, k)`, `op(a[i], b[k])`. The `a` all have one shape, the `b` another. On the CPU
    /// each input is transformed once however many pairs read it (then each pair costs a
    /// product and an inverse); on a GPU each pair runs as its own correlation.
    ///
    /// ```
    /// use xcorr::{Array, Engine, Mode, Op, Shape};
    /// let engine = Engine::cpu();
    /// let image = Array::from_fn(Shape::d2(6, 7), |r, c| (r * 7 + c) as f64 * 0.1);
    /// let squared = image.map(|v| v * v);
    /// let box3 = Array::from_fn(Shape::d2(3, 3), |_, _| 1.0);
    /// let edge = Array::from_fn(Shape::d2(3, 3), |_, c| c as f64 - 1.0);
    /// let (a, b) = ([image.view(), squared.view()], [box3.view(), edge.view()]);
    /// let out = engine.compute_pairs(Op::Correlate, &a, &b, &[(0, 0), (0, 1), (1, 0)], Mode::Valid).unwrap();
    /// let edges = engine.correlate(&image, &edge, Mode::Valid).unwrap();
    /// assert!((out[1].at(2, 3) - edges.at(2, 3)).abs() < 1e-12);
    /// ```
    pub fn compute_pairs<T: Element>(
        &self,
        op: Op,
        a: &[ArrayView<'_, T>],
        b: &[ArrayView<'_, T>],
        pairs: &[Pair],
        mode: Mode,
    ) -> Result<Vec<Array<T>>> {
        crate::blocking::wait(self.compute_pairs_async(op, a, b, pairs, mode))
    }

    /// [`compute_pairs`](Self::compute_pairs) as a future.
    pub async fn compute_pairs_async<T: Element>(
        &self,
        op: Op,
        a: &[ArrayView<'_, T>],
        b: &[ArrayView<'_, T>],
        pairs: &[Pair],
        mode: Mode,
    ) -> Result<Vec<Array<T>>> {
        let a_shape = common_shape(a, "first input")?;
        let b_shape = common_shape(b, "second input")?;
        check_pairs(pairs, a.len(), b.len())?;
        // Inputs far from 1 in magnitude are scaled by powers of two (exact), and the
        // results back; ordinary inputs are not copied.
        let on_device = self.runs_on_gpu::<T>();
        let (a, ka) = in_range(a, on_device, "first input")?;
        let (b, kb) = in_range(b, on_device, "second input")?;
        let (a, b): (Vec<_>, Vec<_>) = (
            a.iter().map(|x| x.view()).collect(),
            b.iter().map(|x| x.view()).collect(),
        );
        let plan = Plan::new(op, mode, a_shape, b_shape)?;
        let mut outs = match self.route::<T>()? {
            Route::Cpu => {
                let cpu = self
                    .plans
                    .get_or_build(&plan, || Ok::<_, Error>(CpuPlan::<T>::new(&plan)))?;
                cpu.execute_pairs(&a, &b, pairs)
            }
            #[cfg(feature = "gpu")]
            Route::Gpu(ctx) => {
                let gpu = self
                    .plans
                    .get_or_build(&plan, || DevicePlan::<T>::new(ctx, &plan))?;
                let mut gpu = gpu.lock().await;
                let mut outs = Vec::with_capacity(pairs.len());
                let mut installed = None;
                for &(i, k) in pairs {
                    if installed != Some(k) {
                        gpu.set_template(b[k].data())?;
                        installed = Some(k);
                    }
                    outs.push(gpu.run(a[i].data()).await?);
                }
                outs
            }
            #[cfg(not(feature = "gpu"))]
            Route::Never(_) => unreachable!(),
        };
        for (out, &(i, k)) in outs.iter_mut().zip(pairs) {
            range::unscale(out.data_mut(), -(ka[i] + kb[k]), "the result")?;
        }
        Ok(outs)
    }

    /// Prepare the second argument once for many first arguments of shape `a_shape`
    /// (tracking a template through frames).
    ///
    /// ```
    /// use xcorr::{Array, Engine, Mode, Op, Shape};
    /// let engine = Engine::cpu();
    /// let template = Array::from_fn(Shape::d2(3, 3), |r, c| (r + 2 * c) as f64);
    /// let prepared = engine.prepare(Op::Correlate, Mode::Valid, Shape::d2(8, 8), &template).unwrap();
    /// for frame in 0..3 {
    ///     let image = Array::from_fn(Shape::d2(8, 8), |r, c| ((r * c + frame) % 7) as f64);
    ///     let out = prepared.run(&image).unwrap();
    ///     assert_eq!(out.shape(), Shape::d2(6, 6));
    /// }
    /// ```
    pub fn prepare<'a, T: Element>(
        &self,
        op: Op,
        mode: Mode,
        a_shape: Shape,
        b: impl Into<ArrayView<'a, T>>,
    ) -> Result<Prepared<T>> {
        self.prepare_many(op, mode, a_shape, &[b.into()])
    }

    /// Prepare several second arguments (of one shape) for many first arguments of shape
    /// `a_shape`, run together by [`Prepared::run_all`] and [`Prepared::run_pairs`]: on the
    /// CPU each first argument is transformed once for all its correlations.
    ///
    /// ```
    /// use xcorr::{Array, Engine, Mode, Op, Shape};
    /// let engine = Engine::cpu();
    /// let ones = Array::from_fn(Shape::d2(2, 2), |_, _| 1.0f32);
    /// let diagonal = Array::from_fn(Shape::d2(2, 2), |r, c| (r == c) as u8 as f32);
    /// let prepared = engine
    ///     .prepare_many(Op::Correlate, Mode::Valid, Shape::d2(4, 4), &[ones.view(), diagonal.view()])
    ///     .unwrap();
    /// let image = Array::from_fn(Shape::d2(4, 4), |r, c| (r * 4 + c) as f32);
    /// let [sums, traces]: [Array<f32>; 2] = prepared.run_all(&image).unwrap().try_into().unwrap();
    /// assert!((sums.at(0, 0) - 10.0).abs() < 1e-4 && (traces.at(0, 0) - 5.0).abs() < 1e-4);
    /// ```
    pub fn prepare_many<T: Element>(
        &self,
        op: Op,
        mode: Mode,
        a_shape: Shape,
        b: &[ArrayView<'_, T>],
    ) -> Result<Prepared<T>> {
        let b_shape = common_shape(b, "second input")?;
        let (b, b_exponents) = in_range(b, self.runs_on_gpu::<T>(), "second input")?;
        let b: Vec<_> = b.iter().map(|x| x.view()).collect();
        let plan = Plan::new(op, mode, a_shape, b_shape)?;
        let inner = match self.route::<T>()? {
            Route::Cpu => {
                let mut cpu = CpuPlan::new(&plan);
                cpu.set_templates(&b);
                PreparedInner::Cpu(Box::new(cpu))
            }
            #[cfg(feature = "gpu")]
            Route::Gpu(ctx) => {
                // One device plan per template: a GPU runs each pair as its own correlation.
                let gpu = b
                    .iter()
                    .map(|b| {
                        let gpu = DevicePlan::<T>::new(ctx, &plan)?;
                        crate::blocking::wait(async { gpu.lock().await.set_template(b.data()) })?;
                        Ok(gpu)
                    })
                    .collect::<Result<Vec<_>>>()?;
                PreparedInner::Gpu(gpu)
            }
            #[cfg(not(feature = "gpu"))]
            Route::Never(_) => unreachable!(),
        };
        Ok(Prepared {
            plan,
            inner,
            b_exponents,
        })
    }
}

/// The one shape of several inputs (`what` names them in errors).
fn common_shape<T: Element>(x: &[ArrayView<'_, T>], what: &str) -> Result<Shape> {
    let Some(first) = x.first() else {
        return Err(Error::InvalidArgument(format!("no {what} given")));
    };
    if let Some(other) = x.iter().find(|v| v.shape() != first.shape()) {
        return Err(Error::ShapeMismatch(format!(
            "every {what} must have one shape, got {} and {}",
            first.shape(),
            other.shape()
        )));
    }
    Ok(first.shape())
}

/// Every pair indexes an existing first and second argument.
fn check_pairs(pairs: &[Pair], a: usize, b: usize) -> Result<()> {
    match pairs.iter().find(|&&(i, k)| i >= a || k >= b) {
        Some((i, k)) => Err(Error::InvalidArgument(format!(
            "pair ({i}, {k}) is out of range: {a} first and {b} second argument(s)"
        ))),
        None => Ok(()),
    }
}

/// Validated inputs, each scaled by a power of two into range for the type it is computed in
/// (only those far from 1 are copied), with the exponents.
fn in_range<'a, T: Element>(
    x: &[ArrayView<'a, T>],
    on_device: bool,
    what: &str,
) -> Result<(Vec<range::Input<'a, T>>, Vec<i32>)> {
    let mut inputs = Vec::with_capacity(x.len());
    let mut exponents = Vec::with_capacity(x.len());
    for x in x {
        let k = exponent_in::<T>(on_device, x.validate_magnitude(what)?, x.shape().len());
        inputs.push(range::Input::new(*x, k));
        exponents.push(k);
    }
    Ok((inputs, exponents))
}

/// [`range::exponent`] for the type work on `T` is computed in: f32 on a device.
fn exponent_in<T: Element>(on_device: bool, max: f64, len: usize) -> i32 {
    if on_device {
        range::exponent::<f32>(max, len)
    } else {
        range::exponent::<T>(max, len)
    }
}

enum PreparedInner<T: Element> {
    Cpu(Box<CpuPlan<T>>),
    /// One plan per second argument.
    #[cfg(feature = "gpu")]
    Gpu(Vec<DevicePlan<T>>),
}

enum Route<'a> {
    Cpu,
    #[cfg(feature = "gpu")]
    Gpu(&'a GpuContext),
    #[cfg(not(feature = "gpu"))]
    #[allow(dead_code)]
    Never(std::marker::PhantomData<&'a ()>),
}

/// A GPU correlation plan for elements of type `T`: a real plan (half the work, see
/// [`CorrelationPlan::new_real`]) for real `T`, a complex one otherwise. A type per `T`, so
/// the plan cache (keyed by type) never hands a real plan to complex data.
#[cfg(feature = "gpu")]
///
/// The lock is async: a run holds it until its result is back, which in a browser means
/// across the await of the readback, while other tasks on the page's one thread run.
#[cfg(feature = "gpu")]
struct DevicePlan<T>(
    futures_intrusive::sync::Mutex<CorrelationPlan>,
    std::marker::PhantomData<fn() -> T>,
);

#[cfg(feature = "gpu")]
impl<T: Element> DevicePlan<T> {
    fn new(ctx: &GpuContext, plan: &Plan) -> Result<DevicePlan<T>> {
        let gpu = if T::IS_COMPLEX {
            CorrelationPlan::new(ctx, plan)?
        } else {
            CorrelationPlan::new_real(ctx, plan)?
        };
        Ok(DevicePlan(
            futures_intrusive::sync::Mutex::new(gpu, false),
            std::marker::PhantomData,
        ))
    }

    async fn lock(&self) -> DeviceRun<'_> {
        DeviceRun(self.0.lock().await)
    }
}

/// A locked [`DevicePlan`], converting `T` to and from the f32 data the device takes.
#[cfg(feature = "gpu")]
struct DeviceRun<'a>(futures_intrusive::sync::MutexGuard<'a, CorrelationPlan>);

#[cfg(feature = "gpu")]
impl DeviceRun<'_> {
    fn set_template<T: Element>(&mut self, b: &[T]) -> Result<()> {
        if self.0.is_real() {
            self.0.set_template_real(&to_f32(b))
        } else {
            self.0.set_template(&to_c32(b))
        }
    }

    async fn run<T: Element>(&mut self, a: &[T]) -> Result<Array<T>> {
        let shape = self.0.plan().out;
        let out = if self.0.is_real() {
            let out = self.0.run_real_async(&to_f32(a)).await?;
            out.into_iter()
                .map(|v| {
                    T::from_complex(Complex::new(
                        T::Real::from_f64(v as f64),
                        T::Real::from_f64(0.0),
                    ))
                })
                .collect()
        } else {
            from_c32(&self.0.run_async(&to_c32(a)).await?)
        };
        Array::new(out, shape)
    }
}

/// Real elements as the f32 a real device plan takes.
#[cfg(feature = "gpu")]
fn to_f32<T: Element>(x: &[T]) -> Vec<f32> {
    x.iter()
        .map(|v| v.to_complex().re.to_f64() as f32)
        .collect()
}

/// Elements as the complex f32 a complex device plan takes.
#[cfg(feature = "gpu")]
fn to_c32<T: Element>(x: &[T]) -> Vec<Complex<f32>> {
    x.iter()
        .map(|v| {
            let c = v.to_complex();
            Complex::new(c.re.to_f64() as f32, c.im.to_f64() as f32)
        })
        .collect()
}

/// Back to `T`; real outputs keep the real part.
#[cfg(feature = "gpu")]
fn from_c32<T: Element>(x: &[Complex<f32>]) -> Vec<T> {
    x.iter()
        .map(|c| {
            T::from_complex(Complex::new(
                T::Real::from_f64(c.re as f64),
                T::Real::from_f64(c.im as f64),
            ))
        })
        .collect()
}

/// Second arguments prepared once (their spectra kept), run against many first arguments:
/// one from [`Engine::prepare`], several from [`Engine::prepare_many`].
pub struct Prepared<T: Element> {
    plan: Plan,
    inner: PreparedInner<T>,
    /// The powers of two the second arguments were scaled by ([`crate::range`]).
    b_exponents: Vec<i32>,
}

impl<T: Element> Prepared<T> {
    /// The host plan holding the kept spectra, where they are on the host and none of the
    /// second arguments was scaled into range (its caller then needs no exponents).
    pub(crate) fn host_plan(&self) -> Option<&CpuPlan<T>> {
        match &self.inner {
            PreparedInner::Cpu(cpu) if self.b_exponents.iter().all(|&k| k == 0) => Some(cpu),
            _ => None,
        }
    }

    /// The shapes this was prepared for.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// How many second arguments are kept.
    pub fn len(&self) -> usize {
        self.b_exponents.len()
    }

    /// Whether none are (never: preparing needs at least one).
    pub fn is_empty(&self) -> bool {
        self.b_exponents.is_empty()
    }

    /// Correlate (or convolve) `a` with the prepared second argument; blocks until the
    /// result is back. An error when several are kept ([`run_all`](Self::run_all) gives
    /// each).
    pub fn run<'a>(&self, a: impl Into<ArrayView<'a, T>>) -> Result<Array<T>> {
        crate::blocking::wait(self.run_async(a))
    }

    /// [`run`](Self::run) as a future.
    pub async fn run_async<'a>(&self, a: impl Into<ArrayView<'a, T>>) -> Result<Array<T>> {
        if self.len() != 1 {
            return Err(Error::InvalidArgument(format!(
                "this plan keeps {} second arguments: run_all or run_pairs gives each \
                 correlation",
                self.len()
            )));
        }
        Ok(self
            .run_pairs_async(&[a.into()], &[(0, 0)])
            .await?
            .remove(0))
    }

    /// `a` with every kept second argument, in the order they were given.
    pub fn run_all<'a>(&self, a: impl Into<ArrayView<'a, T>>) -> Result<Vec<Array<T>>> {
        crate::blocking::wait(self.run_all_async(a))
    }

    /// [`run_all`](Self::run_all) as a future.
    pub async fn run_all_async<'a>(&self, a: impl Into<ArrayView<'a, T>>) -> Result<Vec<Array<T>>> {
        let pairs: Vec<Pair> = (0..self.len()).map(|k| (0, k)).collect();
        self.run_pairs_async(&[a.into()], &pairs).await
    }

    /// For each pair `(i, k)`, `inputs[i]` with kept second argument `k` (as
    /// [`Engine::compute_pairs`], with the second arguments' spectra kept).
    pub fn run_pairs(&self, inputs: &[ArrayView<'_, T>], pairs: &[Pair]) -> Result<Vec<Array<T>>> {
        crate::blocking::wait(self.run_pairs_async(inputs, pairs))
    }

    /// [`run_pairs`](Self::run_pairs) as a future.
    pub async fn run_pairs_async(
        &self,
        inputs: &[ArrayView<'_, T>],
        pairs: &[Pair],
    ) -> Result<Vec<Array<T>>> {
        if let Some(a) = inputs.iter().find(|a| a.shape() != self.plan.a) {
            return Err(Error::ShapeMismatch(format!(
                "input has shape {}, but this plan was prepared for {}",
                a.shape(),
                self.plan.a
            )));
        }
        check_pairs(pairs, inputs.len(), self.len())?;
        let on_device = !matches!(self.inner, PreparedInner::Cpu(_));
        let (a, ka) = in_range(inputs, on_device, "first input")?;
        let a: Vec<_> = a.iter().map(|x| x.view()).collect();
        let mut outs = match &self.inner {
            PreparedInner::Cpu(cpu) => cpu.run_pairs(&a, pairs),
            #[cfg(feature = "gpu")]
            PreparedInner::Gpu(gpu) => {
                let mut outs = Vec::with_capacity(pairs.len());
                for &(i, k) in pairs {
                    outs.push(gpu[k].lock().await.run(a[i].data()).await?);
                }
                outs
            }
        };
        for (out, &(i, k)) in outs.iter_mut().zip(pairs) {
            range::unscale(out.data_mut(), -(ka[i] + self.b_exponents[k]), "the result")?;
        }
        Ok(outs)
    }
}

/// Matching as the engine chose to run it (see [`Engine::matcher`]).
pub(crate) enum Matcher<T: Element> {
    /// The numerator on the host; the matcher combines the scores there.
    Host(HostNumerator<T>),
    /// Numerator, scores and peak search on a device.
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))] // no device in such a build
    Device(Box<dyn MatchDevice>),
}

/// Matching's numerator on the host: the valid correlation of a frame, centred on its mean
/// as its rows load (no centred copy of the frame), with the centred template.
pub(crate) enum HostNumerator<T: Element> {
    /// One call: the engine's cached plan of this shape, and the template.
    OneShot(Arc<CpuPlan<T>>, Array<T>),
    /// Many frames: the template's spectrum kept.
    Kept(Box<CpuPlan<T>>),
}

impl<T: Element> HostNumerator<T> {
    /// The numerator of `frame − mean` into `out` (resized; its allocation reused). The
    /// caller has checked the frame's shape and values.
    pub(crate) fn run_into(&self, frame: ArrayView<'_, T>, mean: f64, out: &mut Vec<T>) {
        let [rows, cols] = frame.shape().axes();
        let frame =
            ArrayView::new(frame.data(), Shape::d2(rows, cols)).expect("the same data viewed 2-D");
        match self {
            HostNumerator::OneShot(cpu, template) => {
                *out = cpu.execute_offset(frame, mean, template.view()).into_vec()
            }
            HostNumerator::Kept(cpu) => cpu.run_offset_into(frame, mean, out),
        }
    }
}

/// A device plan the engine caches by shape, shared by every [`Handle`] of that shape.
#[cfg(feature = "gpu")]
struct SharedPlan<P> {
    /// The plan, and the id of the handle whose template (or reference) it holds. The lock
    /// is async: a run holds it across the await of its readback.
    state: futures_intrusive::sync::Mutex<(P, u64)>,
}

#[cfg(feature = "gpu")]
impl<P> SharedPlan<P> {
    /// A plan built holding the data of handle `owner`.
    fn new(plan: P, owner: u64) -> Self {
        SharedPlan {
            state: futures_intrusive::sync::Mutex::new((plan, owner), false),
        }
    }
}

/// A fresh handle id: each handle knows whether the shared plan still holds its data.
#[cfg(feature = "gpu")]
fn new_handle_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// One user of a shared device plan with its own data: a matcher's template and terms, or a
/// registrar's reference. Locking installs the data again only when another handle used the
/// plan since, so a tracker or registrar alone on its shape never re-uploads.
#[cfg(feature = "gpu")]
struct Handle<P, D> {
    shared: Arc<SharedPlan<P>>,
    id: u64,
    data: D,
}

/// What a device plan needs to take a handle's data.
#[cfg(feature = "gpu")]
trait Install<D> {
    fn install(&mut self, data: &D) -> Result<()>;
}

#[cfg(feature = "gpu")]
impl Install<(Vec<f32>, TemplateTerms)> for MatchPlan {
    fn install(&mut self, (template, terms): &(Vec<f32>, TemplateTerms)) -> Result<()> {
        self.set_template(template, *terms)
    }
}

#[cfg(feature = "gpu")]
impl Install<Vec<Complex<f32>>> for PhasePlan {
    fn install(&mut self, reference: &Vec<Complex<f32>>) -> Result<()> {
        self.set_reference(reference)
    }
}

#[cfg(feature = "gpu")]
impl<P: Install<D>, D> Handle<P, D> {
    fn new(shared: Arc<SharedPlan<P>>, id: u64, data: D) -> Self {
        Handle { shared, id, data }
    }

    /// The plan, holding this handle's data.
    async fn lock(&self) -> Result<futures_intrusive::sync::MutexGuard<'_, (P, u64)>> {
        let mut state = self.shared.state.lock().await;
        if state.1 != self.id {
            state.0.install(&self.data)?;
            state.1 = self.id;
        }
        Ok(state)
    }
}

#[cfg(feature = "gpu")]
impl MatchDevice for Handle<MatchPlan, (Vec<f32>, TemplateTerms)> {
    fn map<'a>(
        &'a self,
        centred_frame: &'a [f32],
        frame: FrameTerms,
    ) -> DeviceFuture<'a, Vec<f32>> {
        Box::pin(async move { self.lock().await?.0.map(centred_frame, frame).await })
    }

    fn peaks<'a>(
        &'a self,
        centred_frame: &'a [f32],
        frame: FrameTerms,
        options: &'a PeakOptions,
    ) -> DeviceFuture<'a, Vec<Peak>> {
        Box::pin(async move {
            let mut state = self.lock().await?;
            let plan = &mut state.0;
            let (search, sign) = peak_search(options, plan);
            let records = plan.peaks(centred_frame, frame, search, sign).await?;
            Ok(records_to_peaks(records, plan.out_shape(), options))
        })
    }

    fn submit<'a>(
        &'a self,
        centred_frame: &'a [f32],
        frame: FrameTerms,
        wanted: Wanted,
    ) -> DeviceFuture<'a, DeviceTicket> {
        Box::pin(async move {
            let mut state = self.lock().await?;
            let plan = &mut state.0;
            let submitted = plan.submit(centred_frame, frame, readback_of(wanted, plan))?;
            Ok(DeviceTicket(Box::new((submitted, wanted))))
        })
    }

    fn collect(&self, ticket: DeviceTicket) -> DeviceFuture<'_, DeviceResult> {
        Box::pin(async move {
            let (submitted, wanted) =
                *ticket.0.downcast::<(Submitted, Wanted)>().map_err(|_| {
                    Error::InvalidArgument(
                        "a frame was collected from another kind of device".into(),
                    )
                })?;
            let state = self.lock().await?;
            let plan = &state.0;
            Ok(match (plan.collect(submitted).await?, wanted) {
                (Collected::Map(scores), _) => DeviceResult::Map(scores),
                (Collected::Peaks(records), Wanted::Peaks(options)) => {
                    DeviceResult::Peaks(records_to_peaks(records, plan.out_shape(), &options))
                }
                (Collected::Peaks(_), Wanted::Map) => unreachable!("a map was submitted"),
            })
        })
    }
}

/// The plan's readback for what the caller wants.
#[cfg(feature = "gpu")]
fn readback_of(wanted: Wanted, plan: &MatchPlan) -> Readback {
    match wanted {
        Wanted::Map => Readback::Map,
        Wanted::Peaks(options) => {
            let (search, sign) = peak_search(&options, plan);
            Readback::Peaks { search, sign }
        }
    }
}

/// The search for `options` on the plan's map, and the sign that makes the best score the
/// largest.
#[cfg(feature = "gpu")]
fn peak_search(options: &PeakOptions, plan: &MatchPlan) -> (SearchShape, f32) {
    let sign = if options.extremum == Extremum::Max {
        1.0
    } else {
        -1.0
    };
    (SearchShape::new(options, plan.out_shape()), sign)
}

/// A search's records as peaks of an `out`-shaped map.
#[cfg(feature = "gpu")]
fn records_to_peaks(records: Vec<PeakRecord>, out: [usize; 2], options: &PeakOptions) -> Vec<Peak> {
    records
        .into_iter()
        .map(|r| r.to_peak(out, options.extremum, options.subpixel))
        .collect()
}

#[cfg(feature = "gpu")]
impl PhaseDevice for Handle<PhasePlan, Vec<Complex<f32>>> {
    fn integer_peak<'a>(&'a self, moving: &'a [Complex<f32>]) -> DeviceFuture<'a, usize> {
        Box::pin(async move { Ok(self.lock().await?.0.integer_peak(moving).await?.index as usize) })
    }

    fn value_at(&self, index: usize) -> DeviceFuture<'_, Complex<f32>> {
        Box::pin(async move { self.lock().await?.0.value_at(index).await })
    }

    fn upsampled<'a>(&'a self, kernels: &'a [Complex<f32>]) -> DeviceFuture<'a, Vec<Complex<f32>>> {
        Box::pin(async move { self.lock().await?.0.upsampled(kernels).await })
    }
}
