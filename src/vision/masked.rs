//! Masked and multi-channel template matching, with OpenCV's `matchTemplate(…, mask)`
//! formulas for all six methods.
//!
//! A scene and a template are given as *planes*: one 2-D array per channel, all of one shape
//! (grey is one plane, RGB three, RGBA four). A [`Mask`] has the template's shape and one
//! plane, or one per channel; a weight `m` of 0 leaves a template pixel out. With `Σ` over the
//! template's pixels and the channels, `I` the scene window under the template, and per
//! channel `a = Σ m·T / Σ m`, `b = Σ m·I / Σ m` (the mask-weighted means):
//!
//! | method | score |
//! | --- | --- |
//! | `sqdiff` | `Σ m² (T − I)²` |
//! | `sqdiff-normed` | `sqdiff / √(Σ m² T² · Σ m² I²)` |
//! | `ccorr` | `Σ m² T · I` |
//! | `ccorr-normed` | `ccorr / √(Σ m² T² · Σ m² I²)` |
//! | `ccoeff` | `Σ m² (T − a)(I − b)` |
//! | `ccoeff-normed` | `ccoeff / √(Σ m² (T − a)² · Σ m² (I − b)²)` |
//!
//! These are OpenCV's definitions (its `templx = m·(T − a)`, `imgx = m·(I − b)`); with a
//! binary mask `m² = m` and they are the unmasked formulas restricted to the mask, and
//! with no mask (all weights 1) they are the unmasked formulas summed over the channels, which
//! is how OpenCV matches colour images. A [`Mask::binary`] takes any nonzero value as
//! weight 1 (OpenCV's rule for a `uint8` mask); [`Mask::weights`] keeps the values as weights.
//!
//! # How it is computed
//!
//! Per channel, with `J = I − c` the scene centred on its mean `c`, four valid-mode
//! correlations through the [`Engine`] (any backend): `q = corr(J, m²(T − a))`,
//! `p₁ = corr(J, m²)`, `p₂ = corr(J², m²)` and, for a weighted mask only, `p_w = corr(J, m)`
//! (a binary mask has `p_w = p₁`). They go to the engine as one call
//! ([`Engine::compute_pairs`], [`Prepared::run_pairs`]), so on the CPU `J`, `J²` and each
//! template term are transformed once: two scene transforms, two or three template
//! transforms and three or four inverses, instead of a pair of transforms per correlation. Every score is these plus template constants, combined in
//! f64: `Σ m²(T − a)(I − b) = q − (p_w / Σ m)·Σ m²(T − a)`,
//! `Σ m²(I − b)² = p₂ − 2β p₁ + β² Σ m²` with `β = p_w / Σ m`, and so on (the code spells
//! out each). A [`Tracker`](crate::matching::Tracker) with a masked or colour template (and
//! the one-shot [`match_template`](crate::matching::match_template)) keeps the template-side
//! spectra; a colour [`Scene`](crate::matching::Scene), or a grey one given a masked template,
//! keeps the scene's (`J` and `J²` per channel). Unlike the unmasked path, the window sums come from
//! the FFT too (they are weighted by the mask), so in f32 they carry the FFT's rounding.
//!
//! # Degenerate windows and templates
//!
//! The rules of the unmasked matcher (see [`crate::matching`]): where one side of a
//! normalised method has no pattern the score is 0 (`sqdiff-normed`: 1), where both have none
//! it is 1 (`sqdiff-normed`: 0); never NaN or infinity. A template side is degenerate when its
//! energy is at most `Σ m² · (100 ε · s)²` (`s` the largest `|T|` under the mask: its values
//! vary by less than 100 ε of their magnitude); a window
//! when its energy is at most `Σ_channels Σ m² · ((100 ε · s)² + 32 ε · log₂(L) · s_c²)`
//! (`s` the largest `|I − c|` or `|I|` over the scene, `s_c` the largest `|I − c|`, `L` the
//! number of scores plus template pixels: the second term bounds the FFT's rounding of the
//! window sums, so in f32 on a 1024² scene a window whose RMS deviation under the mask is
//! below about 0.9 % of the scene's range counts as flat; in f64, 2e-6 %). A zero-weight window cannot occur: a mask
//! that is all zero is refused. Normalised scores are clamped to `[−1, 1]`, `sqdiff-normed`
//! to `[0, 1]` and `sqdiff` to `≥ 0`, as in the unmasked matcher.
//!
//! ```
//! use xcorr::matching::{match_template, Mask, Method, Template};
//! use xcorr::{peaks, Array, Engine, Shape};
//! let texture = |r: usize, c: usize| ((r * 97 + c) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54;
//! let scene = Array::from_fn(Shape::d2(20, 24), |r, c| texture(r, c) as f32 / 1024.0);
//! // The template's right half is garbage; the mask leaves it out.
//! let template = Array::from_fn(Shape::d2(4, 6), |r, c| if c < 3 { scene.at(9 + r, 11 + c) } else { 7.0 });
//! let mask = Mask::binary(&[Array::from_fn(Shape::d2(4, 6), |_, c| (c < 3) as u8 as f32).view()]).unwrap();
//! // (sqdiff: this texture repeats up to an offset, which the centred methods cannot tell.)
//! let masked = Template::new(&template, Some(&mask));
//! let map = match_template(&Engine::cpu(), &scene, masked, Method::SqDiff).unwrap();
//! let best = peaks::best(map.view(), Method::SqDiff.extremum()).unwrap();
//! assert_eq!((best.row, best.col), (9, 11));
//! ```

use super::inputs::{check_planes, Image, Template};
use super::matching::{check_fits, flat_tolerance, normalised, out_shape, pad, Method, Sample};
use crate::array::{Array, ArrayView, Real, Shape};
use crate::cpu::Load;
use crate::engine::{Engine, Prepared};
use crate::error::{Error, Result};
use crate::range;
use crate::spec::{next_fast_len, Mode, Op, Pair};
use rayon::prelude::*;

fn to64<T: Sample>(v: T) -> f64 {
    Real::to_f64(v)
}

fn from64<T: Sample>(v: f64) -> T {
    <T as Real>::from_f64(v)
}

/// A template mask: one plane, or one per channel, of non-negative finite weights that are
/// not all zero.
#[derive(Clone, Debug)]
pub struct Mask<T: Sample> {
    planes: Vec<Array<T>>,
    /// Every weight is 0 or 1 (then `m² = m` and one correlation less is needed).
    binary: bool,
}

impl<T: Sample> Mask<T> {
    /// A binary mask, as OpenCV reads a `uint8` mask: any nonzero value is weight 1 (NaN is
    /// refused).
    pub fn binary(planes: &[ArrayView<'_, T>]) -> Result<Self> {
        check_planes(planes, "mask")?;
        let planes = planes
            .iter()
            .map(|p| {
                p.to_owned()
                    .map(|&v| if v != T::zero() { T::one() } else { T::zero() })
            })
            .collect();
        Self::checked(planes)
    }

    /// A weighted mask: each template pixel's terms are weighted as OpenCV weights them with a
    /// float mask (`m²` in the products, `m` in the means). Weights must be finite and
    /// non-negative.
    pub fn weights(planes: &[ArrayView<'_, T>]) -> Result<Self> {
        check_planes(planes, "mask")?;
        for (c, p) in planes.iter().enumerate() {
            if let Some(i) = p.data().iter().position(|&v| v < T::zero()) {
                return Err(Error::InvalidArgument(format!(
                    "mask weights must be non-negative, got {} at index {i} of channel {c}",
                    to64(p.data()[i])
                )));
            }
        }
        Self::checked(planes.iter().map(|p| p.to_owned()).collect())
    }

    fn checked(planes: Vec<Array<T>>) -> Result<Self> {
        for (c, p) in planes.iter().enumerate() {
            if p.data().iter().all(|&v| v == T::zero()) {
                let which = if planes.len() == 1 {
                    String::new()
                } else {
                    format!(" (channel {c})")
                };
                return Err(Error::InvalidArgument(format!(
                    "the mask is all zero{which}: no template pixel would be compared"
                )));
            }
        }
        let binary = planes
            .iter()
            .all(|p| p.data().iter().all(|&v| v == T::zero() || v == T::one()));
        Ok(Mask { planes, binary })
    }

    /// The planes' shape (the template's).
    pub fn shape(&self) -> Shape {
        self.planes[0].shape()
    }

    /// 1, or the number of channels.
    pub fn channels(&self) -> usize {
        self.planes.len()
    }

    /// Whether every weight is 0 or 1.
    pub fn is_binary(&self) -> bool {
        self.binary
    }

    /// The mask plane that weights channel `c`.
    fn plane(&self, c: usize) -> ArrayView<'_, T> {
        self.planes[if self.planes.len() == 1 { 0 } else { c }].view()
    }
}

/// Refuse a scene/template/mask combination OpenCV would refuse.
fn check_inputs<T: Sample>(
    scene: &[ArrayView<'_, T>],
    template: &[ArrayView<'_, T>],
    mask: Option<&Mask<T>>,
) -> Result<()> {
    check_planes(template, "template")?;
    check_planes(scene, "scene")?;
    check_channels(scene.len(), template.len(), "scene")?;
    check_fits(scene[0].shape(), template[0].shape())?;
    check_mask(template[0].shape(), template.len(), mask)
}

/// A scene or frame has as many channels as the template.
fn check_channels(scene: usize, template: usize, what: &str) -> Result<()> {
    if scene != template {
        return Err(Error::ShapeMismatch(format!(
            "the {what} has {scene} channel(s) and the template {template}: they must have \
             the same"
        )));
    }
    Ok(())
}

pub(super) fn check_mask<T: Sample>(
    template: Shape,
    channels: usize,
    mask: Option<&Mask<T>>,
) -> Result<()> {
    let Some(mask) = mask else { return Ok(()) };
    if mask.shape() != template {
        return Err(Error::ShapeMismatch(format!(
            "the mask has shape {}, but the template has shape {template}: a mask has the \
             template's shape",
            mask.shape()
        )));
    }
    if mask.channels() != 1 && mask.channels() != channels {
        return Err(Error::ShapeMismatch(format!(
            "the mask has {} channels and the template {channels}: a mask has one channel or \
             one per template channel",
            mask.channels()
        )));
    }
    Ok(())
}

/// One template channel's constants and the planes its correlations need.
struct ChannelTemplate<T: Sample> {
    /// `m²(T − a)`, `m²` and, for a weighted mask, `m`.
    u: Array<T>,
    m2: Array<T>,
    m: Option<Array<T>>,
    /// `Σ m`, `Σ m²`, `a = Σ m·T / Σ m`, `Σ m²(T − a)`, `Σ m² T²`, `Σ m²(T − a)²`.
    n: f64,
    w2: f64,
    a: f64,
    su: f64,
    energy: f64,
    energy_centred: f64,
    /// The largest `|T|` under the mask.
    scale: f64,
}

impl<T: Sample> ChannelTemplate<T> {
    fn new(template: ArrayView<'_, T>, mask: Option<ArrayView<'_, T>>, binary: bool) -> Self {
        let shape = template.shape();
        let [h, w] = shape.axes();
        let t: Vec<f64> = template.data().iter().map(|&v| to64(v)).collect();
        let m: Vec<f64> = match mask {
            Some(mask) => mask.data().iter().map(|&v| to64(v)).collect(),
            None => vec![1.0; t.len()],
        };
        let n: f64 = m.iter().sum();
        let w2: f64 = m.iter().map(|v| v * v).sum();
        let a = t.iter().zip(&m).map(|(t, m)| t * m).sum::<f64>() / n;
        let (mut su, mut energy, mut energy_centred, mut scale) = (0.0, 0.0, 0.0, 0.0f64);
        for (&t, &m) in t.iter().zip(&m) {
            let m2 = m * m;
            su += m2 * (t - a);
            energy += m2 * t * t;
            energy_centred += m2 * (t - a) * (t - a);
            if m > 0.0 {
                scale = scale.max(t.abs());
            }
        }
        let plane = |f: &dyn Fn(f64, f64) -> f64| {
            let data = t
                .iter()
                .zip(&m)
                .map(|(&t, &m)| from64::<T>(f(t, m)))
                .collect();
            Array::new(data, Shape::d2(h, w)).expect("template-sized")
        };
        ChannelTemplate {
            u: plane(&|t, m| m * m * (t - a)),
            m2: plane(&|_, m| m * m),
            m: (!binary).then(|| plane(&|_, m| m)),
            n,
            w2,
            a,
            su,
            energy,
            energy_centred,
            scale,
        }
    }
}

/// A template (all channels) with its mask folded in.
struct TemplateSet<T: Sample> {
    shape: Shape,
    channels: Vec<ChannelTemplate<T>>,
}

impl<T: Sample> TemplateSet<T> {
    fn new(template: &[ArrayView<'_, T>], mask: Option<&Mask<T>>) -> Self {
        let binary = mask.is_none_or(Mask::is_binary);
        TemplateSet {
            shape: template[0].shape(),
            channels: template
                .iter()
                .enumerate()
                .map(|(c, t)| ChannelTemplate::new(*t, mask.map(|m| m.plane(c)), binary))
                .collect(),
        }
    }

    /// `(flat, zero)`: the template's `Σ m²(T − a)²`, or `Σ m² T²`, is degenerate.
    fn degenerate(&self) -> (bool, bool) {
        let tol = flat_tolerance::<T>();
        let (mut ec, mut e, mut floor_c, mut floor) = (0.0, 0.0, 0.0, 0.0);
        for ch in &self.channels {
            ec += ch.energy_centred;
            e += ch.energy;
            // Judged against |T|, not |T − a|: the weighted mean's own rounding leaves a
            // constant template a few ε of |T| away from flat.
            floor_c += ch.w2 * (tol * ch.scale).powi(2);
            floor += ch.w2 * (tol * ch.scale).powi(2);
        }
        (ec <= floor_c, e <= floor)
    }
}

/// A scene channel's centring offset and magnitudes.
#[derive(Clone, Copy, Debug)]
struct ChannelStats {
    mean: f64,
    scale: f64,
    centred_scale: f64,
}

impl ChannelStats {
    fn new<T: Sample>(plane: ArrayView<'_, T>) -> Self {
        let data = plane.data();
        let sum: f64 = data.par_iter().map(|&v| to64(v)).sum();
        let (lo, hi) = data.par_iter().map(|&v| (to64(v), to64(v))).reduce(
            || (f64::INFINITY, f64::NEG_INFINITY),
            |a, b| (a.0.min(b.0), a.1.max(b.1)),
        );
        let mean = (sum / data.len() as f64).clamp(lo, hi);
        ChannelStats {
            mean,
            scale: lo.abs().max(hi.abs()),
            centred_scale: (hi - mean).max(mean - lo),
        }
    }

    /// `J = I − c` and `J²`, in the element type.
    fn centred<T: Sample>(&self, plane: ArrayView<'_, T>) -> (Array<T>, Array<T>) {
        let shape = plane.shape();
        // The difference in f64, rounded once to T for each of J and J².
        let d = |v: &T| to64(*v) - self.mean;
        let j = plane.data().par_iter().map(|v| from64::<T>(d(v))).collect();
        let j2 = plane
            .data()
            .par_iter()
            .map(|v| from64::<T>(d(v) * d(v)))
            .collect();
        (
            Array::new(j, shape).expect("same shape"),
            Array::new(j2, shape).expect("same shape"),
        )
    }
}

/// One channel's window correlations, valid-mode, in the element type (widened to f64 as
/// they are combined: no f64 copy of each map).
struct Sums<T> {
    q: Vec<T>,
    p1: Vec<T>,
    p2: Vec<T>,
    /// `corr(J, m)`; `None` for a binary mask (equal to `p1`).
    pw: Option<Vec<T>>,
}

/// The scene inputs of a channel's correlations.
const J: usize = 0;
const J2: usize = 1;

impl<T> Sums<T> {
    /// How [`J`] and [`J2`] are loaded from a scene plane centred on its mean.
    const LOADS: [fn(f64) -> Load; 2] = [Load::Centred, Load::CentredSquared];

    /// The correlations a channel needs, `(scene input, template term)`, in the order
    /// [`Sums::new`] reads them: `q`, `p₁`, `p₂`, and `p_w` for a weighted mask. `J` serves
    /// three of them and `m²` two, so each is transformed once ([`Engine::compute_pairs`]).
    fn pairs(weighted: bool) -> &'static [(usize, Term)] {
        const PAIRS: [(usize, Term); 4] =
            [(J, Term::U), (J, Term::M2), (J2, Term::M2), (J, Term::M)];
        &PAIRS[..if weighted { 4 } else { 3 }]
    }

    /// The maps of [`Sums::pairs`], in that order.
    fn new(maps: impl IntoIterator<Item = Vec<T>>) -> Self {
        let mut maps = maps.into_iter();
        let mut next = || maps.next().expect("a map per pair");
        let (q, p1, p2) = (next(), next(), next());
        Sums {
            q,
            p1,
            p2,
            pw: maps.next(),
        }
    }
}

/// `out[i] = f(num[i], win[i])`: generic, so that `f` is inlined and the loop vectorised.
fn write_scores<T: Sample>(out: &mut [T], num: &[f64], win: &[f64], f: impl Fn(f64, f64) -> f64) {
    for (o, (&num, &win)) in out.iter_mut().zip(num.iter().zip(win)) {
        *o = from64::<T>(f(num, win));
    }
}

/// Scores [`combine`] computes per parallel task.
const COMBINE_CHUNK: usize = 4096;

/// Combine the channels' sums into `method`'s scores (module docs), in f64.
fn combine<T: Sample>(
    method: Method,
    tpl: &TemplateSet<T>,
    stats: &[ChannelStats],
    mut sums: Vec<Sums<T>>,
    out: Shape,
) -> Result<Array<T>> {
    let len = out.len();
    let (tpl_flat, tpl_zero) = tpl.degenerate();
    let tol = flat_tolerance::<T>();
    let eps = to64(<T as num_traits::Float>::epsilon());
    // Degenerate-window floors: the flatness rule plus the FFT's rounding of the sums.
    let (mut floor_c, mut floor, mut e_t, mut e_tc) = (0.0, 0.0, 0.0, 0.0);
    // An FFT's rounding grows with the log of its length and the size of all its inputs.
    let log_len = ((out.len() + tpl.shape.len()) as f64).log2().max(1.0);
    for (ch, s) in tpl.channels.iter().zip(stats) {
        let noise = 32.0 * eps * log_len * ch.w2 * s.centred_scale * s.centred_scale;
        floor_c += ch.w2 * (tol * s.centred_scale).powi(2) + noise;
        floor += ch.w2 * (tol * s.scale).powi(2) + noise;
        e_t += ch.energy;
        e_tc += ch.energy_centred;
    }
    // The scores overwrite the first channel's `q`, chunk by chunk once it is read: one map
    // less of fresh memory (page faults on fresh maps were about a tenth of W4M's time).
    let mut scores = std::mem::take(&mut sums[0].q);
    assert_eq!(scores.len(), len, "a score per window");
    scores
        .par_chunks_mut(COMBINE_CHUNK)
        .enumerate()
        .for_each(|(k, out)| {
            let at = k * COMBINE_CHUNK;
            let n = out.len();
            // Over the channels, the numerator and the window's energy; then the scores. One
            // method per loop, no branch inside: the compiler vectorises these loops, where
            // the element-by-element version ran its divisions and square roots scalar (a
            // fifth of W4M's time on the CPU).
            let (mut num, mut win) = (vec![0.0f64; n], vec![0.0f64; n]);
            for (index, ((ch, s), sum)) in tpl.channels.iter().zip(stats).zip(&sums).enumerate() {
                let q = if index == 0 {
                    &*out
                } else {
                    &sum.q[at..at + n]
                };
                let (p1, p2) = (&sum.p1[at..at + n], &sum.p2[at..at + n]);
                let pw = sum.pw.as_ref().map_or(p1, |pw| &pw[at..at + n]);
                let c = s.mean;
                let terms = num
                    .iter_mut()
                    .zip(win.iter_mut())
                    .zip(q.iter().zip(p1))
                    .zip(p2.iter().zip(pw))
                    .map(|(((num, win), (&q, &p1)), (&p2, &pw))| {
                        (num, win, to64(q), to64(p1), to64(p2), to64(pw))
                    });
                match method {
                    Method::CCoeff | Method::CCoeffNormed => {
                        for (num, win, q, p1, p2, pw) in terms {
                            let beta = pw / ch.n; // b − c
                            *num += q - beta * ch.su;
                            *win += (p2 - 2.0 * beta * p1 + beta * beta * ch.w2).max(0.0);
                        }
                    }
                    Method::CCorr | Method::CCorrNormed => {
                        for (num, win, q, p1, p2, _) in terms {
                            *num += q + c * ch.su + ch.a * (p1 + c * ch.w2);
                            *win += (p2 + 2.0 * c * p1 + c * c * ch.w2).max(0.0);
                        }
                    }
                    Method::SqDiff | Method::SqDiffNormed => {
                        // T − I = (T − a) − J + D with D = a − c.
                        let d = ch.a - c;
                        for (num, win, q, p1, p2, _) in terms {
                            *num += ch.energy_centred + p2 + d * d * ch.w2 - 2.0 * q
                                + 2.0 * d * ch.su
                                - 2.0 * d * p1;
                            *win += (p2 + 2.0 * c * p1 + c * c * ch.w2).max(0.0);
                        }
                    }
                }
            }
            match method {
                Method::CCoeff | Method::CCorr => write_scores(out, &num, &win, |num, _| num),
                Method::SqDiff => write_scores(out, &num, &win, |num, _| num.max(0.0)),
                Method::CCoeffNormed => write_scores(out, &num, &win, |num, win| {
                    normalised(num, e_tc * win, tpl_flat, win <= floor_c)
                }),
                Method::CCorrNormed => write_scores(out, &num, &win, |num, win| {
                    normalised(num, e_t * win, tpl_zero, win <= floor)
                }),
                Method::SqDiffNormed => write_scores(out, &num, &win, |num, win| {
                    let win_zero = win <= floor;
                    if tpl_zero || win_zero {
                        if tpl_zero && win_zero {
                            0.0
                        } else {
                            1.0
                        }
                    } else {
                        (num.max(0.0) / (e_t * win).sqrt()).clamp(0.0, 1.0)
                    }
                }),
            }
        });
    if let Some(i) = scores.iter().position(|v| !to64(*v).is_finite()) {
        return Err(Error::NonFinite {
            what: format!("the masked {method} map (the inputs' values are too large)"),
            value: to64(scores[i]).to_string(),
            index: i.to_string(),
        });
    }
    Array::new(scores, out)
}

/// Planes as 2-D views (a 1-D plane is one row).
fn as_2d<'a, T: Sample>(x: ArrayView<'a, T>) -> ArrayView<'a, T> {
    let [r, c] = x.shape().axes();
    ArrayView::new(x.data(), Shape::d2(r, c)).expect("same data")
}

/// One template (with its mask) against frames of one shape: per channel, the correlations
/// of the frame with `m²(T − a)` and `m²`, of its square with `m²`, and for a weighted mask
/// with `m`, then the f64 combination. On a GPU engine (f32 data) the correlations run on
/// the device.
pub(crate) struct MaskedTracker<T: Sample> {
    method: Method,
    frame_shape: Shape,
    tpl: TemplateSet<T>,
    correlations: TemplateCorrelations<T>,
}

/// Where a tracker's template-side correlations come from.
enum TemplateCorrelations<T: Sample> {
    /// Many frames: per channel, the spectra of the channel's terms (`u`, `m²`, and `m` for
    /// weighted masks), prepared once.
    Kept(Vec<Prepared<T>>),
    /// One frame: the engine's one-shot correlations, whose plans (and workspaces) the engine
    /// caches by shape. Preparing spectra for a single frame built fresh plans every call, and
    /// filling their new buffers was most of a one-shot call's time (`perf`: 29 % in
    /// `memset` and page faults on W4M).
    OneShot(Engine),
}

/// The template-side arrays of [`ChannelTemplate`], by their index in
/// [`ChannelTemplate::terms`].
#[derive(Clone, Copy)]
enum Term {
    U = 0,
    M2 = 1,
    M = 2,
}

impl<T: Sample> ChannelTemplate<T> {
    /// `u`, `m²` and, for a weighted mask, `m`: indexed by [`Term`].
    fn terms(&self) -> Vec<ArrayView<'_, T>> {
        let mut terms = vec![self.u.view(), self.m2.view()];
        terms.extend(self.m.as_ref().map(Array::view));
        terms
    }
}

impl<T: Sample> MaskedTracker<T> {
    /// Prepare `template` (one plane per channel) and its mask for frames of
    /// `frame_shape` (each frame has as many planes as the template).
    /// `keep`: prepare the template-side spectra for many frames, rather than correlating
    /// one-shot.
    pub(crate) fn new(
        engine: &Engine,
        template: &Template<'_, T>,
        frame_shape: Shape,
        method: Method,
        keep: bool,
    ) -> Result<Self> {
        let (template, mask) = (template.image().planes(), template.mask());
        check_planes(template, "template")?;
        check_fits(frame_shape, template[0].shape())?;
        check_mask(template[0].shape(), template.len(), mask)?;
        let template: Vec<_> = template.iter().map(|t| as_2d(*t)).collect();
        let tpl = TemplateSet::new(&template, mask);
        let [rows, cols] = frame_shape.axes();
        let frame = Shape::d2(rows, cols);
        let correlations = if keep {
            let prepared = tpl
                .channels
                .iter()
                .map(|ch| engine.prepare_many(Op::Correlate, Mode::Valid, frame, &ch.terms()))
                .collect::<Result<Vec<_>>>()?;
            TemplateCorrelations::Kept(prepared)
        } else {
            TemplateCorrelations::OneShot(engine.clone())
        };
        Ok(MaskedTracker {
            method,
            frame_shape,
            tpl,
            correlations,
        })
    }

    /// Channel `c`'s correlations of `J = I − c` and `J²` (valid mode) with its terms, `I`
    /// being `plane`. On the host, where nothing needs scaling into range, `J` and `J²` are
    /// loaded from the plane as its rows are transformed (making them, their fresh memory and
    /// the engine's check of each were W4M's largest costs besides the FFTs, `perf`);
    /// otherwise they are made first.
    async fn sums(
        &self,
        c: usize,
        plane: ArrayView<'_, T>,
        stats: &ChannelStats,
    ) -> Result<Sums<T>> {
        let ch = &self.tpl.channels[c];
        let pairs: Vec<Pair> = Sums::<T>::pairs(ch.m.is_some())
            .iter()
            .map(|&(input, term)| (input, term as usize))
            .collect();
        if let Some(maps) = self.host_sums(ch, c, plane, stats, &pairs)? {
            return Ok(Sums::new(maps.into_iter().map(Array::into_vec)));
        }
        let (j, j2) = stats.centred(plane);
        let scene = [j.view(), j2.view()];
        let maps = match &self.correlations {
            TemplateCorrelations::Kept(prepared) => {
                prepared[c].run_pairs_async(&scene, &pairs).await?
            }
            TemplateCorrelations::OneShot(engine) => {
                let terms = ch.terms();
                engine
                    .compute_pairs_async(Op::Correlate, &scene, &terms, &pairs, Mode::Valid)
                    .await?
            }
        };
        Ok(Sums::new(maps.into_iter().map(Array::into_vec)))
    }

    /// [`sums`](Self::sums) with `J` and `J²` loaded by a host plan, or `None` where the
    /// engine runs them on a device or some input needs scaling into range (then the
    /// engine's own path scales it).
    fn host_sums(
        &self,
        ch: &ChannelTemplate<T>,
        c: usize,
        plane: ArrayView<'_, T>,
        stats: &ChannelStats,
        pairs: &[Pair],
    ) -> Result<Option<Vec<Array<T>>>> {
        let len = plane.shape().len();
        let in_range = |max: f64, len: usize| range::exponent::<T>(max, len) == 0;
        // |J| is at most the largest |I − c|, J² at most its square.
        let scale = stats.centred_scale;
        if !in_range(scale, len) || !in_range(scale * scale, len) {
            return Ok(None);
        }
        let (loads, scene) = (
            Sums::<T>::LOADS.map(|load| load(stats.mean)),
            [plane, plane],
        );
        Ok(match &self.correlations {
            TemplateCorrelations::Kept(prepared) => prepared[c]
                .host_plan()
                .map(|cpu| cpu.run_loaded_pairs(&scene, &loads, pairs)),
            TemplateCorrelations::OneShot(engine) => {
                let terms = ch.terms();
                let terms_in_range = terms.iter().all(|t| {
                    t.validate_magnitude("template term")
                        .is_ok_and(|max| in_range(max, t.shape().len()))
                });
                if !terms_in_range {
                    return Ok(None);
                }
                engine
                    .host_plan::<T>(Op::Correlate, Mode::Valid, plane.shape(), self.tpl.shape)?
                    .map(|cpu| cpu.execute_loaded_pairs(&scene, &loads, &terms, pairs))
            }
        })
    }

    /// The map of scores for one frame (one plane per channel).
    pub(crate) async fn match_frame(&self, frame: &[ArrayView<'_, T>]) -> Result<Array<T>> {
        check_planes(frame, "frame")?;
        check_channels(frame.len(), self.tpl.channels.len(), "frame")?;
        if frame[0].shape().axes() != self.frame_shape.axes() {
            return Err(Error::ShapeMismatch(format!(
                "frame has shape {}, but the tracker was prepared for {}",
                frame[0].shape(),
                self.frame_shape
            )));
        }
        let mut stats = Vec::new();
        let mut sums = Vec::new();
        for (c, plane) in frame.iter().enumerate() {
            let plane = as_2d(*plane);
            let s = ChannelStats::new(plane);
            sums.push(self.sums(c, plane, &s).await?);
            stats.push(s);
        }
        let out = out_shape(self.frame_shape, self.tpl.shape);
        combine(self.method, &self.tpl, &stats, sums, out)
    }
}

/// One scene (one plane per channel), many templates and masks: the scene's spectra (`J` and
/// `J²` per channel, at a padded size `L ≥ (H, W)`) are kept, and each template costs, per
/// channel, two or three template transforms and inverses. As the grey
/// [`Scene`](crate::matching::Scene), the valid map is read from the circular correlation of
/// the template with the scene at `(−k) mod L`.
pub(crate) struct MaskedScene<T: Sample> {
    shape: Shape,
    padded: [usize; 2],
    stats: Vec<ChannelStats>,
    /// Per channel: the prepared `J` and `J²` (indexed by [`J`] and [`J2`]).
    prepared: Vec<Prepared<T>>,
}

impl<T: Sample> MaskedScene<T> {
    /// Transform the scene once (validates it: non-empty, finite, channels of one shape).
    pub(crate) fn new(engine: &Engine, scene: &[ArrayView<'_, T>]) -> Result<Self> {
        check_planes(scene, "scene")?;
        let [h, w] = scene[0].shape().axes();
        let padded = [next_fast_len(h), next_fast_len(w)];
        let mut stats = Vec::new();
        let mut prepared = Vec::new();
        for plane in scene {
            let plane = as_2d(*plane);
            let s = ChannelStats::new(plane);
            let (j, j2) = s.centred(plane);
            let (j, j2) = (pad(j.view(), padded), pad(j2.view(), padded));
            let shape = Shape::d2(padded[0], padded[1]);
            let kept = [j.view(), j2.view()];
            prepared.push(engine.prepare_many(Op::Correlate, Mode::CIRCULAR, shape, &kept)?);
            stats.push(s);
        }
        Ok(MaskedScene {
            shape: scene[0].shape(),
            padded,
            stats,
            prepared,
        })
    }

    /// The scene's shape (of one plane).
    pub(crate) fn shape(&self) -> Shape {
        self.shape
    }

    /// The map of `method`'s scores (the same as the one-shot [`match_map`]).
    pub(crate) async fn match_template(
        &self,
        template: &Template<'_, T>,
        method: Method,
    ) -> Result<Array<T>> {
        let (template, mask) = (template.image().planes(), template.mask());
        check_planes(template, "template")?;
        check_channels(self.stats.len(), template.len(), "scene")?;
        check_fits(self.shape, template[0].shape())?;
        check_mask(template[0].shape(), template.len(), mask)?;
        let template: Vec<_> = template.iter().map(|t| as_2d(*t)).collect();
        let tpl = TemplateSet::new(&template, mask);
        let out = out_shape(self.shape, tpl.shape);
        let [out_rows, out_cols] = out.axes();
        let [lr, lc] = self.padded;
        let valid = |circular: Array<T>| -> Vec<T> {
            let data = circular.data();
            let mut v = Vec::with_capacity(out_rows * out_cols);
            for r in 0..out_rows {
                let row = &data[((lr - r) % lr) * lc..][..lc];
                v.extend((0..out_cols).map(|c| row[(lc - c) % lc]));
            }
            v
        };
        let mut sums = Vec::new();
        for (ch, prepared) in tpl.channels.iter().zip(&self.prepared) {
            // The template's terms are the varying inputs here, the scene's kept.
            let terms: Vec<_> = ch
                .terms()
                .into_iter()
                .map(|x| pad(x, self.padded))
                .collect();
            let terms: Vec<_> = terms.iter().map(Array::view).collect();
            let pairs: Vec<Pair> = Sums::<T>::pairs(ch.m.is_some())
                .iter()
                .map(|&(input, term)| (term as usize, input))
                .collect();
            let maps = prepared.run_pairs_async(&terms, &pairs).await?;
            sums.push(Sums::new(maps.into_iter().map(valid)));
        }
        combine(method, &tpl, &self.stats, sums, out)
    }
}

/// Masked and/or multi-channel matching of one scene and one template (the same number of
/// planes for both), the `(H − h + 1, W − w + 1)` map of `method`'s scores (module docs).
pub(crate) async fn match_map<T: Sample>(
    engine: &Engine,
    scene: &Image<'_, T>,
    template: &Template<'_, T>,
    method: Method,
) -> Result<Array<T>> {
    let scene = scene.planes();
    check_inputs(scene, template.image().planes(), template.mask())?;
    let tracker = MaskedTracker::new(engine, template, scene[0].shape(), method, false)?;
    tracker.match_frame(scene).await
}
