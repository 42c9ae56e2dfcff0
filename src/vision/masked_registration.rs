//! Masked registration: scikit-image's `phase_cross_correlation(reference, moving,
//! reference_mask=…, moving_mask=…, overlap_ratio=…)`, the masked normalized
//! cross-correlation of Padfield (IEEE TIP 21, 2012).
//!
//! Pixels outside a mask (value 0; any nonzero value is inside, as scikit-image reads a
//! boolean mask) take no part. For every integer lag `k` (every overlap of the two images,
//! `full` mode) the correlation coefficient of the reference and the moving image over the
//! pixels valid in both:
//!
//! ```text
//! num   = Σ F·G − (Σ F·M_g)(Σ M_f·G) / n
//! den_f = Σ F²·M_g − (Σ F·M_g)² / n,   den_g = Σ M_f·G² − (Σ M_f·G)² / n
//! ncc   = num / √(den_f · den_g)
//! ```
//!
//! with `F = reference · M_f`, `G = moving · M_g`, each sum `Σ_n X[n + k] · Y[n]` (a
//! [`correlate`](crate::Engine::correlate) in `full` mode, reference-side first) and
//! `n = round(Σ M_f·M_g)`, the number of pixels valid in both (at least ε). As in
//! scikit-image, a lag whose `√(den_f·den_g)` is at most `1000 ε` times its largest value
//! scores 0, scores are clipped to `[−1, 1]`, and lags whose overlap is below
//! `overlap_ratio` times the largest overlap score 0 (ε of the element type).
//!
//! The shift is the mean of the lags where the score is largest (scikit-image averages equal
//! maxima), plus `(moving shape − reference shape) / 2`: the shift that, applied to `moving`,
//! registers it with `reference`, in `(row, col)` order, as [`crate::registration`]. Integer
//! precision only (scikit-image ignores `upsample_factor` with masks too).
//!
//! Six correlations through the [`Engine`], so a GPU engine (f32 data) computes them on the
//! device; the combination is in f64 on the host.
//!
//! ```
//! use xcorr::registration::register_masked;
//! use xcorr::{Array, Engine, Shape};
//! let texture = |r: usize, c: usize| (((r * 97 + c) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as f64;
//! let reference = Array::from_fn(Shape::d2(32, 32), |r, c| texture(r, c));
//! // moving(y, x) = reference(y − 3, x + 2); its first rows are invalid.
//! let moving = Array::from_fn(Shape::d2(32, 32), |r, c| if r < 3 || c >= 30 { 0.0 } else { reference.at(r - 3, c + 2) });
//! let ones = Array::from_fn(Shape::d2(32, 32), |_, _| 1.0);
//! let valid = Array::from_fn(Shape::d2(32, 32), |r, c| (r >= 3 && c < 30) as u8 as f64);
//! let found = register_masked(&Engine::cpu(), &reference, &moving, &ones, Some(&valid), 0.3).unwrap();
//! assert_eq!(found.shift, (-3.0, 2.0));
//! ```

use crate::array::{Array, ArrayView, Element, Real, Shape};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::spec::Mode;
use rayon::prelude::*;

/// What [`register_masked`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct MaskedRegistration {
    /// `(dy, dx)`: the shift that registers `moving` with `reference`.
    pub shift: (f64, f64),
    /// The masked NCC at its maximum, in `[−1, 1]`.
    pub peak: f64,
}

/// Register `moving` with `reference` by masked normalized cross-correlation (module docs).
/// `moving_mask: None` uses `reference_mask` (the images must then have one shape).
/// `overlap_ratio` is in `[0, 1]` (scikit-image's default is 0.3).
pub fn register_masked<'a, T: Element<Real = T> + Real>(
    engine: &Engine,
    reference: impl Into<ArrayView<'a, T>>,
    moving: impl Into<ArrayView<'a, T>>,
    reference_mask: impl Into<ArrayView<'a, T>>,
    moving_mask: Option<&'a Array<T>>,
    overlap_ratio: f64,
) -> Result<MaskedRegistration> {
    let (reference, moving) = (reference.into(), moving.into());
    let reference_mask = reference_mask.into();
    let ncc = masked_ncc(
        engine,
        reference,
        moving,
        reference_mask,
        moving_mask.map(Array::view),
        overlap_ratio,
    )?;
    let best = ncc.data().iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
    let cols = ncc.shape().cols();
    let [mr, mc] = moving.shape().axes();
    let [rr, rc] = reference.shape().axes();
    // Lag of full-mode index i: i − (moving length − 1).
    let (mut sy, mut sx, mut count) = (0.0, 0.0, 0.0);
    for (i, _) in ncc.data().iter().enumerate().filter(|(_, &v)| v == best) {
        sy += (i / cols) as f64 - (mr as f64 - 1.0);
        sx += (i % cols) as f64 - (mc as f64 - 1.0);
        count += 1.0;
    }
    let shift = (
        sy / count + (mr as f64 - rr as f64) / 2.0,
        sx / count + (mc as f64 - rc as f64) / 2.0,
    );
    Ok(MaskedRegistration {
        shift: (shift.0 + 0.0, shift.1 + 0.0),
        peak: best,
    })
}

/// The masked NCC of every overlap (`full` mode: shape `reference + moving − 1` per axis,
/// index `i` is lag `i − (moving − 1)`), in f64. See the module docs.
pub fn masked_ncc<T: Element<Real = T> + Real>(
    engine: &Engine,
    reference: ArrayView<'_, T>,
    moving: ArrayView<'_, T>,
    reference_mask: ArrayView<'_, T>,
    moving_mask: Option<ArrayView<'_, T>>,
    overlap_ratio: f64,
) -> Result<Array<f64>> {
    if !(0.0..=1.0).contains(&overlap_ratio) {
        return Err(Error::InvalidArgument(format!(
            "overlap ratio must be from 0 to 1, got {overlap_ratio}"
        )));
    }
    reference.validate("reference")?;
    moving.validate("moving image")?;
    reference_mask.validate("reference mask")?;
    if reference.shape().ndim() != 2 || moving.shape().ndim() != 2 {
        return Err(Error::Dimensions(
            "masked registration takes 2-D images".into(),
        ));
    }
    if reference_mask.shape() != reference.shape() {
        return Err(Error::ShapeMismatch(format!(
            "the reference mask has shape {}, the reference {}: they must match",
            reference_mask.shape(),
            reference.shape()
        )));
    }
    let moving_mask = match moving_mask {
        Some(m) => {
            m.validate("moving mask")?;
            if m.shape() != moving.shape() {
                return Err(Error::ShapeMismatch(format!(
                    "the moving mask has shape {}, the moving image {}: they must match",
                    m.shape(),
                    moving.shape()
                )));
            }
            m
        }
        None if moving.shape() == reference.shape() => reference_mask,
        None => {
            return Err(Error::ShapeMismatch(format!(
                "without a moving mask the images must have one shape (the reference mask \
                 serves both), got {} and {}",
                reference.shape(),
                moving.shape()
            )))
        }
    };
    let binary = |m: ArrayView<'_, T>, what: &str| -> Result<Array<T>> {
        let b = Array::new(
            m.data()
                .iter()
                .map(|&v| if v != T::zero() { T::one() } else { T::zero() })
                .collect(),
            m.shape(),
        )?;
        if b.data().iter().all(|&v| v == T::zero()) {
            return Err(Error::InvalidArgument(format!(
                "the {what} is all zero: no pixel would be compared"
            )));
        }
        Ok(b)
    };
    let (mf, mg) = (
        binary(reference_mask, "reference mask")?,
        binary(moving_mask, "moving mask")?,
    );
    let masked = |x: ArrayView<'_, T>, m: &Array<T>, square: bool| -> Array<T> {
        let data = x
            .data()
            .iter()
            .zip(m.data())
            .map(|(&v, &m)| {
                let v = v * m;
                if square {
                    v * v
                } else {
                    v
                }
            })
            .collect();
        Array::new(data, x.shape()).expect("same shape")
    };
    let (f, f2) = (masked(reference, &mf, false), masked(reference, &mf, true));
    let (g, g2) = (masked(moving, &mg, false), masked(moving, &mg, true));
    let corr = |a: &Array<T>, b: &Array<T>| -> Result<Vec<f64>> {
        let out = engine.correlate(a.view(), b.view(), Mode::Full)?;
        Ok(out.data().par_iter().map(|&v| Real::to_f64(v)).collect())
    };
    let overlap = corr(&mf, &mg)?;
    let f_mg = corr(&f, &mg)?;
    let mf_g = corr(&mf, &g)?;
    let fg = corr(&f, &g)?;
    let f2_mg = corr(&f2, &mg)?;
    let mf_g2 = corr(&mf, &g2)?;
    let eps = Real::to_f64(<T as num_traits::Float>::epsilon());
    let overlap: Vec<f64> = overlap.iter().map(|v| v.round().max(eps)).collect();
    let (mut num, mut den) = (vec![0.0; fg.len()], vec![0.0; fg.len()]);
    num.par_iter_mut()
        .zip(&mut den)
        .enumerate()
        .for_each(|(i, (num, den))| {
            let n = overlap[i];
            *num = fg[i] - f_mg[i] * mf_g[i] / n;
            let den_f = (f2_mg[i] - f_mg[i] * f_mg[i] / n).max(0.0);
            let den_g = (mf_g2[i] - mf_g[i] * mf_g[i] / n).max(0.0);
            *den = (den_f * den_g).sqrt();
        });
    let tol = 1e3 * eps * den.iter().fold(0.0f64, |m, &v| m.max(v));
    let most = overlap.iter().fold(0.0f64, |m, &v| m.max(v));
    let threshold = overlap_ratio * most;
    let ncc = (0..num.len())
        .map(|i| {
            if den[i] > tol && overlap[i] >= threshold {
                (num[i] / den[i]).clamp(-1.0, 1.0)
            } else {
                0.0
            }
        })
        .collect();
    let [rr, rc] = reference.shape().axes();
    let [mr, mc] = moving.shape().axes();
    Array::new(ncc, Shape::d2(rr + mr - 1, rc + mc - 1))
}
