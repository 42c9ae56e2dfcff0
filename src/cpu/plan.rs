//! A reusable CPU correlation plan: FFTs planned once, one argument's spectrum kept.
//!
//! The 2-D transform runs rows first (real-to-complex for real data), then columns. Columns
//! are processed in blocks of [`BLOCK`]: a block is gathered from the row spectra into a
//! small contiguous buffer, transformed, multiplied by the kept spectrum, inverse-transformed
//! and scattered to the rows the output window needs, all while it sits in cache. No
//! full-size transposed copy of the spectrum is ever made, and only the output rows are
//! inverse-transformed along the rows.

use super::columns::{self, BLOCK};
use super::{inverse_real_row, resize_for_overwrite};
use crate::array::{Array, ArrayView, Element, Real};
use crate::spec::{next_fast_len, Op, Plan};
use num_complex::Complex;
use num_traits::Zero;
use rayon::prelude::*;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftPlanner};
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

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

/// Buffers reused from call to call, so a warm plan allocates nothing large.
#[derive(Default)]
struct Workspace<R> {
    /// Row spectra of the varying input, row-major (`rows_in × width`).
    rows: Vec<Complex<R>>,
    /// The output rows' spectra after the column pass, by column block
    /// (`blocks × out_rows × BLOCK`).
    inverse: Vec<Complex<R>>,
    /// The second input's row spectra when both inputs vary ([`CpuPlan::execute`]).
    other_rows: Vec<Complex<R>>,
}

/// What the column pass multiplies the varying input's spectrum with.
#[derive(Clone, Copy)]
enum Other<'a, R> {
    /// The second input's kept spectrum, column-major (`width × Lr`).
    Spectrum(&'a [Complex<R>]),
    /// The second input's row spectra (`rows_in × width`, row-major) and `rows_in`: its
    /// columns are transformed block by block beside the first input's, so its whole
    /// spectrum is never stored (`execute`).
    Rows(&'a [Complex<R>], usize),
}

/// A correlation (or convolution) of fixed shapes, planned once and run many times.
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
    /// For output row `i` (column `j`), the row (column) of the circular result it reads:
    /// precomputed, since each is a Euclidean remainder.
    source_rows: Vec<usize>,
    source_cols: Vec<usize>,
    /// The second argument's spectrum, column-major (`width × Lr`), once set.
    template: Option<Vec<Complex<T::Real>>>,
    workspace: Mutex<Option<Workspace<T::Real>>>,
    _element: PhantomData<T>,
}

impl<T: Element> CpuPlan<T> {
    /// Plan transforms for `plan`'s shapes at the lengths [`next_fast_len`] picks (exact for
    /// circular).
    pub fn new(plan: &Plan) -> Self {
        let len = plan.fft_shape(next_fast_len);
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
        let [row_axis, col_axis] = plan.axes;
        CpuPlan {
            plan: *plan,
            len,
            width,
            rows,
            col_forward: planner.plan_fft_forward(len[0]),
            col_inverse: planner.plan_fft_inverse(len[0]),
            source_rows: (0..row_axis.out_len)
                .map(|i| row_axis.source(i, len[0]))
                .collect(),
            source_cols: (0..col_axis.out_len)
                .map(|j| col_axis.source(j, len[1]))
                .collect(),
            template: None,
            workspace: Mutex::new(None),
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
        let mut out = Vec::new();
        self.run_offset_into(a, 0.0, &mut out);
        Array::new(out, self.plan.out).expect("output length follows the plan")
    }

    /// One-shot: correlate `a` with `b` without keeping either (the plan stays shareable).
    pub fn execute(&self, a: ArrayView<'_, T>, b: ArrayView<'_, T>) -> Array<T> {
        self.execute_offset(a, 0.0, b)
    }

    /// [`execute`](Self::execute) of `a − offset` (subtracted from the real part, in f64, as
    /// the rows load).
    pub(crate) fn execute_offset(
        &self,
        a: ArrayView<'_, T>,
        offset: f64,
        b: ArrayView<'_, T>,
    ) -> Array<T> {
        assert_eq!(
            a.shape(),
            self.plan.a,
            "input shape differs from the plan's"
        );
        assert_eq!(
            b.shape(),
            self.plan.b,
            "template shape differs from the plan's"
        );
        // Both inputs' row transforms, then one column pass that transforms the columns of
        // both, block by block, while they are in cache; the workspace is reused, so a
        // repeated call allocates only its output.
        let mut work = self.take_workspace();
        self.row_forward(b, 0.0, &mut work.other_rows);
        self.row_forward(a, offset, &mut work.rows);
        let other = Other::Rows(&work.other_rows, b.shape().rows());
        self.column_pass(&work.rows, a.shape().rows(), other, &mut work.inverse);
        let mut out = Vec::new();
        self.row_inverse(&work.inverse, &mut out);
        self.return_workspace(work);
        Array::new(out, self.plan.out).expect("output length follows the plan")
    }

    /// [`run`](Self::run) of `a − offset` (subtracted from the real part, in f64, as the
    /// rows are loaded: no centred copy of `a`) into `out`, whose allocation is reused.
    /// Panics like `run`.
    pub(crate) fn run_offset_into(&self, a: ArrayView<'_, T>, offset: f64, out: &mut Vec<T>) {
        assert_eq!(
            a.shape(),
            self.plan.a,
            "input shape differs from the plan's"
        );
        let spectrum = self.template.as_ref().expect("set_template before run");
        let mut work = self.take_workspace();
        self.row_forward(a, offset, &mut work.rows);
        let rows_in = a.shape().rows();
        let other = Other::Spectrum(spectrum);
        self.column_pass(&work.rows, rows_in, other, &mut work.inverse);
        self.row_inverse(&work.inverse, out);
        self.return_workspace(work);
    }

    /// The plan's buffers; a second caller running the same plan at once gets fresh ones
    /// instead of waiting.
    fn take_workspace(&self) -> Workspace<T::Real> {
        let cached = self.workspace.try_lock().ok().and_then(|mut w| w.take());
        cached.unwrap_or_default()
    }

    fn return_workspace(&self, work: Workspace<T::Real>) {
        if let Ok(mut slot) = self.workspace.try_lock() {
            *slot = Some(work);
        }
    }

    /// Row transforms of `x − offset` zero-padded to `Lc`: `rows_in × width`, row-major.
    fn row_forward(&self, x: ArrayView<'_, T>, offset: f64, out: &mut Vec<Complex<T::Real>>) {
        let [_, lc] = self.len;
        let width = self.width;
        let [rows_in, cols_in] = x.shape().axes();
        let zero = Complex::<T::Real>::zero();
        // Every element is overwritten below: a reused buffer keeps its contents rather than
        // being zeroed first (1.2 MB of writes per 640×480 frame).
        resize_for_overwrite(out, rows_in * width, zero);
        let data = x.data();
        match &self.rows {
            RowTransforms::Real { forward, .. } => {
                out.par_chunks_mut(width).enumerate().for_each_init(
                    || (vec![T::Real::zero(); lc], forward.make_scratch_vec()),
                    |(signal, scratch), (r, spectrum)| {
                        let row = &data[r * cols_in..(r + 1) * cols_in];
                        if offset == 0.0 {
                            for (s, v) in signal.iter_mut().zip(row) {
                                *s = v.to_complex().re;
                            }
                        } else {
                            for (s, v) in signal.iter_mut().zip(row) {
                                *s = T::Real::from_f64(v.to_complex().re.to_f64() - offset);
                            }
                        }
                        signal[cols_in..].fill(T::Real::zero());
                        forward
                            .process_with_scratch(signal, spectrum, scratch)
                            .expect("buffer lengths match the plan");
                    },
                );
            }
            RowTransforms::Complex { forward, .. } => {
                out.par_chunks_mut(width).enumerate().for_each_init(
                    || vec![zero; forward.get_inplace_scratch_len()],
                    |scratch, (r, spectrum)| {
                        let row = &data[r * cols_in..(r + 1) * cols_in];
                        for (s, v) in spectrum.iter_mut().zip(row) {
                            let c = v.to_complex();
                            *s = Complex::new(T::Real::from_f64(c.re.to_f64() - offset), c.im);
                        }
                        spectrum[cols_in..].fill(zero);
                        forward.process_with_scratch(spectrum, scratch);
                    },
                );
            }
        }
    }

    /// The full 2-D spectrum of `x`, column-major (`width × Lr`): what a plan keeps.
    fn spectrum(&self, x: ArrayView<'_, T>) -> Vec<Complex<T::Real>> {
        let lr = self.len[0];
        let width = self.width;
        let rows_in = x.shape().rows();
        let mut rows = Vec::new();
        self.row_forward(x, 0.0, &mut rows);
        let zero = Complex::<T::Real>::zero();
        let mut columns = vec![zero; width * lr];
        let fft = &self.col_forward;
        columns
            .par_chunks_mut(lr * BLOCK)
            .enumerate()
            .for_each_init(
                || vec![zero; fft.get_inplace_scratch_len()],
                |scratch, (block, chunk)| {
                    gather_block(&rows, rows_in, width, block * BLOCK, lr, lr, chunk);
                    transform_columns(fft.as_ref(), chunk, lr, lr, scratch);
                },
            );
        columns
    }

    /// For each block of columns of the varying input's row spectra: column FFTs, product
    /// with the other input's spectrum (kept, or its block transformed here), inverse column
    /// FFTs, and the output rows kept in `inverse` (`blocks × out_rows × BLOCK`).
    fn column_pass(
        &self,
        rows: &[Complex<T::Real>],
        rows_in: usize,
        other: Other<'_, T::Real>,
        inverse: &mut Vec<Complex<T::Real>>,
    ) {
        let lr = self.len[0];
        let width = self.width;
        let out_rows = self.source_rows.len();
        let blocks = width.div_ceil(BLOCK);
        let zero = Complex::<T::Real>::zero();
        // Each block writes its `count` columns of every kept row, the only entries
        // `row_inverse` reads, so stale entries past `count` in the last block are harmless.
        resize_for_overwrite(inverse, blocks * out_rows * BLOCK, zero);
        // correlate: A · conj(B); convolve: A · B.
        let correlate = self.plan.op == Op::Correlate;
        let (fwd, inv) = (&self.col_forward, &self.col_inverse);
        let stride = columns::stride::<T::Real>(lr);
        let scratch_len = fwd
            .get_inplace_scratch_len()
            .max(inv.get_inplace_scratch_len());
        inverse
            .par_chunks_mut(out_rows * BLOCK)
            .enumerate()
            .for_each_init(
                || {
                    let other_len = match other {
                        Other::Spectrum(..) => 0,
                        Other::Rows(..) => stride * BLOCK,
                    };
                    let buffer = |len| vec![zero; len];
                    (
                        buffer(stride * BLOCK),
                        buffer(other_len),
                        buffer(scratch_len),
                    )
                },
                |(columns, other_columns, scratch), (block, out)| {
                    let k0 = block * BLOCK;
                    let count = BLOCK.min(width - k0);
                    let columns = &mut columns[..stride * count];
                    gather_block(rows, rows_in, width, k0, lr, stride, columns);
                    transform_columns(fwd.as_ref(), columns, stride, lr, scratch);
                    let (other_block, other_stride) = match other {
                        Other::Spectrum(spectrum) => (&spectrum[k0 * lr..(k0 + count) * lr], lr),
                        Other::Rows(other_rows, other_rows_in) => {
                            let block = &mut other_columns[..stride * count];
                            gather_block(other_rows, other_rows_in, width, k0, lr, stride, block);
                            transform_columns(fwd.as_ref(), block, stride, lr, scratch);
                            (&*block, stride)
                        }
                    };
                    let pairs = columns
                        .chunks_mut(stride)
                        .zip(other_block.chunks(other_stride));
                    for (column, other_column) in pairs {
                        for (x, k) in column[..lr].iter_mut().zip(other_column) {
                            *x = if correlate { *x * k.conj() } else { *x * k };
                        }
                    }
                    transform_columns(inv.as_ref(), columns, stride, lr, scratch);
                    let out_rows = out.chunks_mut(BLOCK).map(|row| &mut row[..count]);
                    let sources = self.source_rows.iter().copied();
                    columns::scatter(columns, stride, sources.zip(out_rows));
                },
            );
    }

    /// Inverse row transforms of the output rows, read through the column window, scaled,
    /// into `out` (resized to the output's length).
    fn row_inverse(&self, inverse: &[Complex<T::Real>], out: &mut Vec<T>) {
        let lc = self.len[1];
        let width = self.width;
        let out_rows = self.source_rows.len();
        let zero = Complex::<T::Real>::zero();
        let scale = T::Real::from_f64(1.0 / (self.len[0] * lc) as f64);
        let out_cols = self.plan.out.cols();
        let source_cols = &self.source_cols;
        let gather_row = |i: usize, row: &mut [Complex<T::Real>]| {
            for (block, chunk) in row.chunks_mut(BLOCK).enumerate() {
                let start = (block * out_rows + i) * BLOCK;
                chunk.copy_from_slice(&inverse[start..start + chunk.len()]);
            }
        };
        out.resize(self.plan.out.len(), T::default());
        match &self.rows {
            RowTransforms::Real { inverse: c2r, .. } => {
                out.par_chunks_mut(out_cols).enumerate().for_each_init(
                    || {
                        (
                            vec![zero; width],
                            vec![T::Real::zero(); lc],
                            c2r.make_scratch_vec(),
                        )
                    },
                    |(spectrum, signal, scratch), (i, out_row)| {
                        gather_row(i, spectrum);
                        inverse_real_row(c2r.as_ref(), spectrum, signal, scratch);
                        for (o, &src) in out_row.iter_mut().zip(source_cols) {
                            let v = signal[src] * scale;
                            *o = T::from_complex(Complex::new(v, T::Real::zero()));
                        }
                    },
                );
            }
            RowTransforms::Complex { inverse: fft, .. } => {
                out.par_chunks_mut(out_cols).enumerate().for_each_init(
                    || (vec![zero; width], vec![zero; fft.get_inplace_scratch_len()]),
                    |(row, scratch), (i, out_row)| {
                        gather_row(i, row);
                        fft.process_with_scratch(row, scratch);
                        for (o, &src) in out_row.iter_mut().zip(source_cols) {
                            *o = T::from_complex(row[src] * scale);
                        }
                    },
                );
            }
        }
    }
}

/// Columns `k0, k0 + 1, …` of `rows` (`rows_in × width`, row-major) into `columns`:
/// columns of length `lr`, `stride` apart, each zero-padded past `rows_in`; as many as
/// `columns` holds.
fn gather_block<R: Real>(
    rows: &[Complex<R>],
    rows_in: usize,
    width: usize,
    k0: usize,
    lr: usize,
    stride: usize,
    columns: &mut [Complex<R>],
) {
    let count = columns.len().div_ceil(stride);
    let source = (0..rows_in).map(|r| &rows[r * width + k0..][..count]);
    columns::gather(source, columns, stride);
    for column in columns.chunks_mut(stride) {
        column[rows_in..lr].fill(Complex::zero());
    }
}

/// Transform each of the columns of length `lr`, `stride` apart, in `block`.
fn transform_columns<R: Real>(
    fft: &dyn Fft<R>,
    block: &mut [Complex<R>],
    stride: usize,
    lr: usize,
    scratch: &mut [Complex<R>],
) {
    if lr > 1 {
        for column in block.chunks_mut(stride) {
            fft.process_with_scratch(&mut column[..lr], scratch);
        }
    }
}
