//! The 2-D FFT as a sequence of steps: radix-2 Stockham passes per axis, and Bluestein's
//! chirp-z transform on top of them for axes whose length is not a power of two. Rows (the
//! contiguous axis) short enough for the device's workgroup memory can run all their passes
//! in one dispatch instead (stockham_shared.wgsl; see [`GpuContext::set_workgroup_fft`]);
//! columns and longer rows take one dispatch per pass.
//!
//! The work buffer holds a `padded[0] × padded[1]` row-major array; the transform's own
//! `logical[0] × logical[1]` region sits in its top-left corner. A power-of-two axis has
//! `padded == logical`; a Bluestein axis of length N pads to a power of two M ≥ 2N − 1, the
//! length of the circular convolution inside it.

use super::context::GpuContext;
use super::pipelines::Kernel;
use super::program::{check_buffer, complex_bytes, read_back, record, Buf, Step, Uniforms, ELEM};
use crate::error::{Error, Result};
use crate::Shape;
use num_complex::Complex;
use rustfft::FftPlanner;
use std::f64::consts::PI;

#[derive(Clone, Copy, Debug)]
enum Axis {
    /// Length 1: nothing to do.
    Identity,
    /// Power of two: Stockham passes only.
    Pow2 { n: usize },
    /// Bluestein: length `n`, inner power-of-two length `m`, table offsets of the forward
    /// and inverse chirps (length n) and convolution kernels (length m).
    Bluestein {
        n: usize,
        m: usize,
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
    /// Twiddle base length T: `tables[t] = exp(-2πi t / T)` for t < T/2.
    twiddle_len: usize,
    /// Twiddles, then per Bluestein axis its chirps and kernels; computed in f64.
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

    /// Invocations for one row of length `n` (a power of two), or `None` when it does not
    /// fit: n/2 up to the device's cap, each doing n/2/wg butterflies per pass.
    fn workgroup_for(self, n: usize) -> Option<u32> {
        (n >= 2 && n <= self.max_n).then(|| (n as u32 / 2).min(self.max_wg))
    }
}

impl FftLayout {
    /// Plan the exact DFT of `logical[0] × logical[1]` (every length ≥ 1); rows that fit
    /// `rows` transform in workgroup memory.
    pub(crate) fn new(logical: [usize; 2], rows: RowCapacity) -> FftLayout {
        let inner = logical.map(|n| {
            if n.is_power_of_two() {
                n
            } else {
                (2 * n - 1).next_power_of_two()
            }
        });
        let twiddle_len = inner[0].max(inner[1]).max(2);
        let mut tables: Vec<[f32; 2]> = (0..twiddle_len / 2)
            .map(|t| {
                to_f32(Complex::from_polar(
                    1.0,
                    -2.0 * PI * t as f64 / twiddle_len as f64,
                ))
            })
            .collect();
        let axes = [0, 1].map(|i| {
            let (n, m) = (logical[i], inner[i]);
            if n == 1 {
                Axis::Identity
            } else if n == m {
                Axis::Pow2 { n }
            } else {
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
                    chirp,
                    kernel,
                }
            }
        });
        FftLayout {
            logical,
            padded: inner,
            axes,
            twiddle_len,
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
            Axis::Pow2 { n } => self.stockham(n, inverse, geom, start, out),
            Axis::Bluestein {
                n,
                m,
                chirp,
                kernel,
            } => {
                let dir = inverse as usize;
                // x·w, zero-padded to m; convolve with the kernel; ·w again.
                out.push(chirp_step(start, m, n, geom, chirp[dir]));
                let at = self.stockham(m, false, geom, start, out);
                out.push(chirp_step(at, m, m, geom, kernel[dir]));
                let at = self.stockham(m, true, geom, at, out);
                out.push(chirp_step(at, n, n, geom, chirp[dir]));
                at
            }
        }
    }

    fn stockham(
        &self,
        n: usize,
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
                },
                bufs: vec![at, to, Buf::Tables],
                params: vec![
                    n as u32,
                    0,
                    1,
                    g.line_stride as u32,
                    g.lines as u32,
                    0,
                    (self.twiddle_len / 2) as u32,
                    0,
                ],
                threads: g.lines as u64 * wg as u64,
            });
            return to;
        }
        // Radix 4 throughout (half the passes over memory of radix 2), after one radix-2
        // pass when log2(n) is odd.
        let mut p = 1;
        while p < n {
            let to = at.other();
            let radix = if (n / p).trailing_zeros() % 2 == 1 {
                2
            } else {
                4
            };
            let (kernel, tw_step, tw_half) = if radix == 2 {
                (Kernel::Stockham { inverse }, self.twiddle_len / (2 * p), 0)
            } else {
                (
                    Kernel::Stockham4 { inverse },
                    self.twiddle_len / (4 * p),
                    self.twiddle_len / 2,
                )
            };
            out.push(Step {
                kernel,
                bufs: vec![at, to, Buf::Tables],
                params: vec![
                    n as u32,
                    p as u32,
                    g.stride as u32,
                    g.line_stride as u32,
                    g.lines as u32,
                    0,
                    tw_step as u32,
                    tw_half as u32,
                ],
                threads: (n / radix * g.lines) as u64,
            });
            at = to;
            p *= radix;
        }
        at
    }
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
