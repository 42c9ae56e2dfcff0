//! Image registration by phase correlation, with subpixel refinement by the upsampled DFT.
//!
//! Follows scikit-image's `phase_cross_correlation` (space `"real"`, no masks, no
//! disambiguation), step for step:
//!
//! 1. `X = F(reference) · conj(F(moving))`; with [`Normalization::Phase`] each entry is divided
//!    by `max(|X|, 100 ε)` (ε of f64), which leaves zeros at zero instead of dividing by them.
//! 2. The integer peak: the first maximum of `|ifft2(X)|` in row-major order. Per axis of
//!    length `n`, an index above `n/2` (integer division) wraps to `index − n`.
//! 3. With `upsample > 1`, the upsampled DFT of Guizar-Sicairos, Thurman & Fienup (Opt. Lett.
//!    33, 156, 2008): the inverse DFT of `X` evaluated on a `⌈1.5·u⌉²` grid (on the CPU by
//!    chirp-z transforms, see `src/upsample.rs`; on the GPU by two matrix products) of spacing `1/u` pixels centred on the integer peak (grid index
//!    `⌊⌈1.5·u⌉/2⌋` is the peak itself). Its first maximum moves the shift by
//!    `(index − centre)/u`. Frequencies are numpy's `fftfreq` order (the Nyquist term of an
//!    even axis counts as negative).
//! 4. Axes of length 1 get shift 0.
//!
//! The shift `(dy, dx)` is the one that, applied to `moving`, registers it with `reference`:
//! if `moving(y, x) = reference(y − a, x − b)` the result is `(−a, −b)`.
//!
//! [`Registration::error`] is scikit-image's metric `√|1 − |CC|² / (E_ref · E_mov)|`, with `CC`
//! the correlation at the refined peak and `E` the spectral energies `Σ|F|²` (both divided by
//! `N` when `upsample == 1`, as there). With phase normalisation `CC` comes from the
//! normalised spectrum while the energies do not, so — in scikit-image too — the error is
//! close to 1 for any ordinary image; it is meaningful with [`Normalization::None`], where it
//! is 0 for a perfect circular shift. [`Registration::peak`] is `|CC| / N`, the height of the
//! cross-correlation surface at the refined shift: 1 for a perfect circular shift under phase
//! normalisation, a good match-quality number in `[0, 1]`.
//!
//! Constant images carry no shift information and are refused (scikit-image returns an
//! arbitrary shift and a NaN or infinite error for them).
//!
//! [`register`] and [`Registrar::new`] run in f64 with rustfft on the CPU; real images go
//! through real-to-complex transforms and keep half spectra (the other half is
//! `conj(X[−r, −c])`), complex ones whole spectra.
//! [`register_with`] and [`Registrar::with_engine`] follow the [`crate::Engine`]: on a GPU
//! engine (f32 or complex f32 data) the transforms, the cross-power spectrum, the integer
//! peak search and the upsampled DFT's matrix products run on the device in f32, and only
//! the peak and the small upsampled grid come back; f64 data stays on the CPU (or is refused
//! by an explicit GPU engine), as for every correlation. [`Registrar`] keeps the reference's
//! spectrum (and the FFT plans, or the device plan) for many moving images.
//!
//! ```
//! use xcorr::registration::{register, RegisterOptions};
//! use xcorr::{Array, Shape};
//! let reference = Array::from_fn(Shape::d2(32, 32), |r, c| ((r * 7 + c * c) % 13) as f64);
//! // moving(y, x) = reference(y − 3, x + 5), circularly.
//! let moving = Array::from_fn(Shape::d2(32, 32), |r, c| reference.at((r + 29) % 32, (c + 5) % 32));
//! let found = register(&reference, &moving, &RegisterOptions { upsample: 10, ..Default::default() }).unwrap();
//! assert_eq!(found.shift, (-3.0, 5.0));
//! assert!((found.peak - 1.0).abs() < 1e-9);
//! ```

pub use super::masked_registration::{masked_ncc, register_masked, MaskedRegistration};

use crate::array::{ArrayView, Element, Real, Shape};
use crate::cpu::{inverse_real_row, resize_for_overwrite, Fft2};
use crate::device::PhaseDevice;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::spec::{Mode, Op, Plan};
use crate::vision::upsample::{upsampled_dft, SpectrumView};
use num_complex::Complex;
use rayon::prelude::*;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::f64::consts::PI;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

type C64 = Complex<f64>;

/// A window applied to both images before the transforms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Window {
    /// The images as they are (scikit-image's behaviour).
    #[default]
    None,
    /// Subtract each image's mean, then multiply by the separable periodic Hann window
    /// `w(i)·w(j)`, `w(n) = 0.5 − 0.5 cos(2πn/N)` (scipy's `hann(N, sym=False)`; 1 for N = 1).
    /// Damps the edges, whose wrap-around otherwise looks like structure to the FFT; removing
    /// the mean first keeps the window's own shape out of the correlation.
    Hann,
}

impl FromStr for Window {
    type Err = Error;
    fn from_str(s: &str) -> Result<Window> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Window::None),
            "hann" | "hanning" => Ok(Window::Hann),
            _ => Err(Error::InvalidArgument(format!(
                "unknown window '{s}' (expected hann or none)"
            ))),
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Window::None => "none",
            Window::Hann => "hann",
        })
    }
}

/// How the cross-power spectrum is normalised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Normalization {
    /// Divide by the magnitude (floored at 100 ε): phase correlation.
    #[default]
    Phase,
    /// Plain cross-correlation.
    None,
}

/// The largest upsampling factor, on every backend. The refined region is 1.5 px wide
/// whatever the factor, which only sets how finely it is sampled: `⌈1.5·u⌉²` points, so the
/// grid's memory and work grow with u² (1000 gives 2.25 M points, 36 MB in f64), while
/// phase correlation of real images rarely resolves better than 1/100 px.
pub const MAX_UPSAMPLE: usize = 1000;

/// Parameters of a registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RegisterOptions {
    /// Subpixel precision `1/upsample` pixels; 1 means integer shifts only; at most
    /// [`MAX_UPSAMPLE`].
    pub upsample: usize,
    /// A window applied to both images before the transforms.
    pub window: Window,
    /// Phase correlation (the default) or plain cross-correlation.
    pub normalization: Normalization,
}

impl RegisterOptions {
    /// Refuse an upsampling factor outside `1..=`[`MAX_UPSAMPLE`] (every backend checks this
    /// before any work).
    pub fn check(&self) -> Result<()> {
        if self.upsample == 0 || self.upsample > MAX_UPSAMPLE {
            return Err(Error::InvalidArgument(format!(
                "upsample factor must be from 1 to {MAX_UPSAMPLE} (1/{MAX_UPSAMPLE} px is finer \
                 than phase correlation resolves), got {}",
                self.upsample
            )));
        }
        Ok(())
    }
}

impl Default for RegisterOptions {
    /// Integer shifts, no window, phase normalisation (scikit-image's defaults).
    fn default() -> Self {
        RegisterOptions {
            upsample: 1,
            window: Window::None,
            normalization: Normalization::Phase,
        }
    }
}

/// The result of a registration (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Registration {
    /// `(dy, dx)`: applied to `moving`, registers it with `reference`.
    pub shift: (f64, f64),
    /// scikit-image's error metric, `√|1 − |CC|²/(E_ref·E_mov)|`.
    pub error: f64,
    /// `|CC| / N`: the cross-correlation surface's height at the shift.
    pub peak: f64,
    /// The phase of `CC` (scikit-image's `phasediff`), radians.
    pub phase_difference: f64,
}

/// Register `moving` with `reference` (same shape) on the CPU, in f64. See the module docs.
pub fn register<'a, T: Element>(
    reference: impl Into<ArrayView<'a, T>>,
    moving: impl Into<ArrayView<'a, T>>,
    options: &RegisterOptions,
) -> Result<Registration> {
    Registrar::new(reference, options)?.register(moving)
}

/// [`register`] on the engine's backend (see the module docs).
///
/// ```
/// use xcorr::registration::{register_with, RegisterOptions};
/// use xcorr::{Array, Engine, Shape};
/// let reference = Array::from_fn(Shape::d2(32, 32), |r, c| ((r * 7 + c * c) % 13) as f32);
/// let moving = Array::from_fn(Shape::d2(32, 32), |r, c| reference.at((r + 30) % 32, (c + 3) % 32));
/// let options = RegisterOptions { upsample: 10, ..Default::default() };
/// let found = register_with(&Engine::new(), &reference, &moving, &options).unwrap();
/// assert_eq!(found.shift, (-2.0, 3.0));
/// ```
pub fn register_with<'a, T: Element>(
    engine: &Engine,
    reference: impl Into<ArrayView<'a, T>>,
    moving: impl Into<ArrayView<'a, T>>,
    options: &RegisterOptions,
) -> Result<Registration> {
    crate::blocking::wait(register_with_async(engine, reference, moving, options))
}

/// [`register_with`] as a future (the way to register on a browser's GPU).
pub async fn register_with_async<'a, T: Element>(
    engine: &Engine,
    reference: impl Into<ArrayView<'a, T>>,
    moving: impl Into<ArrayView<'a, T>>,
    options: &RegisterOptions,
) -> Result<Registration> {
    Registrar::build(engine, reference.into(), options, false)?
        .register_async(moving)
        .await
}

/// A reference image prepared once (its spectrum and the FFT plans kept) to register many
/// moving images against.
pub struct Registrar {
    shape: Shape,
    options: RegisterOptions,
    backend: RegistrarBackend,
    /// `Σ |F(reference)|²`.
    energy: f64,
}

enum RegistrarBackend {
    Host {
        transforms: Arc<Transforms>,
        reference: Spectrum,
    },
    Device(Box<dyn PhaseDevice>),
}

impl Registrar {
    /// On the CPU, in f64.
    pub fn new<'a, T: Element>(
        reference: impl Into<ArrayView<'a, T>>,
        options: &RegisterOptions,
    ) -> Result<Self> {
        Registrar::with_engine(&Engine::cpu(), reference, options)
    }

    /// On the engine's backend (see the module docs).
    pub fn with_engine<'a, T: Element>(
        engine: &Engine,
        reference: impl Into<ArrayView<'a, T>>,
        options: &RegisterOptions,
    ) -> Result<Self> {
        Registrar::build(engine, reference.into(), options, true)
    }

    /// `keep`: many moving images follow (a device plan of its own, not the engine's shared
    /// one).
    fn build<T: Element>(
        engine: &Engine,
        reference: ArrayView<'_, T>,
        options: &RegisterOptions,
        keep: bool,
    ) -> Result<Self> {
        options.check()?;
        let shape = reference.shape();
        let region = if options.upsample > 1 {
            upsampled_region(options.upsample as f64)
        } else {
            0
        };
        let phase = options.normalization == Normalization::Phase;
        let mut energy = 0.0;
        let device = engine.phase_device::<T>(shape, region, phase, keep, || {
            let image = prepare_image(reference, "reference", options.window)?;
            energy = parseval_energy(&image);
            Ok(image)
        })?;
        if let Some(device) = device {
            return Ok(Registrar {
                shape,
                options: *options,
                backend: RegistrarBackend::Device(device),
                energy,
            });
        }
        // Cached by the engine: a one-shot registration reuses the plans and the spectrum
        // buffers of the last one of its shape.
        let key = Plan::new(Op::Correlate, Mode::CIRCULAR, shape, shape)?;
        let transforms = engine
            .plan_cache()
            .get_or_build(&key, || Ok::<_, Error>(Transforms::new(shape.axes())))?;
        let spectrum = transforms.image_spectrum(reference, "reference", options.window)?;
        let energy = spectrum.energy(shape.cols());
        Ok(Registrar {
            shape,
            options: *options,
            backend: RegistrarBackend::Host {
                transforms,
                reference: spectrum,
            },
            energy,
        })
    }

    /// The shift that registers `moving` with the reference.
    pub fn register<'a, T: Element>(
        &self,
        moving: impl Into<ArrayView<'a, T>>,
    ) -> Result<Registration> {
        crate::blocking::wait(self.register_async(moving))
    }

    /// [`Registrar::register`] as a future.
    pub async fn register_async<'a, T: Element>(
        &self,
        moving: impl Into<ArrayView<'a, T>>,
    ) -> Result<Registration> {
        let moving = moving.into();
        if moving.shape() != self.shape {
            return Err(Error::ShapeMismatch(format!(
                "reference and moving images must have the same shape, got {} and {}",
                self.shape,
                moving.shape()
            )));
        }
        let [rows, cols] = self.shape.axes();
        let n = (rows * cols) as f64;
        let u = self.options.upsample as f64;
        let region = upsampled_region(u);
        let centre = (region / 2) as f64;
        let wrap = |i: usize, len: usize| {
            if i > len / 2 {
                i as f64 - len as f64
            } else {
                i as f64
            }
        };
        let integer_shift = |index: usize| [wrap(index / cols, rows), wrap(index % cols, cols)];
        // The correlation at the peak (`cc`), the energies' product it is compared with, the
        // moving image's energy and the shift.
        let (cc, energy_moving, mut shift) = match &self.backend {
            RegistrarBackend::Host {
                transforms,
                reference,
            } => {
                // Real images keep half spectra throughout (half the transform work); a
                // complex image, or a real one against a complex reference, the whole.
                let moving =
                    transforms.image_spectrum(moving, "moving image", self.options.window)?;
                let energy_moving = moving.energy(cols);
                let (reference, mut product) = match (reference, moving) {
                    (Spectrum::Half(r), Spectrum::Half(m)) => {
                        (r.as_slice().into(), Spectrum::Half(m))
                    }
                    (r, m) => (
                        std::borrow::Cow::Owned(r.to_full([rows, cols])),
                        Spectrum::Full(m.to_full([rows, cols])),
                    ),
                };
                let values = match &mut product {
                    Spectrum::Full(x) | Spectrum::Half(x) => x,
                };
                // The moving spectrum becomes the cross-power spectrum in place.
                let phase = self.options.normalization == Normalization::Phase;
                let floor = 100.0 * f64::EPSILON;
                values
                    .par_iter_mut()
                    .zip(reference.par_iter())
                    .for_each(|(v, a)| {
                        *v = a * v.conj();
                        if phase {
                            *v /= magnitude(*v).max(floor);
                        }
                    });
                // The peak search transforms a copy: the upsampled DFT needs the product.
                let (index, peak_value) = match &product {
                    Spectrum::Full(x) => first_max_abs(&transforms.inverse(x.clone())),
                    Spectrum::Half(x) => {
                        let mut copy = transforms.buffer(x.len());
                        copy.copy_from_slice(x);
                        let (index, v) = transforms.inverse_half_peak(&mut copy);
                        transforms.recycle(copy);
                        (index, C64::new(v, 0.0))
                    }
                };
                let mut shift = integer_shift(index);
                let cc = if self.options.upsample == 1 {
                    peak_value
                } else {
                    let grid = upsampled_dft(
                        product.view(),
                        [rows, cols],
                        region,
                        self.options.upsample,
                        shift.map(|s| s as i64),
                        region / 2,
                    );
                    refine(&grid, region, centre, u, &mut shift)
                };
                transforms.recycle(product.into_values());
                (cc, energy_moving, shift)
            }
            RegistrarBackend::Device(device) => {
                let image = prepare_image(moving, "moving image", self.options.window)?;
                let index = device.integer_peak(&to_c32(&image)).await?;
                let mut shift = integer_shift(index);
                let cc = if self.options.upsample == 1 {
                    to_c64(device.value_at(index).await?)
                } else {
                    let mut kernels = dft_kernel(cols, region, shift[1], centre, u);
                    kernels.extend(dft_kernel(rows, region, shift[0], centre, u));
                    let grid: Vec<C64> = device
                        .upsampled(&to_c32(&kernels))
                        .await?
                        .into_iter()
                        .map(to_c64)
                        .collect();
                    refine(&grid, region, centre, u, &mut shift)
                };
                (cc, parseval_energy(&image), shift)
            }
        };
        // ifft2 divides by N where the upsampled DFT does not; scikit-image divides the
        // energies to match.
        let (cc, amp) = if self.options.upsample == 1 {
            (cc / n, self.energy * energy_moving / (n * n))
        } else {
            (cc, self.energy * energy_moving)
        };
        let peak = if self.options.upsample == 1 {
            cc.norm()
        } else {
            cc.norm() / n
        };
        for (axis, len) in [rows, cols].into_iter().enumerate() {
            if len == 1 {
                shift[axis] = 0.0;
            }
        }
        let error = if amp > 0.0 {
            (1.0 - cc.norm_sqr() / amp).abs().sqrt()
        } else {
            1.0
        };
        Ok(Registration {
            shift: (shift[0], shift[1]),
            error,
            peak,
            phase_difference: cc.im.atan2(cc.re),
        })
    }
}

/// The side of the upsampled grid: `⌈1.5·u⌉`.
fn upsampled_region(u: f64) -> usize {
    (1.5 * u).ceil() as usize
}

/// The first maximum of the upsampled grid moves the shift by `(index − centre)/u`; returns
/// the grid's value there.
fn refine(grid: &[C64], region: usize, centre: f64, u: f64, shift: &mut [f64; 2]) -> C64 {
    let (best, value) = first_max_abs(grid);
    shift[0] += ((best / region) as f64 - centre) / u;
    shift[1] += ((best % region) as f64 - centre) / u;
    value
}

/// `Σ |F(x)|² = N · Σ |x|²` (Parseval), without the transform.
fn parseval_energy(image: &[C64]) -> f64 {
    image.len() as f64 * image.iter().map(|v| v.norm_sqr()).sum::<f64>()
}

fn to_c32(x: &[C64]) -> Vec<Complex<f32>> {
    x.iter()
        .map(|v| Complex::new(v.re as f32, v.im as f32))
        .collect()
}

fn to_c64(v: Complex<f32>) -> C64 {
    C64::new(v.re as f64, v.im as f64)
}

/// Validate an image and turn it into f64 complex values, windowed as asked.
fn prepare_image<T: Element>(x: ArrayView<'_, T>, what: &str, window: Window) -> Result<Vec<C64>> {
    x.validate(what)?;
    let values = x
        .data()
        .iter()
        .map(|v| {
            let c = v.to_complex();
            C64::new(c.re.to_f64(), c.im.to_f64())
        })
        .collect();
    check_and_window(values, x.shape(), what, window)
}

/// [`prepare_image`] for a real image, as real values (half the memory, and the input of
/// the real-to-complex transforms).
fn prepare_real_image<T: Element>(
    x: ArrayView<'_, T>,
    what: &str,
    window: Window,
) -> Result<Vec<f64>> {
    x.validate(what)?;
    let values = x
        .data()
        .iter()
        .map(|v| v.to_complex().re.to_f64())
        .collect();
    check_and_window(values, x.shape(), what, window)
}

/// Refuse a constant image: it carries no shift.
fn refuse_constant<V: PartialEq>(values: &[V], what: &str) -> Result<()> {
    if values.iter().all(|v| *v == values[0]) {
        return Err(Error::InvalidArgument(format!(
            "{what} is constant: it carries no shift to measure"
        )));
    }
    Ok(())
}

/// Refuse a constant image; apply the window (real or complex values alike).
fn check_and_window<V>(values: Vec<V>, shape: Shape, what: &str, window: Window) -> Result<Vec<V>>
where
    V: Copy
        + PartialEq
        + std::iter::Sum
        + std::ops::Sub<Output = V>
        + std::ops::Mul<f64, Output = V>
        + std::ops::Div<f64, Output = V>,
{
    refuse_constant(&values, what)?;
    Ok(match window {
        Window::None => values,
        Window::Hann => {
            let [rows, cols] = shape.axes();
            let mean = values.iter().copied().sum::<V>() / values.len() as f64;
            let (wr, wc) = (hann(rows), hann(cols));
            values
                .iter()
                .enumerate()
                .map(|(i, &v)| (v - mean) * wr[i / cols] * wc[i % cols])
                .collect()
        }
    })
}

impl Drop for Registrar {
    /// The reference's spectrum goes back to the (engine-cached) transforms, for the next
    /// registrar of this shape.
    fn drop(&mut self) {
        if let RegistrarBackend::Host {
            transforms,
            reference,
        } = &mut self.backend
        {
            transforms
                .recycle(std::mem::replace(reference, Spectrum::Half(Vec::new())).into_values());
        }
    }
}

/// A spectrum on the host: whole, or (of a real image) its first `cols/2 + 1` columns.
enum Spectrum {
    Full(Vec<C64>),
    Half(Vec<C64>),
}

impl Spectrum {
    fn into_values(self) -> Vec<C64> {
        match self {
            Spectrum::Full(x) | Spectrum::Half(x) => x,
        }
    }

    fn view(&self) -> SpectrumView<'_> {
        match self {
            Spectrum::Full(x) => SpectrumView::Full(x),
            Spectrum::Half(x) => SpectrumView::Half(x),
        }
    }

    /// `Σ |F|²` over the whole spectrum: a half spectrum's columns other than 0 and the
    /// Nyquist column stand for two.
    fn energy(&self, cols: usize) -> f64 {
        match self {
            Spectrum::Full(x) => x.iter().map(|v| v.norm_sqr()).sum(),
            Spectrum::Half(x) => {
                let width = cols / 2 + 1;
                x.chunks(width)
                    .map(|row| {
                        row.iter()
                            .enumerate()
                            .map(|(c, v)| {
                                let single = c == 0 || (cols % 2 == 0 && c == width - 1);
                                v.norm_sqr() * if single { 1.0 } else { 2.0 }
                            })
                            .sum::<f64>()
                    })
                    .sum()
            }
        }
    }

    /// The whole spectrum (a half one filled in by `F[r, c] = conj(F[−r, −c])`).
    fn to_full(&self, [rows, cols]: [usize; 2]) -> Vec<C64> {
        match self {
            Spectrum::Full(x) => x.clone(),
            Spectrum::Half(x) => {
                let width = cols / 2 + 1;
                let mut full = vec![C64::new(0.0, 0.0); rows * cols];
                full.par_chunks_mut(cols).enumerate().for_each(|(r, row)| {
                    row[..width].copy_from_slice(&x[r * width..(r + 1) * width]);
                    let mirror = &x[((rows - r) % rows) * width..][..width];
                    for (c, v) in row.iter_mut().enumerate().skip(width) {
                        *v = mirror[cols - c].conj();
                    }
                });
                full
            }
        }
    }
}

/// The periodic Hann window of length `n` (1 for `n = 1`).
pub fn hann(n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![1.0];
    }
    (0..n)
        .map(|i| 0.5 - 0.5 * (2.0 * PI * i as f64 / n as f64).cos())
        .collect()
}

/// `|v|`: `√(re² + im²)` where that does not overflow (hypot, which always guards, was 5% of
/// a registration), else hypot.
fn magnitude(v: C64) -> f64 {
    let sq = v.norm_sqr();
    if sq.is_finite() {
        sq.sqrt()
    } else {
        v.norm()
    }
}

/// Index and value of the first element of largest magnitude, of a real array.
fn first_max_abs_real(x: &[f64]) -> (usize, f64) {
    let mut best = 0;
    let mut best_abs = f64::NEG_INFINITY;
    for (i, v) in x.iter().enumerate() {
        if v.abs() > best_abs {
            best = i;
            best_abs = v.abs();
        }
    }
    (best, x[best])
}

/// Index and value of the first element of largest magnitude.
fn first_max_abs(x: &[C64]) -> (usize, C64) {
    let mut best = 0;
    let mut best_abs = f64::NEG_INFINITY;
    for (i, v) in x.iter().enumerate() {
        let a = magnitude(*v);
        if a > best_abs {
            best = i;
            best_abs = a;
        }
    }
    (best, x[best])
}

/// numpy's `fftfreq(n)·n`: 0, 1, …, then the negative frequencies (Nyquist negative).
fn signed_frequency(k: usize, n: usize) -> f64 {
    if k < n.div_ceil(2) {
        k as f64
    } else {
        k as f64 - n as f64
    }
}

/// One axis's kernel of the upsampled DFT as a matrix (the GPU's two matrix products):
/// `kernel[g · len + k] = exp(2πi · f_k · p_g / len)` for grid index `g` at position
/// `p_g = axis_shift + (g − centre)/u` and signed frequency `f_k`, in f64.
fn dft_kernel(len: usize, region: usize, axis_shift: f64, centre: f64, u: f64) -> Vec<C64> {
    let mut out = Vec::with_capacity(region * len);
    for g in 0..region {
        let position = axis_shift + (g as f64 - centre) / u;
        for k in 0..len {
            let angle = 2.0 * PI * signed_frequency(k, len) * position / len as f64;
            out.push(C64::new(angle.cos(), angle.sin()));
        }
    }
    out
}

/// 2-D complex FFTs of one shape in f64, planned once.
struct Transforms {
    shape: [usize; 2],
    row_real: Arc<dyn RealToComplex<f64>>,
    row_real_inverse: Arc<dyn ComplexToReal<f64>>,
    forward: Fft2<f64>,
    inverse: Fft2<f64>,
    /// Spectrum-sized buffers kept for the next call ([`buffer`](Self::buffer)). Allocated
    /// fresh on every call, a 1024² registration's three 8 MB buffers were, depending on
    /// glibc's trimming, handed back to the kernel and faulted in again each time: W6
    /// measured 20 or 31 ms from one build to the next with no change in its arithmetic.
    spare: Mutex<Vec<Vec<C64>>>,
}

/// Buffers a [`Transforms`] keeps: the reference's and the moving image's spectra and the
/// peak search's copy.
const SPARE_BUFFERS: usize = 3;

impl Transforms {
    fn new(shape: [usize; 2]) -> Self {
        let mut real = RealFftPlanner::new();
        Transforms {
            spare: Mutex::new(Vec::new()),
            shape,
            row_real: real.plan_fft_forward(shape[1]),
            row_real_inverse: real.plan_fft_inverse(shape[1]),
            forward: Fft2::new(shape[0], shape[1], false),
            inverse: Fft2::new(shape[0], shape[1], true),
        }
    }

    /// A buffer of `len` elements, kept from an earlier call where there is one. Its
    /// contents are stale: callers overwrite every element.
    fn buffer(&self, len: usize) -> Vec<C64> {
        let kept = self.spare.lock().ok().and_then(|mut spare| spare.pop());
        let mut v = kept.unwrap_or_default();
        resize_for_overwrite(&mut v, len, C64::new(0.0, 0.0));
        v
    }

    /// Keep `v` for a later [`buffer`](Self::buffer).
    fn recycle(&self, v: Vec<C64>) {
        if let Ok(mut spare) = self.spare.lock() {
            if spare.len() < SPARE_BUFFERS {
                spare.push(v);
            }
        }
    }

    fn forward(&self, mut x: Vec<C64>) -> Vec<C64> {
        self.forward.process(&mut x);
        x
    }

    /// The validated, windowed image's spectrum: half of it for a real element type, all of
    /// it for a complex one.
    fn image_spectrum<T: Element>(
        &self,
        x: ArrayView<'_, T>,
        what: &str,
        window: Window,
    ) -> Result<Spectrum> {
        Ok(if T::IS_COMPLEX {
            Spectrum::Full(self.forward(prepare_image(x, what, window)?))
        } else if window == Window::None {
            // No window: the rows load straight into the transforms, without a
            // whole-image f64 copy (8 MB of fresh pages for a 1024² image).
            x.validate(what)?;
            refuse_constant(x.data(), what)?;
            let data = x.data();
            let nc = self.shape[1];
            Spectrum::Half(self.forward_half(|r, line| {
                for (l, v) in line.iter_mut().zip(&data[r * nc..(r + 1) * nc]) {
                    *l = v.to_complex().re.to_f64();
                }
            }))
        } else {
            let image = prepare_real_image(x, what, window)?;
            let nc = self.shape[1];
            Spectrum::Half(self.forward_half(|r, line| {
                line.copy_from_slice(&image[r * nc..(r + 1) * nc]);
            }))
        })
    }

    /// The spectrum of a real image as its first `cols/2 + 1` columns: real-to-complex row
    /// transforms, then the columns of that (half the work of the complex transform).
    /// `load(r, line)` fills `line` with row `r` of the image.
    fn forward_half(&self, load: impl Fn(usize, &mut [f64]) + Sync) -> Vec<C64> {
        let [nr, nc] = self.shape;
        let width = nc / 2 + 1;
        let r2c = &self.row_real;
        // Every element is overwritten by the row transforms.
        let mut half = self.buffer(nr * width);
        half.par_chunks_mut(width).enumerate().for_each_init(
            || (vec![0.0; nc], r2c.make_scratch_vec()),
            |(line, scratch), (r, out)| {
                load(r, line);
                r2c.process_with_scratch(line, out, scratch)
                    .expect("buffer lengths match the plan");
            },
        );
        self.forward.process_columns(&mut half, width);
        half
    }

    /// The index and value of the first element of largest magnitude of the inverse of a
    /// Hermitian spectrum given by its first `cols/2 + 1` columns (transformed in place): the
    /// real image, unnormalised (numpy's `ifft2` times N), searched row by row as the rows
    /// come out of their transforms instead of being kept.
    fn inverse_half_peak(&self, half: &mut [C64]) -> (usize, f64) {
        let nc = self.shape[1];
        let width = nc / 2 + 1;
        self.inverse.process_columns(half, width);
        let c2r = &self.row_real_inverse;
        let bests: Vec<(usize, f64)> = half
            .par_chunks_mut(width)
            .enumerate()
            .map_init(
                || (vec![0.0; nc], c2r.make_scratch_vec()),
                |(row, scratch), (r, spectrum)| {
                    inverse_real_row(c2r.as_ref(), spectrum, row, scratch);
                    let (c, v) = first_max_abs_real(row);
                    (r * nc + c, v)
                },
            )
            .collect();
        // Rows in order, a later one only when strictly larger: the first maximum.
        bests
            .into_iter()
            .reduce(|a, b| if b.1.abs() > a.1.abs() { b } else { a })
            .expect("at least one row")
    }

    /// The inverse transform, unnormalised (numpy's `ifft2` times N).
    fn inverse(&self, mut x: Vec<C64>) -> Vec<C64> {
        self.inverse.process(&mut x);
        x
    }
}
