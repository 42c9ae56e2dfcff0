//! A bare 2-D complex FFT (rows, then columns in cache-sized blocks), unnormalised like
//! numpy's forward `fft2`. Registration's f64 transforms, benchmarks and the tests' oracle use
//! it; correlation plans fuse their column transforms with the product instead.

use super::columns::BLOCK;
use crate::array::Real;
use num_complex::Complex;
use num_traits::Zero;
use rayon::prelude::*;
use rustfft::{FftDirection, FftPlanner};

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
        self.process_columns(data, cols);
    }

    /// Transform only the columns of `data` (row-major, `rows × width`): the second half of
    /// [`process`](Self::process), also for half spectra (`width = cols/2 + 1`) whose rows
    /// came from real-to-complex transforms.
    pub(crate) fn process_columns(&self, data: &mut [Complex<R>], width: usize) {
        assert_eq!(
            data.len(),
            self.rows * width,
            "data length differs from the plan"
        );
        if self.rows > 1 {
            super::columns::transform_in_place(data, self.rows, width, self.col_fft.as_ref());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_direct_dft() {
        // One column block, and several with a partial last one.
        for (rows, cols) in [(6, 5), (12, 37)] {
            check_against_direct_dft(rows, cols);
        }
    }

    fn check_against_direct_dft(rows: usize, cols: usize) {
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
                assert!(
                    (sum - y[u * cols + v]).norm() < 1e-10,
                    "{rows}x{cols} at ({u}, {v})"
                );
            }
        }
    }
}
