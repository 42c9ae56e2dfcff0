//! Template matching with OpenCV's six `matchTemplate` methods.
//!
//! For a scene `I` of `H × W` and a template `T` of `h × w` the result has shape
//! `(H − h + 1, W − w + 1)`; element `(y, x)` scores the template placed with its top-left
//! corner at `(y, x)`. With `Σ` over the template's pixels `(i, j)`, `I_w` the window of the
//! scene under it, `T̄` and `Ī_w` their means and `T' = T − T̄`, `I' = I_w − Ī_w`:
//!
//! | method | formula | best |
//! | --- | --- | --- |
//! | `sqdiff` | `Σ (T − I_w)²` | min |
//! | `sqdiff-normed` | `Σ (T − I_w)² / √(Σ T² · Σ I_w²)`, capped at 1 as OpenCV does | min |
//! | `ccorr` | `Σ T · I_w` | max |
//! | `ccorr-normed` | `Σ T · I_w / √(Σ T² · Σ I_w²)` | max |
//! | `ccoeff` | `Σ T' · I'` | max |
//! | `ccoeff-normed` | `Σ T' · I' / √(Σ T'² · Σ I'²)` | max |
//!
//! # How it is computed
//!
//! Only one sum couples the template to the scene: `Q = Σ T' · (I_w − c)`, a valid-mode
//! cross-correlation of the scene minus a constant `c` (its mean) with the zero-mean template.
//! That goes through the FFT, on whatever backend the [`Engine`] has. Every method is then `Q`
//! plus per-window sums `Σ (I_w − c)` and `Σ (I_w − c)²` — computed in f64 by
//! [`crate::window_sums`] (streamed row by row, or from summed-area tables for a [`Scene`])
//! — and a few template constants, combined in f64. Centring both inputs keeps the FFT's
//! rounding small (it scales with the inputs' magnitude, and an image's mean is most of it)
//! and removes most of the cancellation in `sqdiff`.
//!
//! # Flat windows and flat templates
//!
//! A normalised method divides by a norm that vanishes on a flat (`ccoeff-normed`) or zero
//! (`ccorr-normed`, `sqdiff-normed`) window or template. The result is then a documented
//! finite number, never NaN or infinity:
//!
//! | case | `ccoeff-normed`, `ccorr-normed` | `sqdiff-normed` | OpenCV 4.x / 5.0 |
//! | --- | --- | --- | --- |
//! | window degenerate, template not | 0 | 1 | same |
//! | template degenerate, window not | 0 | 1 | same, except `ccoeff-normed`: 1 everywhere |
//! | both degenerate | 1 | 0 | `ccoeff-normed` 1; `ccorr-normed` 0; `sqdiff-normed` 1 |
//!
//! The rule: when exactly one side has no pattern there is no match (the worst normalised
//! score: 0 for the correlations, which is what OpenCV returns; 1 for `sqdiff-normed`, its
//! cap); when both have none they are equal in the sense the method measures (a flat
//! template "is" a flat window up to brightness; a zero template is a zero window), so the
//! score is perfect. OpenCV instead fills the whole `ccoeff-normed` map with 1 for a flat
//! template, which ranks every placement as a perfect match, and scores two zero patches as
//! no match; we depart from it there on purpose.
//!
//! "Degenerate" means the energy in question is at most `n · (100 ε · a)²`: the values vary by
//! less than about 100 ε of the magnitude `a` of what is summed (`ε` is the element type's
//! machine epsilon, `n = h·w`). That magnitude is taken after centring, as the sums are: for
//! `Σ T'²` the largest `|T − T̄|`, for windows the largest `|I − c|` over the scene (which
//! also sets the FFT numerator's rounding), for `Σ T²` the largest `|T|`; windows add a bound
//! on the rounding noise of the window sums. So a flat template is one that is constant,
//! and a scene `300 + 0.01·U` is not flat: its windows vary by far more than the rounding.
//!
//! # Range
//!
//! Scene and template far from 1 in magnitude (f32 beyond about `2^±32`) are scaled by one
//! power of two before the transform (exact) and the scores back after, so that only a map
//! the element type cannot hold (`sqdiff` of values near 1e19 in f32) fails, with
//! [`Error::OutOfRange`]; the normalised methods work at any magnitude. A [`Scene`] fixes the
//! factor from the scene, a [`Tracker`] from the template.
//!
//! Normalised scores are clamped to their mathematical range (`[−1, 1]`, and `[0, 1]` for
//! `sqdiff-normed`, whose values above 1 OpenCV also reports as 1), and `sqdiff` to `≥ 0`:
//! rounding can step just outside.
//!
//! # Reuse
//!
//! * [`match_template`]: one scene, one template.
//! * [`Scene`]: one scene, many templates: the scene's spectrum and summed-area tables are
//!   computed once.
//! * [`Tracker`]: one template, many frames of one shape: the template's spectrum is kept.
//!
//! # Masks and colour
//!
//! Every call above takes the scene (or frame) as an [`Image`] and the template as a
//! [`Template`]: an `&Array` or an [`ArrayView`] converts to either (grey, unmasked), a slice
//! of planes is a colour image, and [`Template::new`] adds a [`Mask`]. A grey unmasked match
//! runs the algorithm described here; a mask or more than one channel runs OpenCV's masked
//! formulas, summed over the channels (see [`crate::vision::masked`]).
//!
//! ```
//! use xcorr::matching::{match_template, Method};
//! use xcorr::{peaks, Array, Engine, Shape};
//! // Pseudo-random texture, so that the template occurs once.
//! let texture = |r: usize, c: usize| ((r * 97 + c) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54;
//! let scene = Array::from_fn(Shape::d2(20, 24), |r, c| texture(r, c) as f32 / 1024.0);
//! let template = Array::from_fn(Shape::d2(4, 5), |r, c| scene.at(9 + r, 11 + c));
//! let map = match_template(&Engine::cpu(), &scene, &template, Method::CCoeffNormed).unwrap();
//! assert_eq!(map.shape(), Shape::d2(17, 20));
//! let best = peaks::best(map.view(), Method::CCoeffNormed.extremum()).unwrap();
//! assert_eq!((best.row, best.col), (9, 11));
//! assert!((best.score - 1.0).abs() < 1e-4);
//! ```

use crate::array::{Array, ArrayView, Element, Real, Shape};
use crate::device::{DeviceResult, DeviceTicket, FrameTerms, MatchDevice, TemplateTerms, Wanted};
use crate::engine::{Engine, HostNumerator, Matcher, Prepared};
use crate::error::{Error, Result};
use crate::range;
use crate::spec::{next_fast_len, Mode, Op};
use crate::vision::peaks::{self, Extremum, Peak, PeakOptions};
use crate::vision::window_sums::{SummedArea, WindowStream};
use rayon::prelude::*;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

pub use super::inputs::{Image, Template};
pub use super::masked::Mask;
use super::masked::{self, MaskedScene, MaskedTracker};

/// A real element type the matcher works in: `f32` or `f64`.
pub trait Sample: Element<Real = Self> + Real {}
impl<T: Element<Real = T> + Real> Sample for T {}

fn real_to<T: Sample>(v: T) -> f64 {
    Real::to_f64(v)
}

fn real_from<T: Sample>(v: f64) -> T {
    <T as Real>::from_f64(v)
}

/// OpenCV's `matchTemplate` methods (see the module docs for the formulas).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Method {
    /// `Σ (T − I)²`: 0 for a perfect match, best is the minimum (`TM_SQDIFF`).
    SqDiff,
    /// `sqdiff / √(Σ T² · Σ I²)`, in `[0, 1]`, best is the minimum (`TM_SQDIFF_NORMED`).
    SqDiffNormed,
    /// `Σ T · I`, the plain correlation (`TM_CCORR`).
    CCorr,
    /// `ccorr / √(Σ T² · Σ I²)`, in `[0, 1]` for non-negative data (`TM_CCORR_NORMED`).
    CCorrNormed,
    /// `Σ T' · I'` with both means removed per window (`TM_CCOEFF`).
    CCoeff,
    /// `ccoeff / √(Σ T'² · Σ I'²)`, the normalised cross-correlation coefficient in
    /// `[−1, 1]` (`TM_CCOEFF_NORMED`, the default).
    #[default]
    CCoeffNormed,
}

impl Method {
    /// All six, in OpenCV's order (`TM_SQDIFF` = 0 … `TM_CCOEFF_NORMED` = 5).
    pub const ALL: [Method; 6] = [
        Method::SqDiff,
        Method::SqDiffNormed,
        Method::CCorr,
        Method::CCorrNormed,
        Method::CCoeff,
        Method::CCoeffNormed,
    ];

    /// The name used on the command line: `sqdiff`, `sqdiff-normed`, …
    pub fn name(&self) -> &'static str {
        match self {
            Method::SqDiff => "sqdiff",
            Method::SqDiffNormed => "sqdiff-normed",
            Method::CCorr => "ccorr",
            Method::CCorrNormed => "ccorr-normed",
            Method::CCoeff => "ccoeff",
            Method::CCoeffNormed => "ccoeff-normed",
        }
    }

    /// Whether scores are normalised by the window and template energies.
    pub fn is_normed(&self) -> bool {
        matches!(
            self,
            Method::SqDiffNormed | Method::CCorrNormed | Method::CCoeffNormed
        )
    }

    /// Which end of the score range is the best match: the minimum for `sqdiff*`.
    pub fn extremum(&self) -> Extremum {
        match self {
            Method::SqDiff | Method::SqDiffNormed => Extremum::Min,
            _ => Extremum::Max,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = Error;
    /// Accepts the names of [`Method::name`], case-insensitively, with `_` for `-` and an
    /// optional `tm_` prefix (`TM_CCOEFF_NORMED`).
    fn from_str(s: &str) -> Result<Method> {
        let key = s.trim().to_ascii_lowercase().replace('_', "-");
        let key = key.strip_prefix("tm-").unwrap_or(&key);
        Method::ALL
            .into_iter()
            .find(|m| m.name() == key)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "unknown method '{s}' (expected sqdiff, sqdiff-normed, ccorr, ccorr-normed, \
                     ccoeff or ccoeff-normed)"
                ))
            })
    }
}

/// One scene, one template: the `(H − h + 1, W − w + 1)` map of `method`'s scores.
///
/// On a GPU engine (f32 data) the whole map is computed on the device (numerator, window
/// sums, scores) and read back once; see [`match_peaks`] to read back only the peaks.
pub fn match_template<'a, T: Sample>(
    engine: &Engine,
    scene: impl Into<Image<'a, T>>,
    template: impl Into<Template<'a, T>>,
    method: Method,
) -> Result<Array<T>> {
    crate::blocking::wait(match_template_async(engine, scene, template, method))
}

/// [`match_template`] as a future: the device's results are awaited, never waited for by
/// blocking the thread (the way to match on a browser's GPU).
pub async fn match_template_async<'a, T: Sample>(
    engine: &Engine,
    scene: impl Into<Image<'a, T>>,
    template: impl Into<Template<'a, T>>,
    method: Method,
) -> Result<Array<T>> {
    let (scene, template) = (scene.into(), template.into());
    match (scene.grey(), template.plain_grey()) {
        (Some(scene), Some(template)) => grey_map(engine, scene, template, method).await,
        _ => masked::match_map(engine, &scene, &template, method).await,
    }
}

/// [`match_template_async`] of one grey scene and one unmasked grey template.
async fn grey_map<T: Sample>(
    engine: &Engine,
    scene: ArrayView<'_, T>,
    template: ArrayView<'_, T>,
    method: Method,
) -> Result<Array<T>> {
    let (tpl, stats, k) = match_inputs(scene, template)?;
    if k != 0 {
        let (scene, template) = (scaled(scene, k), scaled(template, k));
        let mut map = Box::pin(grey_map(engine, scene.view(), template.view(), method)).await?;
        unscale_scores(method, map.data_mut(), k)?;
        return Ok(map);
    }
    let out = out_shape(scene.shape(), template.shape());
    match matcher(engine, scene.shape(), &tpl, method, false)? {
        Matcher::Host(numerator) => {
            let mut map = Vec::new();
            host_map(&numerator, scene, &stats, &tpl, method, &mut map, None)?;
            Array::new(map, out)
        }
        Matcher::Device(device) => {
            device_map(device.as_ref(), scene, &stats, &tpl, method, out).await
        }
    }
}

/// The best matches of `template` in `scene`: `options.count` peaks at least
/// `options.min_distance` apart (greedy non-maximum suppression, as [`peaks::top_k`]), best
/// first, refined to subpixel precision when `options.subpixel`. `options.extremum` is
/// ignored: the method decides which end is best.
///
/// On a GPU engine (f32 data) the peak search runs on the device as well and only the peaks
/// come back, for up to [`MAX_DEVICE_PEAKS`] peaks (one reduction per peak; more are found on
/// the host from the read-back map). The results are those of [`match_template`] followed
/// by [`peaks::top_k`], up to the rounding differences between the backends' maps.
///
/// ```
/// use xcorr::matching::{match_peaks, Method};
/// use xcorr::peaks::PeakOptions;
/// use xcorr::{Array, Engine, Shape};
/// let texture = |r: usize, c: usize| ((r * 97 + c) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54;
/// let scene = Array::from_fn(Shape::d2(24, 24), |r, c| texture(r, c) as f32 / 1024.0);
/// let template = Array::from_fn(Shape::d2(5, 5), |r, c| scene.at(12 + r, 3 + c));
/// let options = PeakOptions { count: 2, min_distance: 3.0, ..PeakOptions::default() };
/// let found = match_peaks(&Engine::cpu(), &scene, &template, Method::SqDiff, &options).unwrap();
/// assert_eq!((found[0].row, found[0].col), (12, 3));
/// assert_eq!(found.len(), 2);
/// ```
pub fn match_peaks<'a, T: Sample>(
    engine: &Engine,
    scene: impl Into<Image<'a, T>>,
    template: impl Into<Template<'a, T>>,
    method: Method,
    options: &PeakOptions,
) -> Result<Vec<Peak>> {
    crate::blocking::wait(match_peaks_async(engine, scene, template, method, options))
}

/// [`match_peaks`] as a future.
pub async fn match_peaks_async<'a, T: Sample>(
    engine: &Engine,
    scene: impl Into<Image<'a, T>>,
    template: impl Into<Template<'a, T>>,
    method: Method,
    options: &PeakOptions,
) -> Result<Vec<Peak>> {
    let (scene, template) = (scene.into(), template.into());
    let options = PeakOptions {
        extremum: method.extremum(),
        ..*options
    };
    match (scene.grey(), template.plain_grey()) {
        (Some(scene), Some(template)) => {
            grey_peaks(engine, scene, template, method, &options).await
        }
        _ => {
            let map = masked::match_map(engine, &scene, &template, method).await?;
            Ok(peaks::top_k(map.view(), &options))
        }
    }
}

/// [`match_peaks_async`] of one grey scene and one unmasked grey template.
async fn grey_peaks<T: Sample>(
    engine: &Engine,
    scene: ArrayView<'_, T>,
    template: ArrayView<'_, T>,
    method: Method,
    options: &PeakOptions,
) -> Result<Vec<Peak>> {
    let options = *options;
    let (tpl, stats, k) = match_inputs(scene, template)?;
    if k != 0 {
        let (scene, template) = (scaled(scene, k), scaled(template, k));
        let found = Box::pin(grey_peaks(
            engine,
            scene.view(),
            template.view(),
            method,
            &options,
        ))
        .await?;
        return unscale_peaks::<T>(method, found, k);
    }
    let out = out_shape(scene.shape(), template.shape());
    match matcher(engine, scene.shape(), &tpl, method, false)? {
        Matcher::Device(device) if options.count <= MAX_DEVICE_PEAKS => {
            device_peaks(device.as_ref(), scene, &stats, &tpl, method, &options, out).await
        }
        Matcher::Device(device) => {
            let map = device_map(device.as_ref(), scene, &stats, &tpl, method, out).await?;
            Ok(peaks::top_k(map.view(), &options))
        }
        Matcher::Host(numerator) => {
            let mut map = Vec::new();
            host_map(&numerator, scene, &stats, &tpl, method, &mut map, None)?;
            Ok(peaks::top_k(ArrayView::new(&map, out)?, &options))
        }
    }
}

/// The most peaks [`match_peaks`] and [`Tracker::track`] search for on the device; each costs
/// one pass over the map.
pub const MAX_DEVICE_PEAKS: usize = 64;

/// The unmasked matcher's state for one grey scene (see [`Scene`]).
struct GreyScene<T: Sample> {
    shape: Shape,
    /// The power of two the scene (and so each template) is scaled by ([`match_exponent`]).
    exponent: i32,
    padded: [usize; 2],
    stats: SceneStats,
    table: SummedArea,
    prepared: Prepared<T>,
}

impl<T: Sample> GreyScene<T> {
    fn new(engine: &Engine, scene: ArrayView<'_, T>) -> Result<Self> {
        let stats = SceneStats::new(scene)?;
        let exponent = range::exponent::<T>(stats.scale, scene.shape().len());
        let scaled_scene = (exponent != 0).then(|| scaled(scene, exponent));
        let (scene, stats) = match &scaled_scene {
            Some(s) => (s.view(), SceneStats::new(s.view())?),
            None => (scene, stats),
        };
        let [h, w] = scene.shape().axes();
        let padded = [next_fast_len(h), next_fast_len(w)];
        let centred = stats.centred(scene);
        let padded_scene = pad(centred.view(), padded);
        let prepared = engine.prepare(
            Op::Correlate,
            Mode::CIRCULAR,
            Shape::d2(padded[0], padded[1]),
            &padded_scene,
        )?;
        Ok(GreyScene {
            shape: scene.shape(),
            exponent,
            padded,
            table: stats.table(scene),
            stats,
            prepared,
        })
    }

    async fn match_template(&self, template: ArrayView<'_, T>, method: Method) -> Result<Array<T>> {
        let scaled_template = (self.exponent != 0).then(|| scaled(template, self.exponent));
        let template = scaled_template.as_ref().map_or(template, Array::view);
        let tpl = TemplateStats::new(template)?;
        check_fits(self.shape, template.shape())?;
        let [h, w] = self.shape.axes();
        let as_scene = SceneStats {
            mean: tpl.mean,
            scale: tpl.scale,
            centred_scale: tpl.centred_scale,
            shape: [h, w],
        };
        check_scaled::<T>(&as_scene, "template", "the scene's")?;
        let circular = self
            .prepared
            .run_async(&pad(tpl.centred.view(), self.padded))
            .await?;
        let [lr, lc] = self.padded;
        let out = out_shape(self.shape, template.shape());
        let data = circular.data();
        let numerator = |r: usize, q: &mut [f64]| {
            let row = &data[((lr - r) % lr) * lc..][..lc];
            for (c, v) in q.iter_mut().enumerate() {
                *v = real_to(row[(lc - c) % lc]);
            }
        };
        let windows = Windows::Table(&self.table);
        let mut map = combine(method, numerator, &windows, &self.stats, &tpl, out)?;
        unscale_scores(method, map.data_mut(), self.exponent)?;
        Ok(map)
    }
}

/// One scene, many templates: keeps the scene's spectrum and its summed-area tables.
///
/// The engine caches the spectrum of a correlation's *second* argument, so the scene is
/// prepared as the second argument of a circular correlation at a padded size `L ≥ (H, W)`
/// ([`next_fast_len`]), and each zero-padded template is the first. For real data
/// `corr(T, I)[−k] = corr(I, T)[k]`, and `L ≥ H, W` keeps the lags of the valid window free of
/// wrap-around, so the valid map is read from the circular result at `(−k) mod L`. This runs
/// on any backend the engine has, and one padded size serves every template size. On a GPU
/// engine the numerators come from the device and the scores are combined on the host (the
/// window sums come from the scene's summed-area tables, built once).
///
/// ```
/// use xcorr::matching::{Method, Scene};
/// use xcorr::{Array, Engine, Shape};
/// let texture = |r: usize, c: usize| ((r * 97 + c) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54;
/// let image = Array::from_fn(Shape::d2(30, 40), |r, c| texture(r, c) as f64);
/// let scene = Scene::new(&Engine::cpu(), &image).unwrap();
/// for (y, x, h, w) in [(3, 5, 4, 4), (20, 30, 6, 9)] {
///     let template = Array::from_fn(Shape::d2(h, w), |r, c| image.at(y + r, x + c));
///     let best = scene.best(&template, Method::SqDiff).unwrap();
///     assert_eq!((best.row, best.col), (y, x));
/// }
/// ```
pub struct Scene<T: Sample> {
    engine: Engine,
    kind: SceneKind<T>,
}

enum SceneKind<T: Sample> {
    /// Grey: the unmasked matcher's spectrum and tables, and the scene itself, from which the
    /// masked matcher's spectra are made on the first masked template (most scenes never
    /// see one, and those spectra cost two more transforms).
    Grey {
        fast: Box<GreyScene<T>>,
        plane: Array<T>,
        masked: OnceLock<MaskedScene<T>>,
    },
    /// Colour: the masked matcher's spectra, per channel.
    Planes(MaskedScene<T>),
}

impl<T: Sample> Scene<T> {
    /// Transform the scene once (validates it: non-empty, finite, planes of one shape).
    pub fn new<'a>(engine: &Engine, scene: impl Into<Image<'a, T>>) -> Result<Self> {
        let scene = scene.into();
        let kind = match scene.grey() {
            Some(plane) => SceneKind::Grey {
                fast: Box::new(GreyScene::new(engine, plane)?),
                plane: plane.to_owned(),
                masked: OnceLock::new(),
            },
            None => SceneKind::Planes(MaskedScene::new(engine, scene.planes())?),
        };
        Ok(Scene {
            engine: engine.clone(),
            kind,
        })
    }

    /// The scene's shape (of one plane).
    pub fn shape(&self) -> Shape {
        match &self.kind {
            SceneKind::Grey { fast, .. } => fast.shape,
            SceneKind::Planes(masked) => masked.shape(),
        }
    }

    /// The map of `method`'s scores for `template` (same result as [`match_template`]).
    pub fn match_template<'a>(
        &self,
        template: impl Into<Template<'a, T>>,
        method: Method,
    ) -> Result<Array<T>> {
        crate::blocking::wait(self.match_template_async(template, method))
    }

    /// [`Scene::match_template`] as a future.
    pub async fn match_template_async<'a>(
        &self,
        template: impl Into<Template<'a, T>>,
        method: Method,
    ) -> Result<Array<T>> {
        let template = template.into();
        let masked = match &self.kind {
            SceneKind::Grey {
                fast,
                plane,
                masked,
            } => {
                if let Some(grey) = template.plain_grey() {
                    return fast.match_template(grey, method).await;
                }
                match masked.get() {
                    Some(m) => m,
                    None => {
                        let m = MaskedScene::new(&self.engine, &[plane.view()])?;
                        masked.get_or_init(|| m)
                    }
                }
            }
            SceneKind::Planes(masked) => masked,
        };
        masked.match_template(&template, method).await
    }

    /// The best match of `template` with its parabola-refined subpixel offset.
    pub fn best<'a>(&self, template: impl Into<Template<'a, T>>, method: Method) -> Result<Peak> {
        crate::blocking::wait(self.best_async(template, method))
    }

    /// [`Scene::best`] as a future.
    pub async fn best_async<'a>(
        &self,
        template: impl Into<Template<'a, T>>,
        method: Method,
    ) -> Result<Peak> {
        let map = self.match_template_async(template, method).await?;
        best_refined(map.view(), method)
    }
}

/// The buffer a host tracker reuses from frame to frame (a frame's numerator, then its
/// scores in place), so that tracking allocates nothing large per frame.
#[derive(Default)]
struct HostScratch<T> {
    map: Vec<T>,
}

/// The unmasked matcher's state for one grey template (see [`Tracker`]).
struct GreyTracker<T: Sample> {
    method: Method,
    /// The power of two the template and every frame are scaled by ([`match_exponent`]).
    exponent: i32,
    frame_shape: Shape,
    template: TemplateStats<T>,
    matcher: Matcher<T>,
    /// The host's map buffer, reused from frame to frame (unused on a device).
    scratch: Mutex<HostScratch<T>>,
}

impl<T: Sample> GreyTracker<T> {
    fn new(
        engine: &Engine,
        template: ArrayView<'_, T>,
        frame_shape: Shape,
        method: Method,
    ) -> Result<Self> {
        let tpl = TemplateStats::new(template)?;
        let exponent = range::exponent::<T>(tpl.scale, frame_shape.len());
        let scaled_template = (exponent != 0).then(|| scaled(template, exponent));
        let (template, tpl) = match &scaled_template {
            Some(t) => (t.view(), TemplateStats::new(t.view())?),
            None => (template, tpl),
        };
        if frame_shape.ndim() != template.shape().ndim() {
            return Err(dims_error(frame_shape, template.shape()));
        }
        check_fits(frame_shape, template.shape())?;
        Ok(GreyTracker {
            method,
            exponent,
            frame_shape,
            matcher: matcher(engine, frame_shape, &tpl, method, true)?,
            template: tpl,
            scratch: Mutex::default(),
        })
    }

    fn check_frame(&self, frame: ArrayView<'_, T>) -> Result<SceneStats> {
        if frame.shape() != self.frame_shape {
            return Err(Error::ShapeMismatch(format!(
                "frame has shape {}, but the tracker was prepared for {}",
                frame.shape(),
                self.frame_shape
            )));
        }
        let stats = SceneStats::new(frame)?;
        check_scaled::<T>(&stats, "frame", "the template's")?;
        Ok(stats)
    }

    async fn match_frame(&self, frame: ArrayView<'_, T>) -> Result<Array<T>> {
        if self.exponent != 0 {
            let frame = scaled(frame, self.exponent);
            let mut map = self.match_frame_in_range(frame.view()).await?;
            unscale_scores(self.method, map.data_mut(), self.exponent)?;
            return Ok(map);
        }
        self.match_frame_in_range(frame).await
    }

    /// [`GreyTracker::match_frame`] of a frame already scaled like the template.
    async fn match_frame_in_range(&self, frame: ArrayView<'_, T>) -> Result<Array<T>> {
        let stats = self.check_frame(frame)?;
        let out = out_shape(self.frame_shape, self.template.original_shape);
        let (tpl, method) = (&self.template, self.method);
        match &self.matcher {
            Matcher::Host(numerator) => {
                // A fresh buffer rather than the scratch one: the map is handed to the caller.
                let mut map = Vec::new();
                host_map(numerator, frame, &stats, tpl, method, &mut map, None)?;
                Array::new(map, out)
            }
            Matcher::Device(device) => {
                device_map(device.as_ref(), frame, &stats, tpl, method, out).await
            }
        }
    }

    async fn track(&self, frame: ArrayView<'_, T>) -> Result<Peak> {
        if self.exponent != 0 {
            let frame = scaled(frame, self.exponent);
            let peak = self.track_in_range(frame.view()).await?;
            return self.unscale_peak(peak);
        }
        self.track_in_range(frame).await
    }

    /// A peak of a frame scaled like the template, in the frame's own units.
    fn unscale_peak(&self, peak: Peak) -> Result<Peak> {
        if self.exponent == 0 {
            return Ok(peak);
        }
        let mut found = unscale_peaks::<T>(self.method, vec![peak], self.exponent)?;
        Ok(found.remove(0))
    }

    /// The best-match options of a device search for this tracker's method.
    fn best_options(&self) -> PeakOptions {
        PeakOptions {
            extremum: self.method.extremum(),
            ..PeakOptions::default()
        }
    }

    /// Submit `frame` to this tracker's `device` without waiting (see [`Tracker::submit`]):
    /// `wanted` says what comes back, `finish` turns it into `R`.
    async fn submit<R>(
        &self,
        device: &dyn MatchDevice,
        frame: ArrayView<'_, T>,
        wanted: Wanted,
        finish: Finish<T, R>,
    ) -> Result<Pending<T, R>> {
        let scaled_frame = (self.exponent != 0).then(|| scaled(frame, self.exponent));
        let frame = scaled_frame.as_ref().map_or(frame, Array::view);
        let stats = self.check_frame(frame)?;
        let (centred, terms) = device_frame(frame, &stats, &self.template);
        let ticket = device.submit(&centred, terms, wanted).await?;
        Ok(Pending {
            state: PendingState::Device { ticket, finish },
        })
    }

    /// [`Finish`] for [`Tracker::submit`]: what [`GreyTracker::track`] makes of the device's
    /// peaks.
    fn finish_best(&self, result: DeviceResult) -> Result<Peak> {
        let DeviceResult::Peaks(found) = result else {
            return Err(unexpected_result());
        };
        let cols = out_shape(self.frame_shape, self.template.original_shape).cols();
        let found = checked_peaks(found, self.method, cols)?;
        self.unscale_peak(found.into_iter().next().ok_or_else(empty_map)?)
    }

    /// [`Finish`] for [`Tracker::submit_map`]: what [`GreyTracker::match_frame`] makes of the
    /// device's scores.
    fn finish_map(&self, result: DeviceResult) -> Result<Array<T>> {
        let DeviceResult::Map(scores) = result else {
            return Err(unexpected_result());
        };
        let out = out_shape(self.frame_shape, self.template.original_shape);
        let mut map = checked_map(scores, self.method, out)?;
        if self.exponent != 0 {
            unscale_scores(self.method, map.data_mut(), self.exponent)?;
        }
        Ok(map)
    }

    /// [`GreyTracker::track`] of a frame already scaled like the template.
    async fn track_in_range(&self, frame: ArrayView<'_, T>) -> Result<Peak> {
        let stats = self.check_frame(frame)?;
        let (tpl, method) = (&self.template, self.method);
        let out = out_shape(self.frame_shape, tpl.original_shape);
        match &self.matcher {
            Matcher::Host(numerator) => {
                let map = &mut lock_scratch(&self.scratch).map;
                let extremum = method.extremum();
                let found = host_map(numerator, frame, &stats, tpl, method, map, Some(extremum))?;
                let (i, score) = found.ok_or_else(empty_map)?;
                let map = ArrayView::new(map, out)?;
                let (row, col) = (i / out.cols(), i % out.cols());
                Ok(Peak {
                    row,
                    col,
                    score,
                    subpixel: Some(peaks::refine_parabola(map, row, col, extremum)),
                })
            }
            Matcher::Device(device) => {
                let options = self.best_options();
                let found =
                    device_peaks(device.as_ref(), frame, &stats, tpl, method, &options, out)
                        .await?;
                found.into_iter().next().ok_or_else(empty_map)
            }
        }
    }
}

/// One template, many frames of one shape: keeps the template's spectrum (through
/// [`Engine::prepare`]); each frame costs one forward and one inverse transform plus O(H·W)
/// window sums. On a GPU engine (f32 data) everything per frame runs on the device and
/// [`track`](Self::track) reads back only the best match.
///
/// ```
/// use xcorr::matching::{Method, Tracker};
/// use xcorr::{Array, Engine, Shape};
/// let template = Array::from_fn(Shape::d2(5, 5), |r, c| ((r * 5 + c) % 7) as f32);
/// let tracker = Tracker::new(&Engine::cpu(), &template, Shape::d2(32, 32), Method::CCoeffNormed).unwrap();
/// for step in 0..3 {
///     let mut frame = Array::from_fn(Shape::d2(32, 32), |r, c| ((r * 3 + c * 11) % 5) as f32 * 0.1);
///     for r in 0..5 {
///         for c in 0..5 {
///             frame.data_mut()[(4 + step + r) * 32 + 6 + 2 * step + c] = template.at(r, c);
///         }
///     }
///     let peak = tracker.track(&frame).unwrap();
///     assert_eq!((peak.row, peak.col), (4 + step, 6 + 2 * step));
/// }
/// ```
pub struct Tracker<T: Sample> {
    method: Method,
    kind: TrackerKind<T>,
}

enum TrackerKind<T: Sample> {
    /// A grey template without a mask: the unmasked matcher.
    Grey(GreyTracker<T>),
    /// A mask or colour: the masked matcher.
    Planes(MaskedTracker<T>),
}

impl<T: Sample> Tracker<T> {
    /// Prepare `template` (and its mask) for frames of `frame_shape` (the shape of one plane;
    /// every frame has as many planes as the template).
    pub fn new<'a>(
        engine: &Engine,
        template: impl Into<Template<'a, T>>,
        frame_shape: Shape,
        method: Method,
    ) -> Result<Self> {
        let template = template.into();
        let kind = match template.plain_grey() {
            Some(grey) => TrackerKind::Grey(GreyTracker::new(engine, grey, frame_shape, method)?),
            None => TrackerKind::Planes(MaskedTracker::new(
                engine,
                &template,
                frame_shape,
                method,
                true,
            )?),
        };
        Ok(Tracker { method, kind })
    }

    /// The method the tracker scores with.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The map of scores for one frame.
    pub fn match_frame<'a>(&self, frame: impl Into<Image<'a, T>>) -> Result<Array<T>> {
        crate::blocking::wait(self.match_frame_async(frame))
    }

    /// [`match_frame`](Self::match_frame) as a future.
    pub async fn match_frame_async<'a>(&self, frame: impl Into<Image<'a, T>>) -> Result<Array<T>> {
        let frame = frame.into();
        match &self.kind {
            TrackerKind::Grey(grey) => grey.match_frame(grey_frame(&frame)?).await,
            TrackerKind::Planes(masked) => masked.match_frame(frame.planes()).await,
        }
    }

    /// The best match in one frame, with its parabola-refined subpixel offset.
    pub fn track<'a>(&self, frame: impl Into<Image<'a, T>>) -> Result<Peak> {
        crate::blocking::wait(self.track_async(frame))
    }

    /// [`track`](Self::track) as a future.
    pub async fn track_async<'a>(&self, frame: impl Into<Image<'a, T>>) -> Result<Peak> {
        let frame = frame.into();
        match &self.kind {
            TrackerKind::Grey(grey) => grey.track(grey_frame(&frame)?).await,
            TrackerKind::Planes(masked) => {
                let map = masked.match_frame(frame.planes()).await?;
                best_refined(map.view(), self.method)
            }
        }
    }

    /// Hand over a frame whose best match [`collect`](Self::collect) returns later: the
    /// same peak as [`track`](Self::track). On a GPU the frame is uploaded and submitted and
    /// this returns without waiting for the device, so the next frame can be prepared and
    /// submitted while the device works on this one; on the CPU (and for masked or colour
    /// templates) the match is computed here and `collect` only hands it over.
    ///
    /// Keep at most two frames in flight (submitted, not yet collected): a third submission
    /// reuses the first one's readback buffer, and collecting the first then fails. A frame
    /// that cannot be matched (wrong shape, non-finite values) fails here, and the frames in
    /// flight keep their results.
    ///
    /// ```
    /// use xcorr::matching::{Method, Tracker};
    /// use xcorr::{Array, Engine, Shape};
    /// let template = Array::from_fn(Shape::d2(5, 5), |r, c| ((r * 5 + c) % 7) as f32);
    /// let tracker = Tracker::new(&Engine::cpu(), &template, Shape::d2(32, 32), Method::CCoeffNormed).unwrap();
    /// let frames: Vec<Array<f32>> = (0..4)
    ///     .map(|step| {
    ///         let mut frame = Array::from_fn(Shape::d2(32, 32), |r, c| ((r * 3 + c * 11) % 5) as f32 * 0.1);
    ///         for (r, c) in (0..5).flat_map(|r| (0..5).map(move |c| (r, c))) {
    ///             frame.data_mut()[(4 + step + r) * 32 + 6 + 2 * step + c] = template.at(r, c);
    ///         }
    ///         frame
    ///     })
    ///     .collect();
    /// // One frame in flight: frame k + 1 is submitted before frame k is collected.
    /// let mut in_flight = None;
    /// let mut found = Vec::new();
    /// for frame in &frames {
    ///     let next = tracker.submit(frame).unwrap();
    ///     if let Some(pending) = in_flight.replace(next) {
    ///         found.push(tracker.collect(pending).unwrap());
    ///     }
    /// }
    /// found.push(tracker.collect(in_flight.unwrap()).unwrap());
    /// for (step, peak) in found.iter().enumerate() {
    ///     assert_eq!((peak.row, peak.col), (4 + step, 6 + 2 * step));
    /// }
    /// ```
    pub fn submit<'a>(&self, frame: impl Into<Image<'a, T>>) -> Result<Pending<T, Peak>> {
        crate::blocking::wait(self.submit_async(frame))
    }

    /// [`submit`](Self::submit) as a future (it resolves once the frame is submitted).
    pub async fn submit_async<'a>(
        &self,
        frame: impl Into<Image<'a, T>>,
    ) -> Result<Pending<T, Peak>> {
        let frame = frame.into();
        if let Some((grey, device)) = self.grey_device() {
            let wanted = Wanted::Peaks(grey.best_options());
            return grey
                .submit(
                    device,
                    grey_frame(&frame)?,
                    wanted,
                    GreyTracker::finish_best,
                )
                .await;
        }
        Ok(Pending::done(self.track_async(frame).await?))
    }

    /// [`submit`](Self::submit) for the whole map: [`collect`](Self::collect) returns what
    /// [`match_frame`](Self::match_frame) returns.
    pub fn submit_map<'a>(&self, frame: impl Into<Image<'a, T>>) -> Result<Pending<T, Array<T>>> {
        crate::blocking::wait(self.submit_map_async(frame))
    }

    /// [`submit_map`](Self::submit_map) as a future.
    pub async fn submit_map_async<'a>(
        &self,
        frame: impl Into<Image<'a, T>>,
    ) -> Result<Pending<T, Array<T>>> {
        let frame = frame.into();
        if let Some((grey, device)) = self.grey_device() {
            return grey
                .submit(
                    device,
                    grey_frame(&frame)?,
                    Wanted::Map,
                    GreyTracker::finish_map,
                )
                .await;
        }
        Ok(Pending::done(self.match_frame_async(frame).await?))
    }

    /// The result of a frame [`submit`](Self::submit)ted to this tracker, waiting for the
    /// device if it is not done yet.
    pub fn collect<R>(&self, pending: Pending<T, R>) -> Result<R> {
        crate::blocking::wait(self.collect_async(pending))
    }

    /// [`collect`](Self::collect) as a future.
    pub async fn collect_async<R>(&self, pending: Pending<T, R>) -> Result<R> {
        match pending.state {
            PendingState::Done(result) => Ok(result),
            PendingState::Device { ticket, finish } => match self.grey_device() {
                Some((grey, device)) => finish(grey, device.collect(ticket).await?),
                None => Err(Error::InvalidArgument(
                    "a frame submitted to a tracker on a device was collected from one \
                     on the host"
                        .into(),
                )),
            },
        }
    }

    /// The unmasked matcher and its device, where this tracker runs on one.
    fn grey_device(&self) -> Option<(&GreyTracker<T>, &dyn MatchDevice)> {
        match &self.kind {
            TrackerKind::Grey(grey) => match &grey.matcher {
                Matcher::Device(device) => Some((grey, device.as_ref())),
                Matcher::Host(_) => None,
            },
            TrackerKind::Planes(_) => None,
        }
    }
}

/// A frame handed to a [`Tracker`] whose result is still to be collected
/// ([`Tracker::submit`], [`Tracker::submit_map`]); `R` is what it gives ([`Peak`] or the map).
#[must_use = "a submitted frame's result is read with Tracker::collect"]
pub struct Pending<T: Sample, R> {
    state: PendingState<T, R>,
}

/// How a device's result for a submitted frame becomes the tracker's answer.
type Finish<T, R> = fn(&GreyTracker<T>, DeviceResult) -> Result<R>;

enum PendingState<T: Sample, R> {
    /// Computed when it was submitted (on the host, or by the masked matcher).
    Done(R),
    /// On the device.
    Device {
        ticket: DeviceTicket,
        finish: Finish<T, R>,
    },
}

impl<T: Sample, R> Pending<T, R> {
    fn done(result: R) -> Self {
        Pending {
            state: PendingState::Done(result),
        }
    }
}

fn unexpected_result() -> Error {
    Error::Gpu("the device returned another kind of result than was submitted".into())
}

/// The one plane of a frame for a grey template.
fn grey_frame<'a, T: Sample>(frame: &Image<'a, T>) -> Result<ArrayView<'a, T>> {
    frame.grey().ok_or_else(|| {
        Error::ShapeMismatch(format!(
            "the frame has {} channels and the template 1: they must have the same",
            frame.planes().len()
        ))
    })
}

fn empty_map() -> Error {
    Error::InvalidArgument("empty match map".into())
}

pub(super) fn best_refined<T: Sample>(map: ArrayView<'_, T>, method: Method) -> Result<Peak> {
    let extremum = method.extremum();
    let mut peak = peaks::best(map, extremum).ok_or_else(empty_map)?;
    peak.subpixel = Some(peaks::refine_parabola(map, peak.row, peak.col, extremum));
    Ok(peak)
}

/// A host tracker's scratch buffers; a poisoned lock only means a panic mid-frame, after
/// which the buffers are overwritten anyway.
fn lock_scratch<T>(scratch: &Mutex<HostScratch<T>>) -> std::sync::MutexGuard<'_, HostScratch<T>> {
    scratch
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A template as the matcher needs it: zero-mean (as a 2-D array in the element type) and its
/// f64 statistics.
struct TemplateStats<T: Sample> {
    original_shape: Shape,
    shape: [usize; 2],
    /// `T − T̄`, always 2-D.
    centred: Array<T>,
    n: f64,
    mean: f64,
    /// `Σ (T − T̄)²`.
    energy_centred: f64,
    /// The largest |T|.
    scale: f64,
    /// The largest |T − T̄|: what flatness is judged against.
    centred_scale: f64,
}

impl<T: Sample> TemplateStats<T> {
    fn new(template: ArrayView<'_, T>) -> Result<Self> {
        template.validate("template")?;
        let values: Vec<f64> = template.data().iter().map(|v| real_to(*v)).collect();
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let centred: Vec<f64> = values.iter().map(|v| v - mean).collect();
        let energy_centred = centred.iter().map(|v| v * v).sum();
        let scale = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let centred_scale = centred.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let [h, w] = template.shape().axes();
        Ok(TemplateStats {
            original_shape: template.shape(),
            shape: [h, w],
            centred: Array::new(
                centred.into_iter().map(real_from::<T>).collect(),
                Shape::d2(h, w),
            )?,
            n,
            mean,
            energy_centred,
            scale,
            centred_scale,
        })
    }
}

/// A scene (or frame) as the matcher needs it: its mean (the centring offset) and its scales.
struct SceneStats {
    mean: f64,
    /// The largest |I|.
    scale: f64,
    /// The largest |I − c|: the window sums' magnitude, and what flatness is judged against
    /// (a scene `300 + 0.01·U` varies by 1e-5 of its magnitude, yet is anything but flat).
    centred_scale: f64,
    shape: [usize; 2],
}

impl SceneStats {
    fn new<T: Sample>(scene: ArrayView<'_, T>) -> Result<Self> {
        let data = scene.data();
        // One parallel pass for the sum, the extremes and finiteness; `validate` names the
        // offending element when there is one.
        let first = data.first().map_or(T::zero(), |v| *v);
        let (sum, low, high) = data
            .par_chunks(4096)
            .map(|chunk| {
                // Eight lanes of sums and extremes (the compiler vectorises independent
                // lanes, not one running value), then combined. The extremes stay in the
                // element type and use comparisons rather than `min`/`max`, whose NaN rule
                // keeps them scalar.
                let (mut sums, mut lows, mut highs) = ([0.0f64; 8], [first; 8], [first; 8]);
                let mut lanes = chunk.chunks_exact(8);
                for eight in &mut lanes {
                    for (((s, lo), hi), &v) in
                        sums.iter_mut().zip(&mut lows).zip(&mut highs).zip(eight)
                    {
                        *s += real_to(v);
                        *lo = if v < *lo { v } else { *lo };
                        *hi = if v > *hi { v } else { *hi };
                    }
                }
                for &v in lanes.remainder() {
                    sums[0] += real_to(v);
                    lows[0] = lows[0].min(v);
                    highs[0] = highs[0].max(v);
                }
                let low = lows.iter().fold(f64::INFINITY, |m, &v| m.min(real_to(v)));
                let high = highs
                    .iter()
                    .fold(f64::NEG_INFINITY, |m, &v| m.max(real_to(v)));
                (sums.iter().sum::<f64>(), low, high)
            })
            .reduce(
                || (0.0, f64::INFINITY, f64::NEG_INFINITY),
                |a, b| (a.0 + b.0, a.1.min(b.1), a.2.max(b.2)),
            );
        // NaN or ±∞ anywhere makes the sum non-finite (a comparison never picks NaN as a
        // maximum, but the sum carries it); `validate` then names the element.
        if data.is_empty() || !sum.is_finite() {
            scene.validate("scene")?;
        }
        // The mean of values in [low, high] lies in it, but its rounding may step out.
        let mean = (sum / data.len() as f64).clamp(low, high);
        Ok(SceneStats {
            mean,
            scale: low.abs().max(high.abs()),
            centred_scale: (high - mean).max(mean - low),
            shape: scene.shape().axes(),
        })
    }

    /// Summed-area tables of the centred scene, in f64.
    fn table<T: Sample>(&self, scene: ArrayView<'_, T>) -> SummedArea {
        SummedArea::new(scene, self.mean)
    }

    /// `I − c` as a 2-D array in the element type.
    fn centred<T: Sample>(&self, scene: ArrayView<'_, T>) -> Array<T> {
        let [h, w] = scene.shape().axes();
        let data = scene
            .data()
            .par_iter()
            .map(|v| real_from::<T>(real_to(*v) - self.mean))
            .collect();
        Array::new(data, Shape::d2(h, w)).expect("same length")
    }

    /// The rounding noise of a window energy of `n` pixels, generously bounded for both
    /// ways the sums are made: four-corner differences of prefix sums over the whole image
    /// (`H·W` terms), and streamed sums, which add and remove up to `W` column sums along a
    /// row and slide column sums down up to `H` rows (`(H + W)·n` terms).
    fn noise(&self, n: f64) -> f64 {
        let [h, w] = self.shape;
        let terms = (h * w) as f64 + (h + w) as f64 * n;
        64.0 * f64::EPSILON * terms * self.centred_scale * self.centred_scale
    }
}

/// "Values vary by less than 100 ε of their magnitude" (module docs), ε of `T`.
pub(super) fn flat_tolerance<T: Sample>() -> f64 {
    100.0 * real_to(<T as num_traits::Float>::epsilon())
}

/// `(flat, zero)`: whether the template's centred energy, or its energy, is degenerate,
/// each judged against the magnitude of the values it sums.
fn template_degenerate<T: Sample>(tpl: &TemplateStats<T>) -> (bool, bool) {
    let floor = |scale: f64| tpl.n * (flat_tolerance::<T>() * scale).powi(2);
    let energy = tpl.energy_centred + tpl.n * tpl.mean * tpl.mean;
    (
        tpl.energy_centred <= floor(tpl.centred_scale),
        energy <= floor(tpl.scale),
    )
}

/// The energy at or below which a window counts as degenerate: relative to the centred
/// scene, whose magnitude sets the rounding of both the numerator and the window sums.
fn window_floor<T: Sample>(n: f64, scene: &SceneStats) -> f64 {
    n * (flat_tolerance::<T>() * scene.centred_scale).powi(2) + scene.noise(n)
}

fn dims_error(scene: Shape, template: Shape) -> Error {
    Error::Dimensions(format!(
        "scene and template must have the same number of dimensions, got {}-D {scene} and \
         {}-D {template}",
        scene.ndim(),
        template.ndim()
    ))
}

pub(crate) fn check_fits(scene: Shape, template: Shape) -> Result<()> {
    if scene.ndim() != template.ndim() {
        return Err(dims_error(scene, template));
    }
    let (s, t) = (scene.axes(), template.axes());
    if t[0] > s[0] || t[1] > s[1] {
        return Err(Error::ShapeMismatch(format!(
            "template {template} is larger than the scene {scene} along at least one axis"
        )));
    }
    Ok(())
}

pub(crate) fn out_shape(scene: Shape, template: Shape) -> Shape {
    let (s, t) = (scene.axes(), template.axes());
    let dims = if scene.ndim() == 1 {
        vec![s[1] - t[1] + 1]
    } else {
        vec![s[0] - t[0] + 1, s[1] - t[1] + 1]
    };
    Shape::from_dims(&dims).expect("1-D or 2-D")
}

/// `x` (2-D) zero-padded at its end to `len`.
pub(super) fn pad<T: Sample>(x: ArrayView<'_, T>, len: [usize; 2]) -> Array<T> {
    let cols = x.shape().cols();
    let mut out = Array::zeros(Shape::d2(len[0], len[1]));
    for (r, row) in x.data().chunks(cols).enumerate() {
        out.data_mut()[r * len[1]..r * len[1] + cols].copy_from_slice(row);
    }
    out
}

/// Where [`combine`] reads the window sums `Σ (I_w − c)`, `Σ (I_w − c)²` from: a scene's
/// summed-area tables (built once for many templates) or streamed from the frame (one-shot
/// matches and tracking: no tables to allocate).
enum Windows<'a, T: Sample> {
    Table(&'a SummedArea),
    Stream(WindowStream<'a, T>),
}

/// The numerator for [`combine_into`] when it is already in the output buffer: each row,
/// widened to f64, before its scores overwrite it.
fn in_place<T: Sample>(_: usize, row: &[T], q: &mut [f64]) {
    for (d, s) in q.iter_mut().zip(row) {
        *d = real_to(*s);
    }
}

/// Combine the FFT numerator `Q = Σ T'·(I_w − c)` with the window sums and template
/// constants into `method`'s scores (module docs), in f64, rows in parallel. `numerator(r, q)`
/// fills `q` with row `r` of `Q`.
fn combine<T: Sample>(
    method: Method,
    numerator: impl Fn(usize, &mut [f64]) + Sync,
    windows: &Windows<'_, T>,
    scene: &SceneStats,
    tpl: &TemplateStats<T>,
    shape: Shape,
) -> Result<Array<T>> {
    let mut out = vec![T::default(); shape.len()];
    let numerator = |r: usize, _: &[T], q: &mut [f64]| numerator(r, q);
    combine_into(method, numerator, windows, scene, tpl, &mut out, None)?;
    Array::new(out, shape)
}

/// [`combine`] into `out` (all elements overwritten). `numerator(r, row, q)` is given row
/// `r` of `out` before it is overwritten, so the numerator may be `out` itself
/// ([`in_place`]). With `find`, also the flat index and score of the first best element,
/// searched row by row while each row is in cache.
fn combine_into<T: Sample>(
    method: Method,
    numerator: impl Fn(usize, &[T], &mut [f64]) + Sync,
    windows: &Windows<'_, T>,
    scene: &SceneStats,
    tpl: &TemplateStats<T>,
    out: &mut [T],
    find: Option<Extremum>,
) -> Result<Option<(usize, f64)>> {
    let [h, w] = tpl.shape;
    let out_cols = scene.shape[1] - w + 1;
    debug_assert_eq!(out.len(), (scene.shape[0] - h + 1) * out_cols);
    let n = tpl.n;
    let c = scene.mean;
    let d = c - tpl.mean;
    let energy = tpl.energy_centred + n * tpl.mean * tpl.mean; // Σ T²
    let energy_centred = tpl.energy_centred;
    let win_floor = window_floor::<T>(n, scene);
    let (tpl_flat, tpl_zero) = template_degenerate(tpl);
    // Σ T·I_w = Q + T̄·Σ J + n·c·T̄ and Σ I_w² = Σ J² + 2c·Σ J + n·c².
    let ccorr = move |q: f64, s1: f64| q + tpl.mean * s1 + n * c * tpl.mean;
    let win_energy = move |s1: f64, s2: f64| (s2 + 2.0 * c * s1 + n * c * c).max(0.0);

    // Contiguous bands of rows, one per worker: a window stream slides its column sums down
    // a band and must rebuild them (h rows of sums) wherever a band starts. Letting rayon
    // split row by row restarted them 16 to 35 times per 433-row frame.
    let rows = out.len() / out_cols;
    let band = rows.div_ceil(rayon::current_num_threads().max(1)).max(1);
    let bests = out
        .par_chunks_mut(band * out_cols)
        .enumerate()
        .map(|(b, band_out)| {
            let mut found: Option<(usize, f64)> = None;
            let mut state = match windows {
                Windows::Stream(stream) => Some(stream.state()),
                Windows::Table(_) => None,
            };
            let (mut q, mut sums, mut sums_sq) = (
                vec![0.0; out_cols],
                vec![0.0; out_cols],
                vec![0.0; out_cols],
            );
            for (i, row) in band_out.chunks_mut(out_cols).enumerate() {
                let r = b * band + i;
                let (q, sums, sums_sq) = (&mut q[..], &mut sums[..], &mut sums_sq[..]);
                match (windows, &mut state) {
                    (Windows::Stream(stream), Some(state)) => stream.row(state, r, sums, sums_sq),
                    (Windows::Table(table), _) => table.window_row(r, h, w, sums, sums_sq),
                    (Windows::Stream(_), None) => unreachable!("a stream has its state"),
                }
                // A sum of squares is never negative; differences of sums can round below zero.
                sums_sq.iter_mut().for_each(|v| *v = v.max(0.0));
                numerator(r, row, q);
                let (q, s1, s2) = (&q[..], &sums[..], &sums_sq[..]);
                // One loop per method, each without branches the compiler cannot turn into
                // selects, so that it vectorises (divisions and square roots included).
                match method {
                    Method::CCoeff => fill(row, q, s1, s2, |q, _, _| q),
                    Method::CCoeffNormed => fill(row, q, s1, s2, |q, s1, s2| {
                        let spread = (s2 - s1 * s1 / n).max(0.0); // Σ I'²
                        normalised(q, energy_centred * spread, tpl_flat, spread <= win_floor)
                    }),
                    Method::CCorr => fill(row, q, s1, s2, |q, s1, _| ccorr(q, s1)),
                    Method::CCorrNormed => fill(row, q, s1, s2, |q, s1, s2| {
                        let e = win_energy(s1, s2);
                        normalised(ccorr(q, s1), energy * e, tpl_zero, e <= win_floor)
                    }),
                    Method::SqDiff => fill(row, q, s1, s2, |q, s1, s2| {
                        sqdiff(q, s1, s2, energy_centred, d, n)
                    }),
                    Method::SqDiffNormed => fill(row, q, s1, s2, |q, s1, s2| {
                        let e = win_energy(s1, s2);
                        let raw = (sqdiff(q, s1, s2, energy_centred, d, n) / (energy * e).sqrt())
                            .clamp(0.0, 1.0);
                        let win_zero = e <= win_floor;
                        // Degenerate: 0 when both are zero, 1 (no match) when one is.
                        if tpl_zero || win_zero {
                            if tpl_zero && win_zero {
                                0.0
                            } else {
                                1.0
                            }
                        } else {
                            raw
                        }
                    }),
                }
                // A fold, not `position`: a loop that cannot stop early vectorises, and the
                // search runs only when there is something to find.
                if row
                    .iter()
                    .fold(false, |bad, v| bad | !real_to(*v).is_finite())
                {
                    let j = row
                        .iter()
                        .position(|v| !real_to(*v).is_finite())
                        .expect("found");
                    return Err(non_finite_map(method, real_to(row[j]), r * out_cols + j));
                }
                if let Some(extremum) = find {
                    if let Some((j, score)) = peaks::first_best(row, extremum) {
                        if found.is_none_or(|(_, top)| extremum.better(score, top)) {
                            found = Some((r * out_cols + j, score));
                        }
                    }
                }
            }
            Ok(found)
        })
        .collect::<Result<Vec<_>>>()?;
    // Bands in order, a later one only when strictly better: the first best overall.
    Ok(bests.into_iter().flatten().reduce(|a, b| match find {
        Some(extremum) if extremum.better(b.1, a.1) => b,
        _ => a,
    }))
}

/// `row[j] = score(q[j], s1[j], s2[j])`, converted to the element type.
#[inline(always)]
fn fill<T: Sample>(
    row: &mut [T],
    q: &[f64],
    s1: &[f64],
    s2: &[f64],
    score: impl Fn(f64, f64, f64) -> f64,
) {
    for (((o, &q), &a), &b) in row.iter_mut().zip(q).zip(s1).zip(s2) {
        *o = real_from::<T>(score(q, a, b));
    }
}

/// `Σ (T − I_w)² = Σ J² − 2Q + Σ T'² + 2d·Σ J + n·d²`, with `J = I_w − c`, `d = c − T̄`.
#[inline(always)]
fn sqdiff(q: f64, s1: f64, s2: f64, tpl_energy_centred: f64, d: f64, n: f64) -> f64 {
    (s2 - 2.0 * q + tpl_energy_centred + 2.0 * d * s1 + n * d * d).max(0.0)
}

/// `num / √den2` clamped to `[−1, 1]`, with the flat rules of the module docs. The ratio is
/// computed either way (a select, not a branch, so that the callers' loops vectorise); where
/// a side is degenerate its possibly infinite or NaN value is discarded.
#[inline(always)]
pub(super) fn normalised(num: f64, den2: f64, tpl_degenerate: bool, win_degenerate: bool) -> f64 {
    let ratio = (num / den2.sqrt()).clamp(-1.0, 1.0);
    if tpl_degenerate || win_degenerate {
        if tpl_degenerate && win_degenerate {
            1.0
        } else {
            0.0
        }
    } else {
        ratio
    }
}

/// The engine's matcher for `tpl` against frames of `frame_shape`, with the terms a device
/// evaluates. `keep`: many frames will follow.
fn matcher<T: Sample>(
    engine: &Engine,
    frame_shape: Shape,
    tpl: &TemplateStats<T>,
    method: Method,
    keep: bool,
) -> Result<Matcher<T>> {
    let (flat, zero) = template_degenerate(tpl);
    let terms = TemplateTerms {
        method: Method::ALL
            .iter()
            .position(|m| *m == method)
            .expect("listed") as u32,
        n: tpl.n,
        mean: tpl.mean,
        energy_centred: tpl.energy_centred,
        energy: tpl.energy_centred + tpl.n * tpl.mean * tpl.mean,
        flat,
        zero,
    };
    engine.matcher(frame_shape, tpl.centred.view(), terms, keep)
}

/// The scores of `frame` into `map` (resized to the map's length): the numerator through
/// the FFT (the frame centred as its rows load), then, in place, the scores with the window
/// sums streamed from the frame. With `find`, also the first best score and its index.
fn host_map<T: Sample>(
    numerator: &HostNumerator<T>,
    frame: ArrayView<'_, T>,
    stats: &SceneStats,
    tpl: &TemplateStats<T>,
    method: Method,
    map: &mut Vec<T>,
    find: Option<Extremum>,
) -> Result<Option<(usize, f64)>> {
    numerator.run_into(frame, stats.mean, map);
    let [h, w] = tpl.shape;
    let windows = Windows::Stream(WindowStream::new(frame, stats.mean, h, w));
    combine_into(method, in_place, &windows, stats, tpl, map, find)
}

/// The frame centred on its mean, as a device takes it, and the per-frame terms.
fn device_frame<T: Sample>(
    frame: ArrayView<'_, T>,
    stats: &SceneStats,
    tpl: &TemplateStats<T>,
) -> (Vec<f32>, FrameTerms) {
    let centred = frame
        .data()
        .iter()
        .map(|v| (real_to(*v) - stats.mean) as f32)
        .collect();
    let terms = FrameTerms {
        mean: stats.mean,
        win_floor: window_floor::<T>(tpl.n, stats),
    };
    (centred, terms)
}

/// A one-shot match's checked inputs: the template's and the scene's statistics, and the
/// power of two that brings both into range ([`match_exponent`]).
fn match_inputs<T: Sample>(
    scene: ArrayView<'_, T>,
    template: ArrayView<'_, T>,
) -> Result<(TemplateStats<T>, SceneStats, i32)> {
    let tpl = TemplateStats::new(template)?;
    let stats = SceneStats::new(scene)?;
    check_fits(scene.shape(), template.shape())?;
    let k = match_exponent::<T>(&stats, &tpl);
    Ok((tpl, stats, k))
}

/// The power of two `2^k` a match scales scene and template by (one factor for both, so
/// that the formulas mixing them hold), from the larger magnitude: `0` for ordinary data.
fn match_exponent<T: Sample>(scene: &SceneStats, tpl: &TemplateStats<T>) -> i32 {
    let [h, w] = scene.shape;
    range::exponent::<T>(scene.scale.max(tpl.scale), h * w)
}

/// Refuse an input (scaled by the factor fixed for the other) whose magnitude is still out of
/// the comfortable range: its window sums or its transform could overflow.
fn check_scaled<T: Sample>(stats: &SceneStats, what: &str, other: &str) -> Result<()> {
    let [h, w] = stats.shape;
    if range::exponent::<T>(stats.scale, h * w) == 0 {
        return Ok(());
    }
    Err(Error::OutOfRange(format!(
        "the {what}'s values (largest |value| {:.3e} after the scaling fixed by {other}) are \
         too far in magnitude from {other} to be matched in {}",
        stats.scale,
        <T as Real>::NAME,
    )))
}

fn scaled<T: Sample>(x: ArrayView<'_, T>, k: i32) -> Array<T> {
    range::scaled(x, 0.0, k)
}

/// Scores of inputs scaled by `2^k` back in the inputs' units: `sqdiff`, `ccorr` and `ccoeff`
/// scale with `2^2k`, the normalised scores not at all. A map the element type cannot hold
/// is an error.
fn unscale_scores<T: Sample>(method: Method, scores: &mut [T], k: i32) -> Result<()> {
    if method.is_normed() {
        return Ok(());
    }
    range::unscale(scores, -2 * k, &format!("the {method} map"))
}

/// [`unscale_scores`] for peaks, whose scores are f64 values of the element type.
fn unscale_peaks<T: Sample>(method: Method, mut found: Vec<Peak>, k: i32) -> Result<Vec<Peak>> {
    let mut scores: Vec<T> = found.iter().map(|p| real_from::<T>(p.score)).collect();
    unscale_scores(method, &mut scores, k)?;
    for (p, s) in found.iter_mut().zip(scores) {
        p.score = real_to(s);
    }
    Ok(found)
}

fn non_finite_map(method: Method, value: f64, index: usize) -> Error {
    Error::NonFinite {
        what: format!("the {method} map (the inputs' values are too large)"),
        value: value.to_string(),
        index: format!("{index}"),
    }
}

async fn device_map<T: Sample>(
    device: &dyn MatchDevice,
    frame: ArrayView<'_, T>,
    stats: &SceneStats,
    tpl: &TemplateStats<T>,
    method: Method,
    out: Shape,
) -> Result<Array<T>> {
    let (centred, terms) = device_frame(frame, stats, tpl);
    checked_map(device.map(&centred, terms).await?, method, out)
}

/// A device's scores as the map, refused if any is not finite.
fn checked_map<T: Sample>(scores: Vec<f32>, method: Method, out: Shape) -> Result<Array<T>> {
    if let Some(i) = scores.iter().position(|v| !v.is_finite()) {
        return Err(non_finite_map(method, scores[i] as f64, i));
    }
    Array::new(
        scores
            .into_iter()
            .map(|v| real_from::<T>(v as f64))
            .collect(),
        out,
    )
}

async fn device_peaks<T: Sample>(
    device: &dyn MatchDevice,
    frame: ArrayView<'_, T>,
    stats: &SceneStats,
    tpl: &TemplateStats<T>,
    method: Method,
    options: &PeakOptions,
    out: Shape,
) -> Result<Vec<Peak>> {
    let (centred, terms) = device_frame(frame, stats, tpl);
    let cols = out.cols();
    let options = PeakOptions {
        extremum: method.extremum(),
        ..*options
    };
    checked_peaks(device.peaks(&centred, terms, &options).await?, method, cols)
}

/// A device's peaks on a map of `cols` columns, refused if a score is not finite.
fn checked_peaks(found: Vec<Peak>, method: Method, cols: usize) -> Result<Vec<Peak>> {
    found
        .into_iter()
        .map(|peak| {
            if peak.score.is_finite() {
                Ok(peak)
            } else {
                Err(non_finite_map(
                    method,
                    peak.score,
                    peak.row * cols + peak.col,
                ))
            }
        })
        .collect()
}
