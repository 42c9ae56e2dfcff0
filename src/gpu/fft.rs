//! The 2-D FFT as a sequence of steps: mixed-radix Stockham passes (radix 2, 4, 3, 5, 7)
//! per axis of a 2,3,5,7-smooth length, and Bluestein's chirp-z transform on top of them for
//! other lengths. Power-of-two rows (the contiguous axis) short enough for the device's
//! workgroup memory can run all their passes in one dispatch instead (stockham_shared.wgsl;
//! see [`GpuContext::set_workgroup_fft`]); columns and other rows take one dispatch per pass.
//!
//! The work buffer holds a `padded[0] × padded[1]` row-major array; the transform's own
//! `logical[0] × logical[1]` region sits in its top-left corner. A smooth axis has
//! `padded == logical`; a Bluestein axis of length N pads to a smooth M ≥ 2N − 1, the length
//! of the circular convolution inside it.

use super::context::GpuContext;
use super::pipelines::{Kernel, Product};
use super::program::{check_buffer, complex_bytes, read_back, record, Buf, Step, Uniforms, ELEM};
use crate::error::{Error, Result};
use crate::spec::{next_pow2, next_smooth, Plan};
use crate::Shape;
use num_complex::Complex;
use rustfft::FftPlanner;
use std::f64::consts::PI;

#[derive(Clone, Copy, Debug)]
enum Axis {
    /// Length 1: nothing to do.
    Identity,
    /// 2,3,5,7-smooth: Stockham passes only, with the twiddle table at `twiddles`.
    Direct { n: usize, twiddles: usize },
    /// Bluestein: length `n`, inner smooth length `m` (its twiddles at `twiddles`), table
    /// offsets of the forward and inverse chirps (length n) and convolution kernels (length m).
    Bluestein {
        n: usize,
        m: usize,
        twiddles: usize,
        chirp: [usize; 2],
        kernel: [usize; 2],
    },
}

/// Shapes and tables of one 2-D transform (1-D is a single row).
pub(crate) struct FftLayout {
    /// Transform length per axis, `[rows, cols]`.
    pub logical: [usize; 2],
    /// Work buffer shape per axis (the row pitch is `padded[1]`).
    pub padded: [usize; 2],
    axes: [Axis; 2],
    /// Per Stockham length L, its full circle of twiddles `exp(-2πi t / L)`, t < L; per
    /// Bluestein axis its chirps and kernels; all computed in f64.
    pub tables: Vec<[f32; 2]>,
    /// Rows up to this long transform in workgroup memory, in one dispatch.
    rows: RowCapacity,
}

/// What the device allows the workgroup-memory row kernel (stockham_shared.wgsl).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowCapacity {
    /// Longest row (a power of two, or 0 for none): two ping-pong copies of it, complex f32,
    /// must fit `max_compute_workgroup_storage_size` (16 KiB: 1024, 32 KiB: 2048).
    max_n: usize,
    /// Most invocations per workgroup, a power of two.
    max_wg: u32,
}

impl RowCapacity {
    /// The context's capacity; none where its workgroup FFT is switched off.
    pub(crate) fn of(ctx: &GpuContext) -> RowCapacity {
        let limits = ctx.limits();
        let fit = limits.max_compute_workgroup_storage_size as u64 / (2 * ELEM);
        let max_n = if ctx.workgroup_fft() && fit >= 2 {
            1usize << fit.ilog2()
        } else {
            0
        };
        let wg = 256
            .min(limits.max_compute_invocations_per_workgroup)
            .min(limits.max_compute_workgroup_size_x)
            .max(1);
        RowCapacity {
            max_n,
            max_wg: 1 << wg.ilog2(),
        }
    }

    pub(crate) fn max_len(self) -> usize {
        self.max_n
    }

    /// Invocations for one row of length `n`, or `None` when it is not a power of two or
    /// does not fit: n/2 up to the device's cap, each doing n/2/wg butterflies per pass.
    fn workgroup_for(self, n: usize) -> Option<u32> {
        (n >= 2 && n <= self.max_n && n.is_power_of_two()).then(|| (n as u32 / 2).min(self.max_wg))
    }
}

/// The radices of a Stockham transform of length `n`, in the order the passes run: the
/// power-of-two part first (one radix 2 when its log2 is odd, then radix 4; the radix-2 and
/// radix-4 kernels rely on p being a power of two), then 3, 5, 7. `None` if `n` has another
/// prime factor.
fn radices(n: usize) -> Option<Vec<usize>> {
    let twos = n.trailing_zeros() as usize;
    let mut out = vec![2; twos % 2];
    out.extend(std::iter::repeat_n(4, twos / 2));
    let mut rest = n >> twos;
    for r in [3, 5, 7] {
        while rest % r == 0 {
            out.push(r);
            rest /= r;
        }
    }
    (rest == 1).then_some(out)
}

/// Modelled cost of one pass of radix `r`, per element, relative to a radix-2 or radix-4
/// pass: every pass reads and writes the data once, and the odd radices' r-point DFTs do
/// more arithmetic per element (r − 1 complex products against about 1).
fn pass_cost(r: usize) -> f64 {
    match r {
        2 | 4 => 1.0,
        _ => 1.0 + 0.1 * (r - 1) as f64,
    }
}

/// Modelled cost per element of transforming one line of length `n` (0 for n = 1): the
/// sum of its passes' costs, or a single pass for a row that fits workgroup memory.
fn line_cost(n: usize, row: bool, rows: RowCapacity) -> f64 {
    if n == 1 {
        return 0.0;
    }
    if row && rows.workgroup_for(n).is_some() {
        return 1.0;
    }
    let radices = radices(n).expect("candidates are smooth");
    radices.into_iter().map(pass_cost).sum()
}

/// The transform shape for a correlation plan on the device: circular axes at their exact
/// length; linear axes at the smooth length ≥ their minimum (even, so that real plans can
/// pair rows; at most the next power of two) that minimises the modelled work of the 2-D
/// transform, `L0·L1·(cost per element along rows + along columns)`. Powers of two win
/// where their rows fit workgroup memory and the smooth length saves little; elsewhere
/// the smaller smooth length (W1: 1120 instead of 2048 per axis).
pub(crate) fn transform_shape(plan: &Plan, rows: RowCapacity) -> [usize; 2] {
    let candidates = |axis: usize| -> Vec<usize> {
        let a = plan.axes[axis];
        if a.exact {
            return vec![a.n];
        }
        let (lo, hi) = (a.min_len, next_pow2(a.min_len));
        if lo <= 1 {
            return vec![1];
        }
        let mut out = Vec::new();
        let mut len = next_smooth(lo);
        while len <= hi {
            if len % 2 == 0 {
                out.push(len);
            }
            len = next_smooth(len + 1);
        }
        out
    };
    let (along_cols, along_rows) = (candidates(0), candidates(1));
    let mut best = ([along_cols[0], along_rows[0]], f64::INFINITY);
    for &l0 in &along_cols {
        for &l1 in &along_rows {
            // Circular axes may be Bluestein lengths: the same Stockham cost whatever they
            // are, since they are the only candidate.
            let cost_of = |n: usize, row: bool| {
                if radices(n).is_some() {
                    line_cost(n, row, rows)
                } else {
                    0.0
                }
            };
            let cost = (l0 * l1) as f64 * (cost_of(l1, true) + cost_of(l0, false));
            if cost < best.1 {
                best = ([l0, l1], cost);
            }
        }
    }
    best.0
}

impl FftLayout {
    /// Plan the exact DFT of `logical[0] × logical[1]` (every length ≥ 1); rows that fit
    /// `rows` transform in workgroup memory.
    pub(crate) fn new(logical: [usize; 2], rows: RowCapacity) -> FftLayout {
        let inner = logical.map(|n| {
            if radices(n).is_some() {
                n
            } else {
                next_smooth(2 * n - 1)
            }
        });
        let mut tables: Vec<[f32; 2]> = Vec::new();
        // Offsets of the twiddle tables made so far, by length: both axes may share one.
        let mut made: Vec<(usize, usize)> = Vec::new();
        let mut twiddles = |len: usize, tables: &mut Vec<[f32; 2]>| {
            if let Some(&(_, at)) = made.iter().find(|(l, _)| *l == len) {
                return at;
            }
            let at = tables.len();
            tables.extend(
                (0..len)
                    .map(|t| to_f32(Complex::from_polar(1.0, -2.0 * PI * t as f64 / len as f64))),
            );
            made.push((len, at));
            at
        };
        let axes = [0, 1].map(|i| {
            let (n, m) = (logical[i], inner[i]);
            if n == 1 {
                Axis::Identity
            } else if n == m {
                Axis::Direct {
                    n,
                    twiddles: twiddles(n, &mut tables),
                }
            } else {
                let twiddles = twiddles(m, &mut tables);
                let mut chirp = [0; 2];
                let mut kernel = [0; 2];
                for (dir, sign) in [(0, -1.0), (1, 1.0)] {
                    let (c, k) = bluestein_tables(n, m, sign);
                    chirp[dir] = tables.len();
                    tables.extend(c.into_iter().map(to_f32));
                    kernel[dir] = tables.len();
                    tables.extend(k.into_iter().map(to_f32));
                }
                Axis::Bluestein {
                    n,
                    m,
                    twiddles,
                    chirp,
                    kernel,
                }
            }
        });
        FftLayout {
            logical,
            padded: inner,
            axes,
            tables,
            rows,
        }
    }

    /// Elements in one work buffer.
    pub(crate) fn work_len(&self) -> usize {
        self.padded[0] * self.padded[1]
    }

    /// Append the steps of a forward (or unnormalised inverse) transform of the data in
    /// `start` (`Buf::X` or `Buf::Y`); returns the buffer that holds the result.
    pub(crate) fn steps(&self, inverse: bool, start: Buf, out: &mut Vec<Step>) -> Buf {
        let at = self.axis_steps(1, inverse, self.logical[0], start, out);
        self.axis_steps(0, inverse, self.logical[1], at, out)
    }

    /// Append the steps that transform along `axis` (0: down the columns, 1: along the
    /// rows) the first `lines` lines of the other axis; returns the buffer holding the result.
    /// Lines past `lines` are neither read nor written.
    pub(crate) fn axis_steps(
        &self,
        axis: usize,
        inverse: bool,
        lines: usize,
        start: Buf,
        out: &mut Vec<Step>,
    ) -> Buf {
        // Elements along `axis` are `stride` apart; its lines start `line_stride` apart.
        let (stride, line_stride) = if axis == 1 {
            (1, self.padded[1])
        } else {
            (self.padded[1], 1)
        };
        let geom = Geometry {
            stride,
            line_stride,
            lines,
        };
        match self.axes[axis] {
            Axis::Identity => start,
            Axis::Direct { n, twiddles } => self.stockham(n, twiddles, inverse, geom, start, out),
            Axis::Bluestein {
                n,
                m,
                twiddles,
                chirp,
                kernel,
            } => {
                let dir = inverse as usize;
                // x·w, zero-padded to m; convolve with the kernel; ·w again.
                out.push(chirp_step(start, m, n, geom, chirp[dir]));
                let at = self.stockham(m, twiddles, false, geom, start, out);
                out.push(chirp_step(at, m, m, geom, kernel[dir]));
                let at = self.stockham(m, twiddles, true, geom, at, out);
                out.push(chirp_step(at, n, n, geom, chirp[dir]));
                at
            }
        }
    }

    /// The passes of a length-`n` transform (smooth), its twiddles at table offset `tw`.
    fn stockham(
        &self,
        n: usize,
        tw: usize,
        inverse: bool,
        g: Geometry,
        mut at: Buf,
        out: &mut Vec<Step>,
    ) -> Buf {
        // A row that fits in workgroup memory: all passes in one dispatch, a row per group.
        if let (1, Some(wg)) = (g.stride, self.rows.workgroup_for(n)) {
            let to = at.other();
            out.push(Step {
                kernel: Kernel::StockhamShared {
                    inverse,
                    n: n as u32,
                    wg,
                    product: None,
                },
                bufs: vec![at, to, Buf::Tables, Buf::Tables],
                params: vec![
                    n as u32,
                    0,
                    1,
                    g.line_stride as u32,
                    g.lines as u32,
                    tw as u32,
                    (n / 2) as u32,
                    0,
                ],
                threads: g.lines as u64 * wg as u64,
            });
            return to;
        }
        let mut p = 1;
        for radix in radices(n).expect("Stockham lengths are smooth") {
            let to = at.other();
            let kernel = match radix {
                2 => Kernel::Stockham {
                    inverse,
                    product: None,
                },
                4 => Kernel::Stockham4 {
                    inverse,
                    product: None,
                },
                _ => Kernel::StockhamOdd {
                    inverse,
                    radix: radix as u32,
                    product: None,
                },
            };
            out.push(Step {
                kernel,
                // The fourth buffer is the kept spectrum of a fused product
                // (`fuse_product`); passes without one bind the tables there, unread.
                bufs: vec![at, to, Buf::Tables, Buf::Tables],
                params: vec![
                    n as u32,
                    p as u32,
                    g.stride as u32,
                    g.line_stride as u32,
                    g.lines as u32,
                    tw as u32,
                    (n / (radix * p)) as u32,
                    0,
                ],
                threads: (n / radix * g.lines) as u64,
            });
            at = to;
            p *= radix;
        }
        at
    }
}

/// Fuse the spectrum product into the last step of `steps`, which must end a forward
/// transform: that pass then writes `product(own, kept[i]) · scale` where it wrote `own`,
/// reading `kept` (the work buffer's layout) at the index it writes, and the plan needs no
/// separate `spectrum` step. A Stockham pass of any kind can take it, per pass or in
/// workgroup memory, along rows or columns: it writes every element of the transform
/// exactly once, from one invocation. Returns the fused pass's kernel; `None`, changing
/// nothing, when the transform ends otherwise, and the caller appends the `spectrum` step
/// instead: a Bluestein axis ends in a chirp multiply, and a 1 × 1 transform has no pass.
pub(crate) fn fuse_product(
    steps: &mut [Step],
    product: Product,
    kept: Buf,
    scale: f32,
) -> Option<Kernel> {
    let last = steps.last_mut()?;
    let fused = match &mut last.kernel {
        Kernel::Stockham {
            inverse: false,
            product,
        }
        | Kernel::Stockham4 {
            inverse: false,
            product,
        }
        | Kernel::StockhamOdd {
            inverse: false,
            product,
            ..
        }
        | Kernel::StockhamShared {
            inverse: false,
            product,
            ..
        } => product,
        _ => return None,
    };
    *fused = Some(product);
    last.bufs[3] = kept;
    // The `scale` word of the passes' Params.
    last.params[7] = scale.to_bits();
    Some(last.kernel)
}

#[derive(Clone, Copy)]
struct Geometry {
    stride: usize,
    line_stride: usize,
    lines: usize,
}

fn chirp_step(at: Buf, count: usize, valid: usize, g: Geometry, table_offset: usize) -> Step {
    Step {
        kernel: Kernel::Chirp,
        bufs: vec![at, Buf::Tables],
        params: vec![
            count as u32,
            valid as u32,
            g.stride as u32,
            g.line_stride as u32,
            g.lines as u32,
            table_offset as u32,
            1f32.to_bits(),
            0,
        ],
        threads: (count * g.lines) as u64,
    }
}

fn to_f32(c: Complex<f64>) -> [f32; 2] {
    [c.re as f32, c.im as f32]
}

/// Bluestein's tables for a DFT of length `n` with exponent sign `sign` (−1 forward, +1
/// inverse), computed through a circular convolution of length `m ≥ 2n − 1`:
///
/// `X[k] = w[k] · Σ_j (x[j]·w[j]) · conj(w[k − j])` with `w[j] = exp(sign·πi·j²/n)`.
///
/// Returns the chirp `w` (length n) and the kernel, the FFT of `conj(w)` wrapped onto length
/// m, divided by m so that the unnormalised inverse FFT completes the convolution.
fn bluestein_tables(n: usize, m: usize, sign: f64) -> (Vec<Complex<f64>>, Vec<Complex<f64>>) {
    // j² mod 2n in integers: exp(πi·j²/n) has period 2n in j², and reducing first keeps the
    // angle small, so it stays exact at large n where j² as f64 would lose digits.
    let chirp: Vec<Complex<f64>> = (0..n)
        .map(|j| {
            let q = (j as u128 * j as u128 % (2 * n as u128)) as f64;
            Complex::from_polar(1.0, sign * PI * q / n as f64)
        })
        .collect();
    let mut kernel = vec![Complex::new(0.0, 0.0); m];
    kernel[0] = chirp[0].conj();
    for j in 1..n {
        kernel[j] = chirp[j].conj();
        kernel[m - j] = chirp[j].conj();
    }
    FftPlanner::new().plan_fft_forward(m).process(&mut kernel);
    let scale = 1.0 / m as f64;
    kernel.iter_mut().for_each(|k| *k *= scale);
    (chirp, kernel)
}

/// The exact forward DFT of a 1-D or 2-D array (row-major, unnormalised, like numpy's
/// `fft2`) on the GPU: Stockham passes at power-of-two lengths, Bluestein elsewhere. A check
/// of the transform on its own; correlation plans do not go through here.
pub fn fft_forward(
    ctx: &GpuContext,
    data: &[Complex<f32>],
    shape: Shape,
) -> Result<Vec<Complex<f32>>> {
    if data.len() != shape.len() {
        return Err(Error::LengthMismatch {
            shape: shape.to_string(),
            expected: shape.len(),
            got: data.len(),
        });
    }
    if shape.is_empty() {
        return Err(Error::Empty {
            what: "FFT input".into(),
            shape: shape.to_string(),
        });
    }
    let fft = FftLayout::new(shape.axes(), RowCapacity::of(ctx));
    let (logical, padded) = (fft.logical, fft.padded);
    let data_bytes = shape.len() as u64 * ELEM;
    let work_bytes = fft.work_len() as u64 * ELEM;
    let table_bytes = fft.tables.len() as u64 * ELEM;
    for bytes in [data_bytes, work_bytes, table_bytes] {
        check_buffer(ctx, bytes, true)?;
    }
    let mut steps = vec![Step {
        kernel: Kernel::Pad,
        bufs: vec![Buf::Input, Buf::X],
        params: vec![
            logical[0] as u32,
            logical[1] as u32,
            logical[0] as u32,
            logical[1] as u32,
            logical[1] as u32,
            padded[1] as u32,
            0,
            0,
        ],
        threads: shape.len() as u64,
    }];
    let at = fft.steps(false, Buf::X, &mut steps);
    steps.push(Step {
        kernel: Kernel::Gather,
        bufs: vec![at, Buf::Output],
        params: vec![
            logical[0] as u32,
            logical[1] as u32,
            logical[0] as u32,
            logical[1] as u32,
            padded[1] as u32,
            logical[1] as u32,
            0,
            0,
        ],
        threads: shape.len() as u64,
    });
    let staging = ctx.scoped("running an FFT", || {
        let refs: Vec<&Step> = steps.iter().collect();
        let (uniforms, slots) = Uniforms::new(ctx, &refs)?;
        use wgpu::BufferUsages as U;
        let input = ctx.create_buffer("xcorr fft input", data_bytes, U::STORAGE | U::COPY_DST);
        let x = ctx.create_buffer("xcorr fft x", work_bytes, U::STORAGE);
        let y = ctx.create_buffer("xcorr fft y", work_bytes, U::STORAGE);
        let output = ctx.create_buffer("xcorr fft output", data_bytes, U::STORAGE | U::COPY_SRC);
        let staging = ctx.create_buffer("xcorr fft staging", data_bytes, U::MAP_READ | U::COPY_DST);
        let tables = ctx.create_buffer("xcorr fft tables", table_bytes, U::STORAGE | U::COPY_DST);
        ctx.queue()
            .write_buffer(&tables, 0, bytemuck::cast_slice(&fft.tables));
        ctx.queue().write_buffer(&input, 0, complex_bytes(data));
        let resolve = |b: Buf| match b {
            Buf::Input => &input,
            Buf::X => &x,
            Buf::Y => &y,
            Buf::Output => &output,
            Buf::Tables | Buf::Template => &tables,
        };
        let dispatches: Vec<_> = steps
            .iter()
            .zip(slots)
            .map(|(s, slot)| {
                let buffers: Vec<_> = s
                    .bufs
                    .iter()
                    .map(|&b| resolve(b).as_entire_buffer_binding())
                    .collect();
                uniforms.bind(ctx, s.kernel, slot, &buffers)
            })
            .collect();
        let mut encoder = ctx.device().create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            record(&mut pass, &dispatches);
        }
        encoder.copy_buffer_to_buffer(&output, 0, &staging, 0, None);
        ctx.queue().submit([encoder.finish()]);
        Ok(staging)
    })?;
    pollster::block_on(read_back(ctx, &staging))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mode, Op};

    const NO_WORKGROUP: RowCapacity = RowCapacity {
        max_n: 0,
        max_wg: 256,
    };
    const WORKGROUP_2048: RowCapacity = RowCapacity {
        max_n: 2048,
        max_wg: 256,
    };

    #[test]
    fn radices_run_powers_of_two_first() {
        assert_eq!(radices(1), Some(vec![]));
        assert_eq!(radices(8), Some(vec![2, 4]));
        assert_eq!(radices(1024), Some(vec![4; 5]));
        assert_eq!(radices(1120), Some(vec![2, 4, 4, 5, 7]));
        assert_eq!(radices(1125), Some(vec![3, 3, 5, 5, 5]));
        assert_eq!(radices(22), None);
        for n in 1..2000 {
            if let Some(r) = radices(n) {
                assert_eq!(r.iter().product::<usize>(), n);
            }
        }
    }

    fn shape_for(mode: Mode, a: Shape, b: Shape, rows: RowCapacity) -> [usize; 2] {
        transform_shape(&Plan::new(Op::Correlate, mode, a, b).unwrap(), rows)
    }

    #[test]
    fn linear_shapes_are_even_smooth_and_no_larger_than_the_power_of_two() {
        let cases = [
            (Mode::Same, Shape::d2(1024, 1024), Shape::d2(64, 64)),
            (Mode::Valid, Shape::d2(480, 640), Shape::d2(48, 48)),
            (Mode::Full, Shape::d2(2048, 2048), Shape::d2(2048, 2048)),
            (Mode::Full, Shape::d2(5, 700), Shape::d2(3, 3)),
            (Mode::Full, Shape::d1(1000), Shape::d1(64)),
        ];
        for (mode, a, b) in cases {
            let plan = Plan::new(Op::Correlate, mode, a, b).unwrap();
            for rows in [NO_WORKGROUP, WORKGROUP_2048] {
                let shape = transform_shape(&plan, rows);
                for axis in 0..2 {
                    let (len, min) = (shape[axis], plan.axes[axis].min_len);
                    assert!(
                        len >= min && len <= next_pow2(min),
                        "{shape:?} for {plan:?}"
                    );
                    assert!(len == 1 || (len % 2 == 0 && radices(len).is_some()));
                }
            }
        }
        // W1 pads 1087 to 1120 per axis, not 2048, where rows do not fit workgroup memory.
        let w1 = shape_for(
            Mode::Same,
            Shape::d2(1024, 1024),
            Shape::d2(64, 64),
            NO_WORKGROUP,
        );
        assert_eq!(w1, [1120, 1120]);
    }

    #[test]
    fn circular_shapes_stay_exact() {
        let shape = shape_for(
            Mode::CIRCULAR,
            Shape::d2(127, 129),
            Shape::d2(5, 5),
            WORKGROUP_2048,
        );
        assert_eq!(shape, [127, 129]);
    }
}
