//! [`Engine`]: picks the GPU or the CPU backend and offers the simple blocking calls.

use crate::array::{Array, ArrayView, Element, Shape};
use crate::cpu::{self, CpuPlan};
use crate::error::{Error, Result};
use crate::spec::{Mode, Op, Plan};
use std::fmt;
use std::str::FromStr;

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
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    /// The GPU when an adapter exists, else the CPU (logged).
    pub fn new() -> Engine {
        Engine::with_backend(Backend::Auto).expect("auto always finds the CPU")
    }

    /// The CPU backend.
    pub fn cpu() -> Engine {
        Engine {
            active: Active::Cpu,
        }
    }

    /// A specific backend; `Gpu` without an adapter (or without the `gpu` feature) is an error.
    pub fn with_backend(backend: Backend) -> Result<Engine> {
        match backend {
            Backend::Cpu => Ok(Engine::cpu()),
            Backend::Auto => {
                log::info!("xcorr: no GPU backend in this build; using the CPU");
                Ok(Engine::cpu())
            }
            Backend::Gpu => Err(Error::BackendUnavailable(
                "the GPU backend is not available in this build".into(),
            )),
        }
    }

    /// What this engine runs on, e.g. `"cpu"`.
    pub fn backend_name(&self) -> String {
        match &self.active {
            Active::Cpu => format!("cpu ({} threads)", rayon::current_num_threads()),
        }
    }

    /// `"cpu"` or `"gpu"`: the short name benchmarks and JSON output use.
    pub fn backend_label(&self) -> &'static str {
        match &self.active {
            Active::Cpu => "cpu",
        }
    }

    /// Whether this engine runs on the CPU.
    pub fn is_cpu(&self) -> bool {
        matches!(self.active, Active::Cpu)
    }

    /// One line per backend this build and machine offer, for `xcorr info`.
    pub fn available_backends() -> Vec<String> {
        vec![format!(
            "cpu: rustfft/realfft, f32 and f64, {} threads",
            rayon::current_num_threads()
        )]
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
        a.validate("first input")?;
        b.validate("second input")?;
        let plan = Plan::new(op, mode, a.shape(), b.shape())?;
        match &self.active {
            Active::Cpu => Ok(cpu::execute(&plan, a, b)),
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
        b.validate("second input")?;
        let plan = Plan::new(op, mode, a_shape, b.shape())?;
        let inner = match &self.active {
            Active::Cpu => {
                let mut cpu = CpuPlan::new(&plan);
                cpu.set_template(b);
                PreparedInner::Cpu(cpu)
            }
        };
        Ok(Prepared { plan, inner })
    }
}

enum PreparedInner<T: Element> {
    Cpu(CpuPlan<T>),
}

/// A second argument prepared once (its spectrum kept), run against many first arguments.
pub struct Prepared<T: Element> {
    plan: Plan,
    inner: PreparedInner<T>,
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
        a.validate("first input")?;
        match &self.inner {
            PreparedInner::Cpu(cpu) => Ok(cpu.run(a)),
        }
    }
}
