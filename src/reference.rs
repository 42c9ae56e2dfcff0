//! Direct O(N·M) sums in f64: the ground truth for tests, never the product path.
//!
//! Written independently of [`crate::spec`]: the linear modes compute the `full` result and
//! cut it the way `scipy.signal` does (`same` from `(M − 1)/2`, `valid` from `min(N, M) − 1`),
//! and circular mode sums modulo N. Tests compare the engine with these sums, so an error in
//! `spec`'s lag arithmetic shows up as a mismatch rather than being shared by both.

use crate::array::{Array, ArrayView, Element, Real, Shape};
use crate::error::{Error, Result};
use crate::spec::{Mode, Op};
use num_complex::Complex;

type C64 = Complex<f64>;

fn to_c64<T: Element>(x: ArrayView<'_, T>) -> Vec<C64> {
    x.data()
        .iter()
        .map(|v| {
            let c = v.to_complex();
            C64::new(c.re.to_f64(), c.im.to_f64())
        })
        .collect()
}

/// The correlation or convolution of `a` and `b` in `mode`, by direct summation in f64.
pub fn compute<T: Element>(
    op: Op,
    mode: Mode,
    a: ArrayView<'_, T>,
    b: ArrayView<'_, T>,
) -> Result<Array<C64>> {
    if a.shape().ndim() != b.shape().ndim() {
        return Err(Error::Dimensions(
            "reference: inputs differ in dimensionality".into(),
        ));
    }
    match mode {
        Mode::Circular { centred } => circular(op, centred, a, b),
        _ => {
            let full = full(op, a, b);
            cut(mode, full, a.shape(), b.shape())
        }
    }
}

/// Every overlap: `(Nr + Mr − 1, Nc + Mc − 1)`.
pub fn full<T: Element>(op: Op, a: ArrayView<'_, T>, b: ArrayView<'_, T>) -> Array<C64> {
    let (av, bv) = (to_c64(a), to_c64(b));
    let [nr, nc] = a.shape().axes();
    let [mr, mc] = b.shape().axes();
    let shape = a.shape().with_axes([nr + mr - 1, nc + mc - 1]);
    Array::from_fn(shape, |i, j| {
        let mut sum = C64::new(0.0, 0.0);
        match op {
            Op::Correlate => {
                // lag (i − (mr − 1), j − (mc − 1)): Σ a[p + ky, q + kx] · conj(b[p, q])
                let (ky, kx) = (
                    i as isize - (mr as isize - 1),
                    j as isize - (mc as isize - 1),
                );
                for p in 0..mr {
                    for q in 0..mc {
                        let (y, x) = (p as isize + ky, q as isize + kx);
                        if y >= 0 && x >= 0 && (y as usize) < nr && (x as usize) < nc {
                            sum += av[y as usize * nc + x as usize] * bv[p * mc + q].conj();
                        }
                    }
                }
            }
            Op::Convolve => {
                // Σ a[p, q] · b[i − p, j − q]
                for p in 0..nr {
                    for q in 0..nc {
                        let (y, x) = (i as isize - p as isize, j as isize - q as isize);
                        if y >= 0 && x >= 0 && (y as usize) < mr && (x as usize) < mc {
                            sum += av[p * nc + q] * bv[y as usize * mc + x as usize];
                        }
                    }
                }
            }
        }
        sum
    })
}

/// Cut `same` or `valid` out of `full` as scipy does; `full` is returned whole.
fn cut(mode: Mode, full: Array<C64>, a: Shape, b: Shape) -> Result<Array<C64>> {
    let (na, nb) = (a.axes(), b.axes());
    let (start, len): ([usize; 2], [usize; 2]) = match mode {
        Mode::Full => return Ok(full),
        Mode::Same => ([0, 1].map(|i| (nb[i] - 1) / 2), na),
        Mode::Valid => {
            let a_big = (0..2).all(|i| na[i] >= nb[i]);
            let b_big = (0..2).all(|i| nb[i] >= na[i]);
            if !a_big && !b_big {
                return Err(Error::ShapeMismatch(
                    "reference: valid with mixed shapes".into(),
                ));
            }
            (
                [0, 1].map(|i| na[i].min(nb[i]) - 1),
                [0, 1].map(|i| na[i].abs_diff(nb[i]) + 1),
            )
        }
        Mode::Circular { .. } => unreachable!("circular is not cut from full"),
    };
    let fc = full.shape().cols();
    let shape = a.with_axes(len);
    Ok(Array::from_fn(shape, |i, j| {
        full.data()[(start[0] + i) * fc + start[1] + j]
    }))
}

/// Circular sums at the shape of `a`; `b` zero-padded at its end, or, when `centred`, placed
/// so that its element `M/2` (per axis) sits at index 0.
pub fn circular<T: Element>(
    op: Op,
    centred: bool,
    a: ArrayView<'_, T>,
    b: ArrayView<'_, T>,
) -> Result<Array<C64>> {
    let [nr, nc] = a.shape().axes();
    let [mr, mc] = b.shape().axes();
    if mr > nr || mc > nc {
        return Err(Error::ShapeMismatch(
            "reference: circular with larger b".into(),
        ));
    }
    let (av, bv) = (to_c64(a), to_c64(b));
    // The kernel at the size of a, with its origin moved.
    let (cr, cc) = if centred { (mr / 2, mc / 2) } else { (0, 0) };
    let mut kernel = vec![C64::new(0.0, 0.0); nr * nc];
    for p in 0..mr {
        for q in 0..mc {
            let y = (p + nr - cr) % nr;
            let x = (q + nc - cc) % nc;
            kernel[y * nc + x] = bv[p * mc + q];
        }
    }
    Ok(Array::from_fn(a.shape(), |i, j| {
        let mut sum = C64::new(0.0, 0.0);
        for p in 0..nr {
            for q in 0..nc {
                sum += match op {
                    Op::Correlate => {
                        av[(p + i) % nr * nc + (q + j) % nc] * kernel[p * nc + q].conj()
                    }
                    Op::Convolve => {
                        av[p * nc + q] * kernel[(i + nr - p) % nr * nc + (j + nc - q) % nc]
                    }
                };
            }
        }
        sum
    }))
}

/// OpenCV's masked `matchTemplate` scores by direct summation in f64, no clamping and no
/// degenerate rules: `method` is OpenCV's number (`TM_SQDIFF` = 0 … `TM_CCOEFF_NORMED` = 5).
/// `scene` and `template` hold one plane per channel; `mask` one plane (shared) or one per
/// channel, its values used as weights (`m²` in products, `m` in the means, as OpenCV's
/// `templx = m·(T − a)`, `imgx = m·(I − b)`).
pub fn match_template_masked(
    scene: &[ArrayView<'_, f64>],
    template: &[ArrayView<'_, f64>],
    mask: &[ArrayView<'_, f64>],
    method: u32,
) -> Array<f64> {
    let [sr, sc] = scene[0].shape().axes();
    let [h, w] = template[0].shape().axes();
    let mask_of = |c: usize| mask[if mask.len() == 1 { 0 } else { c }];
    // Per channel: Σ m and the weighted template mean.
    let n: Vec<f64> = (0..template.len())
        .map(|c| mask_of(c).data().iter().sum())
        .collect();
    let t_mean: Vec<f64> = (0..template.len())
        .map(|c| {
            let t = template[c].data();
            let m = mask_of(c).data();
            t.iter().zip(m).map(|(t, m)| t * m).sum::<f64>() / n[c]
        })
        .collect();
    Array::from_fn(Shape::d2(sr - h + 1, sc - w + 1), |y, x| {
        let (mut num, mut e_t, mut e_i) = (0.0, 0.0, 0.0);
        for c in 0..template.len() {
            let (t, m, s) = (template[c], mask_of(c), scene[c]);
            let mut i_mean = 0.0;
            for i in 0..h {
                for j in 0..w {
                    i_mean += s.at(y + i, x + j) * m.at(i, j);
                }
            }
            i_mean /= n[c];
            for i in 0..h {
                for j in 0..w {
                    let (tv, mv, iv) = (t.at(i, j), m.at(i, j), s.at(y + i, x + j));
                    match method {
                        0 | 1 => {
                            num += (mv * (tv - iv)).powi(2);
                            e_t += (mv * tv).powi(2);
                            e_i += (mv * iv).powi(2);
                        }
                        2 | 3 => {
                            num += (mv * tv) * (mv * iv);
                            e_t += (mv * tv).powi(2);
                            e_i += (mv * iv).powi(2);
                        }
                        _ => {
                            let (tx, ix) = (mv * (tv - t_mean[c]), mv * (iv - i_mean));
                            num += tx * ix;
                            e_t += tx * tx;
                            e_i += ix * ix;
                        }
                    }
                }
            }
        }
        match method {
            1 | 3 | 5 => num / (e_t * e_i).sqrt(),
            _ => num,
        }
    })
}

/// The masked normalized cross-correlation (Padfield 2012, as scikit-image computes it) by
/// direct summation in f64: for every `full`-mode lag `k` (index `i = k + moving − 1` per
/// axis) the correlation coefficient of `reference[n + k]` and `moving[n]` over the pixels
/// where both masks are nonzero, before scikit-image's thresholds (no overlap-ratio cut, no
/// small-denominator cut, no clipping); `None` where fewer than 2 pixels overlap or a side is
/// constant.
pub fn masked_ncc(
    reference: ArrayView<'_, f64>,
    moving: ArrayView<'_, f64>,
    reference_mask: ArrayView<'_, f64>,
    moving_mask: ArrayView<'_, f64>,
) -> Vec<Option<f64>> {
    let [rr, rc] = reference.shape().axes();
    let [mr, mc] = moving.shape().axes();
    let (or, oc) = (rr + mr - 1, rc + mc - 1);
    let mut out = Vec::with_capacity(or * oc);
    for i in 0..or {
        for j in 0..oc {
            let (ky, kx) = (
                i as isize - (mr as isize - 1),
                j as isize - (mc as isize - 1),
            );
            let (mut pairs, mut n) = (Vec::new(), 0.0);
            for p in 0..mr {
                for q in 0..mc {
                    let (y, x) = (p as isize + ky, q as isize + kx);
                    if y < 0 || x < 0 || y as usize >= rr || x as usize >= rc {
                        continue;
                    }
                    let (y, x) = (y as usize, x as usize);
                    if reference_mask.at(y, x) != 0.0 && moving_mask.at(p, q) != 0.0 {
                        pairs.push((reference.at(y, x), moving.at(p, q)));
                        n += 1.0;
                    }
                }
            }
            if pairs.len() < 2 {
                out.push(None);
                continue;
            }
            let ma = pairs.iter().map(|p| p.0).sum::<f64>() / n;
            let mb = pairs.iter().map(|p| p.1).sum::<f64>() / n;
            let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
            for (a, b) in &pairs {
                sab += (a - ma) * (b - mb);
                saa += (a - ma) * (a - ma);
                sbb += (b - mb) * (b - mb);
            }
            out.push((saa > 0.0 && sbb > 0.0).then(|| sab / (saa * sbb).sqrt()));
        }
    }
    out
}
