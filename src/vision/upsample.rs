//! The upsampled DFT of registration (Guizar-Sicairos et al. 2008) by Bluestein's chirp-z
//! transform, in f64.
//!
//! The refinement evaluates the inverse DFT of the cross-power spectrum on a `region × region`
//! grid of points `1/u` pixel apart around the integer peak. Written as two matrix products
//! (as scikit-image does) that costs `rows · cols · region` complex multiply-adds for the first
//! product alone (157 million at 1024² and u = 100). Along one axis the grid points are
//! equally spaced, so each line's values are a chirp-z transform: with integer `u` every
//! phase is a whole power of `ν = exp(πi/(u·n))`, and Bluestein's identity
//! `2jg = j² + g² − (g − j)²` turns the sum into one convolution, done by FFTs of a
//! fast length `≥ n + region − 1` ([`next_fast_len`]). That is `O(n log n)` per line instead of
//! `O(n · region)`: about ten times less work at u = 100. The exponents are reduced modulo
//! `2·u·n` in integers before any angle is formed, so the chirps are as exact as f64 `cos`
//! and `sin` of an angle in `[0, 2π)`.

use crate::spec::next_fast_len;
use num_complex::Complex;
use rayon::prelude::*;
use rustfft::{Fft, FftPlanner};
use std::f64::consts::PI;
use std::sync::Arc;

type C64 = Complex<f64>;

/// A spectrum, whole (`rows × cols`) or, for a real signal's (Hermitian) spectrum, its first
/// `cols/2 + 1` columns (`rows × (cols/2 + 1)`, as a real-to-complex transform leaves it).
#[derive(Clone, Copy)]
pub(crate) enum SpectrumView<'a> {
    Full(&'a [C64]),
    Half(&'a [C64]),
}

/// `grid[g_r · region + g_c] = Σ_f X[f] · exp(2πi (f_r·p_r/rows + f_c·p_c/cols))` over
/// numpy's signed frequencies `f` (the Nyquist term of an even axis negative), at the
/// positions `p = shift + (g − centre)/u`; `spectrum` is `rows × cols`, row-major.
pub(crate) fn upsampled_dft(
    spectrum: SpectrumView<'_>,
    [rows, cols]: [usize; 2],
    region: usize,
    u: usize,
    shift: [i64; 2],
    centre: usize,
) -> Vec<C64> {
    let mut planner = FftPlanner::new();
    let q0 = |s: i64| s * u as i64 - centre as i64;
    let along_cols = AxisTransform::new(&mut planner, cols, region, u, q0(shift[1]));
    let along_rows = AxisTransform::new(&mut planner, rows, region, u, q0(shift[0]));
    // half[f_r · region + g_c]: each row of the spectrum along its columns.
    let mut half = vec![C64::new(0.0, 0.0); rows * region];
    half.par_chunks_mut(region).enumerate().for_each_init(
        || along_cols.workspace(),
        |work, (f_r, out)| match spectrum {
            SpectrumView::Full(x) => {
                let line = &x[f_r * cols..(f_r + 1) * cols];
                along_cols.apply(|k| line[k], work, out)
            }
            SpectrumView::Half(x) => {
                // X[r, c] = conj(X[−r, −c]) for the columns the half spectrum leaves out.
                let width = cols / 2 + 1;
                let line = &x[f_r * width..(f_r + 1) * width];
                let mirror = &x[((rows - f_r) % rows) * width..][..width];
                along_cols.apply(
                    |k| {
                        if k < width {
                            line[k]
                        } else {
                            mirror[cols - k].conj()
                        }
                    },
                    work,
                    out,
                )
            }
        },
    );
    // Each column of `half` along the rows, then into the grid.
    let columns: Vec<Vec<C64>> = (0..region)
        .into_par_iter()
        .map_init(
            || along_rows.workspace(),
            |work, g_c| {
                let mut out = vec![C64::new(0.0, 0.0); region];
                along_rows.apply(|f_r| half[f_r * region + g_c], work, &mut out);
                out
            },
        )
        .collect();
    let mut grid = vec![C64::new(0.0, 0.0); region * region];
    for (g_c, column) in columns.iter().enumerate() {
        for (g_r, v) in column.iter().enumerate() {
            grid[g_r * region + g_c] = *v;
        }
    }
    grid
}

/// One axis: `out[g] = Σ_f x[f mod n] · ω^{f·(q0 + g)}`, `ω = exp(2πi/(u·n))`, for
/// `g < m` and the `n` signed frequencies `f` from `−⌊n/2⌋`.
struct AxisTransform {
    n: usize,
    forward: Arc<dyn Fft<f64>>,
    inverse: Arc<dyn Fft<f64>>,
    /// `ν^{2·j·q0 + j²}` for input position `j` (frequency `f_min + j`).
    pre: Vec<C64>,
    /// `ν^{2·f_min·q0 + 2·f_min·g + g²}` for output `g`.
    post: Vec<C64>,
    /// The FFT of `b[m] = ν^{−m²}` (m from −(n−1) to m_out − 1, wrapped), divided by its
    /// length so that the unnormalised inverse completes the convolution.
    kernel: Vec<C64>,
}

struct Workspace {
    line: Vec<C64>,
    scratch: Vec<C64>,
}

impl AxisTransform {
    fn new(planner: &mut FftPlanner<f64>, n: usize, m: usize, u: usize, q0: i64) -> Self {
        let len = next_fast_len(n + m - 1);
        // ν^k = exp(πi·k/(u·n)) has period 2·u·n in k.
        let period = 2 * (u as i128) * (n as i128);
        let nu = |k: i128| {
            let r = k.rem_euclid(period);
            C64::from_polar(1.0, PI * r as f64 / (u as f64 * n as f64))
        };
        let (q0, f_min) = (q0 as i128, -((n / 2) as i128));
        let pre = (0..n as i128).map(|j| nu(2 * j * q0 + j * j)).collect();
        let post = (0..m as i128)
            .map(|g| nu(2 * f_min * q0 + 2 * f_min * g + g * g))
            .collect();
        let mut kernel = vec![C64::new(0.0, 0.0); len];
        for d in -(n as i128 - 1)..m as i128 {
            kernel[d.rem_euclid(len as i128) as usize] = nu(-d * d);
        }
        let forward = planner.plan_fft_forward(len);
        forward.process(&mut kernel);
        let scale = 1.0 / len as f64;
        kernel.iter_mut().for_each(|k| *k *= scale);
        AxisTransform {
            n,
            inverse: planner.plan_fft_inverse(len),
            forward,
            pre,
            post,
            kernel,
        }
    }

    fn workspace(&self) -> Workspace {
        let scratch = self
            .forward
            .get_inplace_scratch_len()
            .max(self.inverse.get_inplace_scratch_len());
        Workspace {
            line: vec![C64::new(0.0, 0.0); self.kernel.len()],
            scratch: vec![C64::new(0.0, 0.0); scratch],
        }
    }

    /// `x(k)` reads the line's element at frequency index `k` (numpy's order).
    fn apply(&self, x: impl Fn(usize) -> C64, work: &mut Workspace, out: &mut [C64]) {
        let n = self.n;
        let f_min = n - n / 2; // index of frequency −⌊n/2⌋
        let line = &mut work.line;
        for (j, (slot, pre)) in line.iter_mut().zip(&self.pre).enumerate() {
            *slot = x((f_min + j) % n) * pre;
        }
        line[n..].fill(C64::new(0.0, 0.0));
        self.forward.process_with_scratch(line, &mut work.scratch);
        for (v, k) in line.iter_mut().zip(&self.kernel) {
            *v *= k;
        }
        self.inverse.process_with_scratch(line, &mut work.scratch);
        for ((o, v), post) in out.iter_mut().zip(line.iter()).zip(&self.post) {
            *o = v * post;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, summed directly.
    fn direct(
        x: &[C64],
        [rows, cols]: [usize; 2],
        region: usize,
        u: usize,
        shift: [i64; 2],
        centre: usize,
    ) -> Vec<C64> {
        let freq = |k: usize, n: usize| {
            if k < n.div_ceil(2) {
                k as f64
            } else {
                k as f64 - n as f64
            }
        };
        let mut out = vec![C64::new(0.0, 0.0); region * region];
        for gr in 0..region {
            for gc in 0..region {
                let pr = shift[0] as f64 + (gr as f64 - centre as f64) / u as f64;
                let pc = shift[1] as f64 + (gc as f64 - centre as f64) / u as f64;
                let mut acc = C64::new(0.0, 0.0);
                for r in 0..rows {
                    for c in 0..cols {
                        let angle = 2.0
                            * PI
                            * (freq(r, rows) * pr / rows as f64 + freq(c, cols) * pc / cols as f64);
                        acc += x[r * cols + c] * C64::from_polar(1.0, angle);
                    }
                }
                out[gr * region + gc] = acc;
            }
        }
        out
    }

    fn max_difference(a: &[C64], b: &[C64]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).norm())
            .fold(0.0, f64::max)
    }

    #[test]
    fn chirp_z_equals_the_direct_sums() {
        // Pseudo-random spectrum; even, odd and prime sizes; shifts of both signs.
        let mut state = 12345u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for (rows, cols, u, shift) in [
            (16, 20, 10, [3, -5]),
            (15, 17, 7, [-7, 8]),
            (1, 31, 20, [0, 12]),
            (12, 12, 2, [6, -6]),
        ] {
            let x: Vec<C64> = (0..rows * cols).map(|_| C64::new(next(), next())).collect();
            let region = (1.5 * u as f64).ceil() as usize;
            let centre = region / 2;
            let fast = upsampled_dft(
                SpectrumView::Full(&x),
                [rows, cols],
                region,
                u,
                shift,
                centre,
            );
            let slow = direct(&x, [rows, cols], region, u, shift, centre);
            let scale = x.iter().map(|v| v.norm()).sum::<f64>();
            let err = max_difference(&fast, &slow);
            assert!(err <= 1e-13 * scale, "{rows}x{cols} u={u}: {err:e}");
            // A Hermitian spectrum given by its first cols/2 + 1 columns gives the same grid.
            let hermitian: Vec<C64> = (0..rows * cols)
                .map(|i| {
                    let (r, c) = (i / cols, i % cols);
                    let m = ((rows - r) % rows) * cols + (cols - c) % cols;
                    (x[i] + x[m].conj()) * 0.5
                })
                .collect();
            let width = cols / 2 + 1;
            let half: Vec<C64> = (0..rows * width)
                .map(|i| hermitian[(i / width) * cols + i % width])
                .collect();
            let from_half = upsampled_dft(
                SpectrumView::Half(&half),
                [rows, cols],
                region,
                u,
                shift,
                centre,
            );
            let from_full = upsampled_dft(
                SpectrumView::Full(&hermitian),
                [rows, cols],
                region,
                u,
                shift,
                centre,
            );
            let err = max_difference(&from_half, &from_full);
            assert!(err <= 1e-13 * scale, "half {rows}x{cols}: {err:e}");
        }
    }
}
