//! A reusable CPU correlation plan: FFTs planned once, the second arguments' spectra kept.
//!
//! The 2-D transform runs rows first (real-to-complex for real data), then columns. Columns
//! are processed in blocks of [`BLOCK`]: a block is gathered from the row spectra into a
//! small contiguous buffer, transformed, multiplied by the kept spectrum, inverse-transformed
//! and scattered to the rows the output window needs, all while it sits in cache. No
//! full-size transposed copy of the spectrum is ever made, and only the output rows are
//! inverse-transformed along the rows.
//!
//! One call may compute several correlations that share inputs ([`CpuPlan::run_pairs`],
//! [`CpuPlan::execute_pairs`]): each input and each template is transformed once, and each
//! pair costs one product and one inverse.

use super::columns::{self, BLOCK};
use super::{inverse_real_row, resize_for_overwrite};
use crate::array::{Array, ArrayView, Element, Real};
use crate::spec::{next_fast_len, Op, Pair, Plan};
use num_complex::Complex;
use num_traits::Zero;
use rayon::prelude::*;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftPlanner};
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

/// Transforms along a row (the last axis): real-to-complex for real data (half the work),
/// complex for complex data.
/// How an input's values enter its row transforms: computed in f64 from the real part and
/// rounded once to the element type, so a centred or squared copy of a frame is never made.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Load {
    /// `x − offset`.
    Centred(f64),
    /// `(x − offset)²` (for a complex input, `|x − offset|²`).
    CentredSquared(f64),
}

impl Load {
    const AS_IS: Load = Load::Centred(0.0);

    fn real(self, v: f64) -> f64 {
        match self {
            Load::Centred(c) => v - c,
            Load::CentredSquared(c) => (v - c) * (v - c),
        }
    }

    fn complex<R: Real>(self, z: Complex<R>) -> Complex<R> {
        match self {
            Load::Centred(c) => Complex::new(<R as Real>::from_f64(z.re.to_f64() - c), z.im),
            Load::CentredSquared(c) => {
                let (re, im) = (z.re.to_f64() - c, z.im.to_f64());
                Complex::new(<R as Real>::from_f64(re * re + im * im), R::zero())
            }
        }
    }
}

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
    /// Row spectra of each varying input, row-major (`rows_in × width`).
    rows: Vec<Vec<Complex<R>>>,
    /// The output rows' spectra after the column pass, by column block, then pair
    /// (`blocks × pairs × out_rows × BLOCK`).
    inverse: Vec<Complex<R>>,
    /// The templates' row spectra when they are not kept ([`CpuPlan::execute_pairs`]).
    other_rows: Vec<Vec<Complex<R>>>,
}

/// What the column pass multiplies the varying inputs' spectra with.
#[derive(Clone, Copy)]
enum Others<'a, R> {
    /// The templates' kept spectra, each column-major (`width × Lr`).
    Spectra(&'a [Vec<Complex<R>>]),
    /// The templates' row spectra (each `rows_in × width`, row-major) and `rows_in`: their
    /// columns are transformed block by block beside the inputs', so no whole spectrum is
    /// ever stored (`execute*`).
    Rows(&'a [Vec<Complex<R>>], usize),
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
    /// The second arguments' spectra, each column-major (`width × Lr`), once set.
    templates: Vec<Vec<Complex<T::Real>>>,
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
            templates: Vec::new(),
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
        self.set_templates(&[b]);
    }

    /// Transform several second arguments once (replacing any kept before), for
    /// [`run_pairs`](Self::run_pairs). Panics if a shape is not the plan's.
    ///
    /// ```
    /// use xcorr::{cpu::CpuPlan, spec::Plan, Array, Mode, Op, Shape};
    /// let plan = Plan::new(Op::Correlate, Mode::Valid, Shape::d1(5), Shape::d1(2)).unwrap();
    /// let mut cpu = CpuPlan::<f64>::new(&plan);
    /// let (b0, b1) = (Array::from_vec(vec![1.0, 0.0]), Array::from_vec(vec![0.0, 1.0]));
    /// cpu.set_templates(&[b0.view(), b1.view()]);
    /// let a = Array::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0]);
    /// let a2 = a.map(|v| v * v);
    /// // a ⋆ b0, a ⋆ b1 and a² ⋆ b1: `a` is transformed once for both of its correlations.
    /// let out = cpu.run_pairs(&[a.view(), a2.view()], &[(0, 0), (0, 1), (1, 1)]);
    /// assert_eq!(out[1].data()[0].round(), 2.0);
    /// assert_eq!(out[2].data()[3].round(), 25.0);
    /// ```
    pub fn set_templates(&mut self, b: &[ArrayView<'_, T>]) {
        for b in b {
            assert_eq!(
                b.shape(),
                self.plan.b,
                "template shape differs from the plan's"
            );
        }
        self.templates = b.iter().map(|b| self.spectrum(*b)).collect();
    }

    /// How many templates are kept.
    pub fn templates(&self) -> usize {
        self.templates.len()
    }

    /// Correlate `a` with the first (usually the only) kept template. Panics without a
    /// template or if `a`'s shape is not the plan's (the engine checks both before calling).
    pub fn run(&self, a: ArrayView<'_, T>) -> Array<T> {
        self.run_pairs(&[a], &[(0, 0)]).remove(0)
    }

    /// Several correlations with the kept templates: for each pair `(i, k)`, `inputs[i]`
    /// with template `k`. Each input is transformed once however many pairs read it. Panics
    /// on an index out of range or an input not of the plan's shape.
    pub fn run_pairs(&self, inputs: &[ArrayView<'_, T>], pairs: &[Pair]) -> Vec<Array<T>> {
        self.run_loaded_pairs(inputs, &vec![Load::AS_IS; inputs.len()], pairs)
    }

    /// [`run_pairs`](Self::run_pairs) of each input loaded as `loads` says.
    pub(crate) fn run_loaded_pairs(
        &self,
        inputs: &[ArrayView<'_, T>],
        loads: &[Load],
        pairs: &[Pair],
    ) -> Vec<Array<T>> {
        let mut outs = vec![Vec::new(); pairs.len()];
        self.correlate_into(inputs, loads, None, pairs, &mut outs);
        self.arrays(outs)
    }

    /// One-shot: correlate `a` with `b` without keeping either (the plan stays shareable).
    pub fn execute(&self, a: ArrayView<'_, T>, b: ArrayView<'_, T>) -> Array<T> {
        self.execute_offset(a, 0.0, b)
    }

    /// One-shot [`run_pairs`](Self::run_pairs): for each pair `(i, k)`, `inputs[i]` with
    /// `templates[k]`, each input and each template transformed once, none kept.
    pub fn execute_pairs(
        &self,
        inputs: &[ArrayView<'_, T>],
        templates: &[ArrayView<'_, T>],
        pairs: &[Pair],
    ) -> Vec<Array<T>> {
        self.execute_loaded_pairs(inputs, &vec![Load::AS_IS; inputs.len()], templates, pairs)
    }

    /// [`execute_pairs`](Self::execute_pairs) of each input loaded as `loads` says.
    pub(crate) fn execute_loaded_pairs(
        &self,
        inputs: &[ArrayView<'_, T>],
        loads: &[Load],
        templates: &[ArrayView<'_, T>],
        pairs: &[Pair],
    ) -> Vec<Array<T>> {
        let mut outs = vec![Vec::new(); pairs.len()];
        self.correlate_into(inputs, loads, Some(templates), pairs, &mut outs);
        self.arrays(outs)
    }

    /// [`execute`](Self::execute) of `a − offset` (subtracted from the real part, in f64, as
    /// the rows load).
    pub(crate) fn execute_offset(
        &self,
        a: ArrayView<'_, T>,
        offset: f64,
        b: ArrayView<'_, T>,
    ) -> Array<T> {
        let mut out = vec![Vec::new()];
        let load = [Load::Centred(offset)];
        self.correlate_into(&[a], &load, Some(&[b]), &[(0, 0)], &mut out);
        self.arrays(out).remove(0)
    }

    /// [`run`](Self::run) of `a − offset` (subtracted from the real part, in f64, as the
    /// rows are loaded: no centred copy of `a`) into `out`, whose allocation is reused.
    /// Panics like `run`.
    pub(crate) fn run_offset_into(&self, a: ArrayView<'_, T>, offset: f64, out: &mut Vec<T>) {
        let load = [Load::Centred(offset)];
        self.correlate_into(&[a], &load, None, &[(0, 0)], std::slice::from_mut(out));
    }

    fn arrays(&self, outs: Vec<Vec<T>>) -> Vec<Array<T>> {
        let shape = self.plan.out;
        let array = |out| Array::new(out, shape).expect("output length follows the plan");
        outs.into_iter().map(array).collect()
    }

    /// The pairs' correlations of `inputs` (each loaded as `loads` says) into `outs` (one per
    /// pair, resized): with `templates` one-shot, or with the kept spectra when `None`.
    fn correlate_into(
        &self,
        inputs: &[ArrayView<'_, T>],
        loads: &[Load],
        templates: Option<&[ArrayView<'_, T>]>,
        pairs: &[Pair],
        outs: &mut [Vec<T>],
    ) {
        for a in inputs {
            assert_eq!(
                a.shape(),
                self.plan.a,
                "input shape differs from the plan's"
            );
        }
        let kept = templates.map_or(self.templates.len(), <[_]>::len);
        assert!(kept > 0, "set_template before run");
        for &(i, k) in pairs {
            assert!(i < inputs.len() && k < kept, "pair ({i}, {k}) out of range");
        }
        if pairs.is_empty() {
            return; // nothing asked for (and the column pass needs a pair per block)
        }
        // Each input's (and one-shot template's) row transforms, then one column pass that
        // transforms the columns of all, block by block, while they are in cache; the
        // workspace is reused, so a repeated call allocates only its outputs.
        let mut work = self.take_workspace();
        let Workspace {
            rows,
            inverse,
            other_rows,
        } = &mut work;
        rows.resize_with(inputs.len(), Vec::new);
        assert_eq!(loads.len(), inputs.len(), "a load per input");
        for ((a, &load), spectra) in inputs.iter().zip(loads).zip(rows.iter_mut()) {
            self.row_forward(*a, load, spectra);
        }
        let others = match templates {
            Some(templates) => {
                other_rows.resize_with(templates.len(), Vec::new);
                for (b, spectra) in templates.iter().zip(other_rows.iter_mut()) {
                    self.row_forward(*b, Load::AS_IS, spectra);
                }
                Others::Rows(other_rows, self.plan.b.rows())
            }
            None => Others::Spectra(&self.templates),
        };
        self.column_pass(rows, self.plan.a.rows(), others, pairs, inverse);
        for (pair, out) in outs.iter_mut().enumerate() {
            self.row_inverse(inverse, pair, pairs.len(), out);
        }
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

    /// Row transforms of `x` loaded as `load` says, zero-padded to `Lc`: `rows_in × width`,
    /// row-major.
    fn row_forward(&self, x: ArrayView<'_, T>, load: Load, out: &mut Vec<Complex<T::Real>>) {
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
                        if load == Load::AS_IS {
                            for (s, v) in signal.iter_mut().zip(row) {
                                *s = v.to_complex().re;
                            }
                        } else {
                            for (s, v) in signal.iter_mut().zip(row) {
                                *s = T::Real::from_f64(load.real(v.to_complex().re.to_f64()));
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
                            *s = load.complex(v.to_complex());
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
        self.row_forward(x, Load::AS_IS, &mut rows);
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

    /// For each block of columns of the varying inputs' row spectra: column FFTs of every
    /// input (and one-shot template), then per pair the product with its template's
    /// spectrum, inverse column FFTs, and the output rows kept in `inverse`
    /// (`blocks × pairs × out_rows × BLOCK`).
    fn column_pass(
        &self,
        rows: &[Vec<Complex<T::Real>>],
        rows_in: usize,
        others: Others<'_, T::Real>,
        pairs: &[Pair],
        inverse: &mut Vec<Complex<T::Real>>,
    ) {
        let lr = self.len[0];
        let width = self.width;
        let out_rows = self.source_rows.len();
        let blocks = width.div_ceil(BLOCK);
        let zero = Complex::<T::Real>::zero();
        // Each block writes its `count` columns of every kept row, the only entries
        // `row_inverse` reads, so stale entries past `count` in the last block are harmless.
        resize_for_overwrite(inverse, blocks * pairs.len() * out_rows * BLOCK, zero);
        // The last pair that reads an input multiplies its transformed block in place; an
        // earlier one works on a copy, so a single correlation copies nothing.
        let in_place: Vec<bool> = (0..pairs.len())
            .map(|n| pairs[n + 1..].iter().all(|p| p.0 != pairs[n].0))
            .collect();
        let copies = in_place.contains(&false);
        // correlate: A · conj(B); convolve: A · B.
        let correlate = self.plan.op == Op::Correlate;
        let (fwd, inv) = (&self.col_forward, &self.col_inverse);
        let stride = columns::stride::<T::Real>(lr);
        let scratch_len = fwd
            .get_inplace_scratch_len()
            .max(inv.get_inplace_scratch_len());
        let one_shot = match others {
            Others::Spectra(..) => 0,
            Others::Rows(other_rows, _) => other_rows.len(),
        };
        inverse
            .par_chunks_mut(pairs.len() * out_rows * BLOCK)
            .enumerate()
            .for_each_init(
                || {
                    let buffers = |n| vec![vec![zero; stride * BLOCK]; n];
                    (
                        buffers(rows.len()),
                        buffers(one_shot),
                        vec![zero; if copies { stride * BLOCK } else { 0 }],
                        vec![zero; scratch_len],
                    )
                },
                |(inputs, templates, spare, scratch), (block, out)| {
                    let k0 = block * BLOCK;
                    let count = BLOCK.min(width - k0);
                    let used = stride * count;
                    let mut transform =
                        |spectra: &[Complex<T::Real>], rows_in, buffer: &mut [_]| {
                            gather_block(spectra, rows_in, width, k0, lr, stride, buffer);
                            transform_columns(fwd.as_ref(), buffer, stride, lr, scratch);
                        };
                    for (spectra, buffer) in rows.iter().zip(inputs.iter_mut()) {
                        transform(spectra, rows_in, &mut buffer[..used]);
                    }
                    if let Others::Rows(other_rows, other_rows_in) = others {
                        for (spectra, buffer) in other_rows.iter().zip(templates.iter_mut()) {
                            transform(spectra, other_rows_in, &mut buffer[..used]);
                        }
                    }
                    let outs = out.chunks_mut(out_rows * BLOCK);
                    for ((&(i, k), out), &in_place) in pairs.iter().zip(outs).zip(&in_place) {
                        let columns = if in_place {
                            &mut inputs[i][..used]
                        } else {
                            spare[..used].copy_from_slice(&inputs[i][..used]);
                            &mut spare[..used]
                        };
                        let (other_block, other_stride) = match others {
                            Others::Spectra(spectra) => {
                                (&spectra[k][k0 * lr..(k0 + count) * lr], lr)
                            }
                            Others::Rows(..) => (&templates[k][..used], stride),
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
                    }
                },
            );
    }

    /// Inverse row transforms of pair `pair`'s output rows (of `pairs` in `inverse`), read
    /// through the column window, scaled, into `out` (resized to the output's length).
    fn row_inverse(
        &self,
        inverse: &[Complex<T::Real>],
        pair: usize,
        pairs: usize,
        out: &mut Vec<T>,
    ) {
        let lc = self.len[1];
        let width = self.width;
        let out_rows = self.source_rows.len();
        let zero = Complex::<T::Real>::zero();
        let scale = T::Real::from_f64(1.0 / (self.len[0] * lc) as f64);
        let out_cols = self.plan.out.cols();
        let source_cols = &self.source_cols;
        let gather_row = |i: usize, row: &mut [Complex<T::Real>]| {
            for (block, chunk) in row.chunks_mut(BLOCK).enumerate() {
                let start = ((block * pairs + pair) * out_rows + i) * BLOCK;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::Shape;
    use crate::spec::Mode;

    /// Loading `x − c` and `(x − c)²` as the rows are transformed gives exactly what
    /// transforming those arrays, made first (in f64, rounded once), gives: one-shot and with
    /// kept templates, real and complex.
    #[test]
    fn loaded_inputs_equal_the_arrays_they_stand_for() {
        let shape = Shape::d2(9, 14);
        let x = Array::from_fn(shape, |r, c| ((r * 31 + c * 17) % 23) as f32 * 0.37 - 2.0);
        let t = Array::from_fn(Shape::d2(3, 4), |r, c| (r as f32 - 1.0) * (c as f32 + 0.5));
        let c = 1.7;
        let j = x.map(|&v| (f64::from(v) - c) as f32);
        let j2 = x.map(|&v| ((f64::from(v) - c) * (f64::from(v) - c)) as f32);
        let loads = [Load::Centred(c), Load::CentredSquared(c)];
        let pairs = [(0, 0), (1, 0), (1, 1)];
        let plan = Plan::new(Op::Correlate, Mode::Valid, shape, t.shape()).unwrap();
        let mut cpu = CpuPlan::<f32>::new(&plan);
        let t2 = t.map(|v| v * 0.5 + 1.0);
        let templates = [t.view(), t2.view()];
        let made = cpu.execute_pairs(&[j.view(), j2.view()], &templates, &pairs);
        let loaded = cpu.execute_loaded_pairs(&[x.view(), x.view()], &loads, &templates, &pairs);
        assert_eq!(loaded, made);
        cpu.set_templates(&templates);
        assert_eq!(
            cpu.run_loaded_pairs(&[x.view(), x.view()], &loads, &pairs),
            made
        );

        let z = Array::from_fn(shape, |r, k| Complex::new(r as f64 - 3.0, k as f64 * 0.25));
        let zt = t.map(|&v| Complex::new(f64::from(v), 1.0));
        let centred = z.map(|v| Complex::new(v.re - c, v.im));
        let energy = z.map(|v| Complex::new((v.re - c).powi(2) + v.im * v.im, 0.0));
        let plan = Plan::new(Op::Correlate, Mode::Valid, shape, zt.shape()).unwrap();
        let cpu = CpuPlan::<Complex<f64>>::new(&plan);
        let made = cpu.execute_pairs(&[centred.view(), energy.view()], &[zt.view()], &pairs[..2]);
        let loaded =
            cpu.execute_loaded_pairs(&[z.view(), z.view()], &loads, &[zt.view()], &pairs[..2]);
        assert_eq!(loaded, made);
    }
}
