//! A bare 2-D complex FFT (rows, then columns in cache-sized blocks), unnormalised like
//! numpy's forward `fft2`. Used by benchmarks and as an oracle; correlation does not call it.

use crate::array::Real;
use num_complex::Complex;
use num_traits::Zero;
use rayon::prelude::*;
use rustfft::{FftDirection, FftPlanner};

const BLOCK: usize = 16;

/// A planned 2-D FFT of one shape and direction.
pub struct Fft2<R: Real> {
    rows: usize,
    cols: usize,
    row_fft: std::sync::Arc<dyn rustfft::Fft<R>>,
    col_fft: std::sync::Arc<dyn rustfft::Fft<R>>,
}

impl<R: Real> Fft2<R> {
    /// Plan a `rows × cols` transform; `inverse` gives the unnormalised inverse.
    pub fn new(rows: usize, cols: usize, inverse: bool) -> Self {
        let direction = if inverse {
            FftDirection::Inverse
        } else {
            FftDirection::Forward
        };
        let mut planner = FftPlanner::new();
        Fft2 {
            rows,
            cols,
            row_fft: planner.plan_fft(cols, direction),
            col_fft: planner.plan_fft(rows, direction),
        }
    }

    /// Transform `data` (row-major, `rows × cols`) in place.
    pub fn process(&self, data: &mut [Complex<R>]) {
        assert_eq!(
            data.len(),
            self.rows * self.cols,
            "data length differs from the plan"
        );
        let (rows, cols) = (self.rows, self.cols);
        let zero = Complex::<R>::zero();
        let row_fft = &self.row_fft;
        data.par_chunks_mut(cols * BLOCK.min(rows)).for_each_init(
            || vec![zero; row_fft.get_inplace_scratch_len()],
            |scratch, chunk| row_fft.process_with_scratch(chunk, scratch),
        );
        if rows == 1 {
            return;
        }
        // Columns in blocks: gather BLOCK columns, transform, scatter back. Blocks touch
        // disjoint columns, so the raw pointer below is never written twice.
        let col_fft = &self.col_fft;
        let base = SendPtr(data.as_mut_ptr());
        (0..cols.div_ceil(BLOCK)).into_par_iter().for_each_init(
            || {
                (
                    vec![zero; rows * BLOCK],
                    vec![zero; col_fft.get_inplace_scratch_len()],
                )
            },
            |(block, scratch), b| {
                let base = &base;
                let k0 = b * BLOCK;
                let count = BLOCK.min(cols - k0);
                let block = &mut block[..rows * count];
                // SAFETY: columns k0..k0+count belong to this block alone, and `data`
                // outlives the parallel loop.
                let data = unsafe { std::slice::from_raw_parts_mut(base.0, rows * cols) };
                for r in 0..rows {
                    for dk in 0..count {
                        block[dk * rows + r] = data[r * cols + k0 + dk];
                    }
                }
                col_fft.process_with_scratch(block, scratch);
                for r in 0..rows {
                    for dk in 0..count {
                        data[r * cols + k0 + dk] = block[dk * rows + r];
                    }
                }
            },
        );
    }
}

struct SendPtr<T>(*mut T);
// SAFETY: used only to hand disjoint column blocks to rayon workers (see `process`).
unsafe impl<T: Send> Sync for SendPtr<T> {}
unsafe impl<T: Send> Send for SendPtr<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_direct_dft() {
        let (rows, cols) = (6, 5);
        let x: Vec<Complex<f64>> = (0..rows * cols)
            .map(|i| Complex::new((i as f64 * 0.37).sin(), (i as f64 * 0.11).cos()))
            .collect();
        let mut y = x.clone();
        Fft2::new(rows, cols, false).process(&mut y);
        for u in 0..rows {
            for v in 0..cols {
                let mut sum = Complex::new(0.0, 0.0);
                for r in 0..rows {
                    for c in 0..cols {
                        let angle = -2.0
                            * std::f64::consts::PI
                            * ((u * r) as f64 / rows as f64 + (v * c) as f64 / cols as f64);
                        sum += x[r * cols + c] * Complex::from_polar(1.0, angle);
                    }
                }
                assert!((sum - y[u * cols + v]).norm() < 1e-12);
            }
        }
    }
}
