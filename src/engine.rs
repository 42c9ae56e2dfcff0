//! [`Engine`]: picks the GPU or the CPU backend and offers the simple blocking calls.

#[cfg(feature = "gpu")]
use crate::array::Real;
use crate::array::{Array, ArrayView, Element, Shape};
use crate::cpu::CpuPlan;
use crate::error::{Error, Result};
#[cfg(feature = "gpu")]
use crate::gpu::{CorrelationPlan, GpuContext};
use crate::plan_cache::PlanCache;
use crate::range;
use crate::spec::{Mode, Op, Plan};
#[cfg(feature = "gpu")]
use num_complex::Complex;
use std::fmt;
use std::str::FromStr;
#[cfg(feature = "gpu")]
use std::sync::Mutex;

/// Which backend an [`Engine`] should use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Backend {
    /// The GPU when an adapter exists, else the CPU.
    #[default]
    Auto,
    Cpu,
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
    plans: PlanCache,
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

    /// The GPU when an adapter exists, else the CPU (logged).
    pub fn new() -> Engine {
        Engine::with_backend(Backend::Auto).expect("auto always finds the CPU")
    }

    /// The CPU backend.
    pub fn cpu() -> Engine {
        Engine {
            active: Active::Cpu,
            requested: Backend::Cpu,
            plans: PlanCache::default(),
        }
    }

    /// A specific backend; `Gpu` without an adapter (or without the `gpu` feature) is an error.
    pub fn with_backend(backend: Backend) -> Result<Engine> {
        match backend {
            Backend::Cpu => Ok(Engine::cpu()),
            #[cfg(feature = "gpu")]
            Backend::Auto => match GpuContext::new() {
                Ok(ctx) => {
                    log::info!("xcorr: using the GPU: {}", ctx.describe());
                    Ok(Engine::from_gpu(ctx, Backend::Auto))
                }
                // A bad setting is the caller's to fix, not a reason to fall back quietly.
                Err(e @ Error::InvalidArgument(_)) => Err(e),
                Err(e) => {
                    log::info!("xcorr: {e}; using the CPU");
                    Ok(Engine {
                        requested: Backend::Auto,
                        ..Engine::cpu()
                    })
                }
            },
            #[cfg(not(feature = "gpu"))]
            Backend::Auto => {
                log::info!("xcorr: built without the GPU backend; using the CPU");
                Ok(Engine {
                    requested: Backend::Auto,
                    ..Engine::cpu()
                })
            }
            #[cfg(feature = "gpu")]
            Backend::Gpu => Ok(Engine::from_gpu(GpuContext::new()?, Backend::Gpu)),
            #[cfg(not(feature = "gpu"))]
            Backend::Gpu => Err(Error::BackendUnavailable(
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
    /// CPU on an `Auto` engine and is refused by an explicit GPU engine.
    fn route<T: Element>(&self) -> Result<Route<'_>> {
        match &self.active {
            Active::Cpu => Ok(Route::Cpu),
            #[cfg(feature = "gpu")]
            Active::Gpu(ctx) => {
                if std::mem::size_of::<T::Real>() == 4 {
                    Ok(Route::Gpu(ctx))
                } else if self.requested == Backend::Auto {
                    log::debug!("xcorr: f64 input runs on the CPU (the GPU computes in f32)");
                    Ok(Route::Cpu)
                } else {
                    Err(Error::InvalidArgument(
                        "the GPU backend computes in f32; pass f32 data or use the CPU backend \
                         for f64"
                            .into(),
                    ))
                }
            }
        }
    }

    /// The GPU context work on `T` runs on, `None` for the CPU (the same rule as every
    /// correlation: f64 goes to the CPU on an auto engine and is refused by a GPU engine).
    #[cfg(feature = "gpu")]
    pub(crate) fn device_for<T: Element>(&self) -> Result<Option<&GpuContext>> {
        Ok(match self.route::<T>()? {
            Route::Cpu => None,
            Route::Gpu(ctx) => Some(ctx),
        })
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

    /// Correlate or convolve, as `op` says.
    pub fn compute<'a, T: Element>(
        &self,
        op: Op,
        a: impl Into<ArrayView<'a, T>>,
        b: impl Into<ArrayView<'a, T>>,
        mode: Mode,
    ) -> Result<Array<T>> {
        let (a, b) = (a.into(), b.into());
        let a_max = a.validate_magnitude("first input")?;
        let b_max = b.validate_magnitude("second input")?;
        // Inputs far from 1 in magnitude are scaled by powers of two (exact), and the
        // result back; ordinary inputs are not copied.
        let ka = range::exponent::<T>(a_max, a.shape().len());
        let kb = range::exponent::<T>(b_max, b.shape().len());
        if ka == 0 && kb == 0 {
            return self.compute_validated(op, a, 0.0, b, mode);
        }
        let (a, b) = (range::Input::new(a, ka), range::Input::new(b, kb));
        let mut out = self.compute_validated(op, a.view(), 0.0, b.view(), mode)?;
        range::unscale(out.data_mut(), -(ka + kb), "the result")?;
        Ok(out)
    }

    /// [`compute`](Self::compute) of `a − offset` (real part) with `b`, for inputs the caller
    /// has already validated (non-empty, finite): the matcher checks the scene and template
    /// once, not again here, and the CPU subtracts the offset as it loads `a`'s rows.
    pub(crate) fn compute_validated<T: Element>(
        &self,
        op: Op,
        a: ArrayView<'_, T>,
        offset: f64,
        b: ArrayView<'_, T>,
        mode: Mode,
    ) -> Result<Array<T>> {
        let plan = Plan::new(op, mode, a.shape(), b.shape())?;
        match self.route::<T>()? {
            Route::Cpu => {
                let cpu = self
                    .plans
                    .get_or_build(&plan, || Ok::<_, Error>(CpuPlan::<T>::new(&plan)))?;
                Ok(cpu.execute_offset(a, offset, b))
            }
            #[cfg(feature = "gpu")]
            Route::Gpu(ctx) => {
                let gpu = self
                    .plans
                    .get_or_build(&plan, || DevicePlan::<T>::new(ctx, &plan))?;
                let mut gpu = gpu.lock()?;
                gpu.set_template(b.data())?;
                if offset == 0.0 {
                    gpu.run(a.data())
                } else {
                    gpu.run(&shifted(a.data(), offset))
                }
            }
            #[cfg(not(feature = "gpu"))]
            Route::Never(_) => unreachable!(),
        }
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
        let b = b.into();
        let b_exponent =
            range::exponent::<T>(b.validate_magnitude("second input")?, b.shape().len());
        let b = range::Input::new(b, b_exponent);
        let b = b.view();
        let plan = Plan::new(op, mode, a_shape, b.shape())?;
        let inner = match self.route::<T>()? {
            Route::Cpu => {
                let mut cpu = CpuPlan::new(&plan);
                cpu.set_template(b);
                PreparedInner::Cpu(Box::new(cpu))
            }
            #[cfg(feature = "gpu")]
            Route::Gpu(ctx) => {
                let gpu = DevicePlan::<T>::new(ctx, &plan)?;
                gpu.lock()?.set_template(b.data())?;
                PreparedInner::Gpu(Box::new(gpu))
            }
            #[cfg(not(feature = "gpu"))]
            Route::Never(_) => unreachable!(),
        };
        Ok(Prepared {
            plan,
            inner,
            b_exponent,
        })
    }
}

enum PreparedInner<T: Element> {
    Cpu(Box<CpuPlan<T>>),
    #[cfg(feature = "gpu")]
    Gpu(Box<DevicePlan<T>>),
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
struct DevicePlan<T>(Mutex<CorrelationPlan>, std::marker::PhantomData<fn() -> T>);

#[cfg(feature = "gpu")]
impl<T: Element> DevicePlan<T> {
    fn new(ctx: &GpuContext, plan: &Plan) -> Result<DevicePlan<T>> {
        let gpu = if T::IS_COMPLEX {
            CorrelationPlan::new(ctx, plan)?
        } else {
            CorrelationPlan::new_real(ctx, plan)?
        };
        Ok(DevicePlan(Mutex::new(gpu), std::marker::PhantomData))
    }

    fn lock(&self) -> Result<DeviceRun<'_>> {
        self.0
            .lock()
            .map(DeviceRun)
            .map_err(|_| Error::Gpu("a plan's lock was poisoned".into()))
    }
}

/// A locked [`DevicePlan`], converting `T` to and from the f32 data the device takes.
#[cfg(feature = "gpu")]
struct DeviceRun<'a>(std::sync::MutexGuard<'a, CorrelationPlan>);

#[cfg(feature = "gpu")]
impl DeviceRun<'_> {
    fn set_template<T: Element>(&mut self, b: &[T]) -> Result<()> {
        if self.0.is_real() {
            self.0.set_template_real(&to_f32(b))
        } else {
            self.0.set_template(&to_c32(b))
        }
    }

    fn run<T: Element>(&mut self, a: &[T]) -> Result<Array<T>> {
        let shape = self.0.plan().out;
        let out = if self.0.is_real() {
            let out = self.0.run_real(&to_f32(a))?;
            out.into_iter()
                .map(|v| {
                    T::from_complex(Complex::new(
                        T::Real::from_f64(v as f64),
                        T::Real::from_f64(0.0),
                    ))
                })
                .collect()
        } else {
            from_c32(&self.0.run(&to_c32(a))?)
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

/// A second argument prepared once (its spectrum kept), run against many first arguments.
pub struct Prepared<T: Element> {
    plan: Plan,
    inner: PreparedInner<T>,
    /// The power of two the second argument was scaled by ([`crate::range`]).
    b_exponent: i32,
}

impl<T: Element> Prepared<T> {
    /// The shapes this was prepared for.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Correlate (or convolve) `a` with the prepared second argument.
    pub fn run<'a>(&self, a: impl Into<ArrayView<'a, T>>) -> Result<Array<T>> {
        let a = a.into();
        if a.shape() != self.plan.a {
            return Err(Error::ShapeMismatch(format!(
                "input has shape {}, but this plan was prepared for {}",
                a.shape(),
                self.plan.a
            )));
        }
        let ka = range::exponent::<T>(a.validate_magnitude("first input")?, a.shape().len());
        let a = range::Input::new(a, ka);
        let a = a.view();
        let mut out = match &self.inner {
            PreparedInner::Cpu(cpu) => cpu.run(a),
            #[cfg(feature = "gpu")]
            PreparedInner::Gpu(gpu) => gpu.lock()?.run(a.data())?,
        };
        range::unscale(out.data_mut(), -(ka + self.b_exponent), "the result")?;
        Ok(out)
    }

    /// [`run`](Self::run) of `a − offset` (real part) into `out`, reusing its allocation,
    /// for a caller that has already checked `a`'s shape and values: the CPU subtracts the
    /// offset as it loads the rows and makes no copy of `a`.
    pub(crate) fn run_offset_into(
        &self,
        a: ArrayView<'_, T>,
        offset: f64,
        out: &mut Vec<T>,
    ) -> Result<()> {
        match &self.inner {
            PreparedInner::Cpu(cpu) => cpu.run_offset_into(a, offset, out),
            #[cfg(feature = "gpu")]
            PreparedInner::Gpu(gpu) => {
                *out = gpu.lock()?.run(&shifted(a.data(), offset))?.into_vec()
            }
        }
        range::unscale(out, -self.b_exponent, "the result")
    }
}

/// `x − offset` (real part), computed in f64: what the device takes where the CPU would
/// subtract the offset while loading rows.
#[cfg(feature = "gpu")]
fn shifted<T: Element>(x: &[T], offset: f64) -> Vec<T> {
    x.iter()
        .map(|v| {
            let c = v.to_complex();
            T::from_complex(Complex::new(
                T::Real::from_f64(c.re.to_f64() - offset),
                c.im,
            ))
        })
        .collect()
}
