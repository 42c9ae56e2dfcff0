//! A reusable CPU correlation plan: FFTs planned once, the template's spectrum kept.

use crate::array::{Array, ArrayView, Element, Real};
use crate::spec::{next_smooth, Op, Plan};
use num_complex::Complex;
use num_traits::Zero;
use rayon::prelude::*;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftPlanner};
use std::marker::PhantomData;
use std::sync::Arc;

/// Transforms along a row (the last axis): real-to-complex for real data (half the work),
/// complex for complex data.
enum RowTransforms<R: Real> {
    Real {
        forward: Arc<dyn RealToComplex<R>>,
        inverse: Arc<dyn ComplexToReal<R>>,
    },
    Complex {
        forward: Arc<dyn Fft<R>>,
        inverse: Arc<dyn Fft<R>>,
    },
}

/// A correlation (or convolution) of fixed shapes, planned once and run many times.
///
/// Spectra are stored column-major (`width × Lr`): after the row transforms each column of
/// the spectrum is transformed in place as one contiguous run, which is what the column
/// FFTs want, and the spectrum product needs no layout at all.
///
/// ```
/// use xcorr::{cpu::CpuPlan, spec::Plan, Array, Mode, Op, Shape};
/// let plan = Plan::new(Op::Correlate, Mode::Valid, Shape::d1(6), Shape::d1(2)).unwrap();
/// let mut cpu = CpuPlan::<f64>::new(&plan);
/// cpu.set_template(Array::from_vec(vec![1.0, 2.0]).view());
/// let out = cpu.run(Array::from_vec(vec![0.0, 0.0, 0.0, 1.0, 2.0, 0.0]).view());
/// // The template sits at offset 3: the peak of the valid output.
/// assert!((out.data()[3] - 5.0).abs() < 1e-12);
/// ```
pub struct CpuPlan<T: Element> {
    plan: Plan,
    /// Transform lengths `[Lr, Lc]`.
    len: [usize; 2],
    /// Spectrum entries per row: `Lc/2 + 1` for real data, `Lc` for complex.
    width: usize,
    rows: RowTransforms<T::Real>,
    col_forward: Arc<dyn Fft<T::Real>>,
    col_inverse: Arc<dyn Fft<T::Real>>,
    template: Option<Vec<Complex<T::Real>>>,
    _element: PhantomData<T>,
}

impl<T: Element> CpuPlan<T> {
    /// Plan transforms for `plan`'s shapes at 2,3,5,7-smooth lengths (exact for circular).
    pub fn new(plan: &Plan) -> Self {
        let len = plan.fft_shape(next_smooth);
        let mut planner = FftPlanner::<T::Real>::new();
        let rows = if T::IS_COMPLEX {
            RowTransforms::Complex {
                forward: planner.plan_fft_forward(len[1]),
                inverse: planner.plan_fft_inverse(len[1]),
            }
        } else {
            let mut real = RealFftPlanner::<T::Real>::new();
            RowTransforms::Real {
                forward: real.plan_fft_forward(len[1]),
                inverse: real.plan_fft_inverse(len[1]),
            }
        };
        let width = if T::IS_COMPLEX {
            len[1]
        } else {
            len[1] / 2 + 1
        };
        CpuPlan {
            plan: *plan,
            len,
            width,
            rows,
            col_forward: planner.plan_fft_forward(len[0]),
            col_inverse: planner.plan_fft_inverse(len[0]),
            template: None,
            _element: PhantomData,
        }
    }

    /// The shape plan this was built for.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Transform lengths `[rows, cols]`.
    pub fn fft_len(&self) -> [usize; 2] {
        self.len
    }

    /// Transform the second argument once; later [`run`](Self::run) calls reuse it.
    /// Panics if `b`'s shape is not the plan's.
    pub fn set_template(&mut self, b: ArrayView<'_, T>) {
        assert_eq!(
            b.shape(),
            self.plan.b,
            "template shape differs from the plan's"
        );
        self.template = Some(self.spectrum(b));
    }

    /// Correlate `a` with the template. Panics without a template or if `a`'s shape is not
    /// the plan's (the engine checks both before calling).
    pub fn run(&self, a: ArrayView<'_, T>) -> Array<T> {
        assert_eq!(
            a.shape(),
            self.plan.a,
            "input shape differs from the plan's"
        );
        let template = self.template.as_ref().expect("set_template before run");
        let mut spectrum = self.spectrum(a);
        let conjugate = self.plan.op == Op::Correlate;
        spectrum
            .par_iter_mut()
            .zip(template.par_iter())
            .for_each(|(x, t)| {
                *x = if conjugate { *x * t.conj() } else { *x * t };
            });
        self.inverse_window(spectrum)
    }

    /// The 2-D spectrum of `x` zero-padded to `len`, column-major (`width × Lr`).
    fn spectrum(&self, x: ArrayView<'_, T>) -> Vec<Complex<T::Real>> {
        let [lr, lc] = self.len;
        let width = self.width;
        let [rows_in, cols_in] = x.shape().axes();
        let zero = Complex::<T::Real>::zero();

        let mut row_spectra = vec![zero; rows_in * width];
        let data = x.data();
        match &self.rows {
            RowTransforms::Real { forward, .. } => {
                row_spectra.par_chunks_mut(width).enumerate().for_each_init(
                    || (vec![T::Real::zero(); lc], forward.make_scratch_vec()),
                    |(signal, scratch), (r, out)| {
                        let row = &data[r * cols_in..(r + 1) * cols_in];
                        for (s, v) in signal.iter_mut().zip(row) {
                            *s = v.to_complex().re;
                        }
                        signal[cols_in..].fill(T::Real::zero());
                        forward
                            .process_with_scratch(signal, out, scratch)
                            .expect("buffer lengths match the plan");
                    },
                );
            }
            RowTransforms::Complex { forward, .. } => {
                row_spectra.par_chunks_mut(width).enumerate().for_each_init(
                    || vec![zero; forward.get_inplace_scratch_len()],
                    |scratch, (r, out)| {
                        let row = &data[r * cols_in..(r + 1) * cols_in];
                        for (s, v) in out.iter_mut().zip(row) {
                            *s = v.to_complex();
                        }
                        out[cols_in..].fill(zero);
                        forward.process_with_scratch(out, scratch);
                    },
                );
            }
        }

        // Column-major, zero-padded to Lr: rows past the input stay zero.
        let mut columns = vec![zero; width * lr];
        columns
            .par_chunks_mut(lr)
            .enumerate()
            .for_each(|(k, column)| {
                for r in 0..rows_in {
                    column[r] = row_spectra[r * width + k];
                }
            });
        if lr > 1 {
            let fft = &self.col_forward;
            columns.par_chunks_mut(lr).for_each_init(
                || vec![zero; fft.get_inplace_scratch_len()],
                |scratch, column| fft.process_with_scratch(column, scratch),
            );
        }
        columns
    }

    /// Inverse-transform a column-major spectrum and read the plan's output window.
    fn inverse_window(&self, mut columns: Vec<Complex<T::Real>>) -> Array<T> {
        let [lr, lc] = self.len;
        let width = self.width;
        let zero = Complex::<T::Real>::zero();
        if lr > 1 {
            let fft = &self.col_inverse;
            columns.par_chunks_mut(lr).for_each_init(
                || vec![zero; fft.get_inplace_scratch_len()],
                |scratch, column| fft.process_with_scratch(column, scratch),
            );
        }
        let scale = T::Real::from_f64(1.0 / (lr * lc) as f64);
        let [row_axis, col_axis] = self.plan.axes;
        let out_cols = self.plan.out.cols();
        let mut out = vec![T::default(); self.plan.out.len()];
        // Only the rows inside the output window are inverse-transformed.
        match &self.rows {
            RowTransforms::Real { inverse, .. } => {
                out.par_chunks_mut(out_cols).enumerate().for_each_init(
                    || {
                        (
                            vec![zero; width],
                            vec![T::Real::zero(); lc],
                            inverse.make_scratch_vec(),
                        )
                    },
                    |(spectrum, signal, scratch), (i, out_row)| {
                        let r = row_axis.source(i, lr);
                        for (k, s) in spectrum.iter_mut().enumerate() {
                            *s = columns[k * lr + r];
                        }
                        // A real row's spectrum has real DC (and Nyquist) terms; rounding
                        // leaves tiny imaginary parts there, which the c2r transform rejects.
                        spectrum[0].im = T::Real::zero();
                        if lc % 2 == 0 {
                            spectrum[width - 1].im = T::Real::zero();
                        }
                        inverse
                            .process_with_scratch(spectrum, signal, scratch)
                            .expect("buffer lengths match the plan");
                        for (j, o) in out_row.iter_mut().enumerate() {
                            let v = signal[col_axis.source(j, lc)] * scale;
                            *o = T::from_complex(Complex::new(v, T::Real::zero()));
                        }
                    },
                );
            }
            RowTransforms::Complex { inverse, .. } => {
                out.par_chunks_mut(out_cols).enumerate().for_each_init(
                    || {
                        (
                            vec![zero; width],
                            vec![zero; inverse.get_inplace_scratch_len()],
                        )
                    },
                    |(row, scratch), (i, out_row)| {
                        let r = row_axis.source(i, lr);
                        for (k, s) in row.iter_mut().enumerate() {
                            *s = columns[k * lr + r];
                        }
                        inverse.process_with_scratch(row, scratch);
                        for (j, o) in out_row.iter_mut().enumerate() {
                            *o = T::from_complex(row[col_axis.source(j, lc)] * scale);
                        }
                    },
                );
            }
        }
        Array::new(out, self.plan.out).expect("output length follows the plan")
    }
}
