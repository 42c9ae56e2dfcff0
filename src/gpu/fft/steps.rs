//! The 2-D FFT as a sequence of steps: mixed-radix Stockham passes (radix 2, 4, 3, 5, 7)
//! per axis of a 2,3,5,7-smooth length, and Bluestein's chirp-z transform on top of them for
//! other lengths. Power-of-two lines (rows or columns) short enough for the device's
//! workgroup memory run all their passes in one dispatch instead (stockham_shared.wgsl;
//! see [`GpuContext::set_workgroup_fft`]); other lengths take one dispatch per pass.
//!
//! The work buffer holds a `padded[0] × padded[1]` row-major array; the transform's own
//! `logical[0] × logical[1]` region sits in its top-left corner. A smooth axis has
//! `padded == logical`; a Bluestein axis of length N pads to a smooth M ≥ 2N − 1, the length
//! of the circular convolution inside it.
//!
//! [`GpuContext::set_workgroup_fft`]: crate::gpu::GpuContext::set_workgroup_fft

use super::lengths::{radices, LineKernel, RowCapacity};
use super::line_kernel::{LineIo, LineLoad, LineStore};
use super::tables::Tables;
use crate::gpu::params::{Params, SpectrumParams, StockhamParams, StockhamSharedParams};
use crate::gpu::pipelines::{Kernel, Product};
use crate::gpu::program::{Buf, Bufs, Step};
use crate::spec::next_smooth;

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
    /// Per Stockham length its twiddles, per Bluestein axis its chirps and kernels.
    pub tables: Vec<[f32; 2]>,
    /// Rows up to this long transform in workgroup memory, in one dispatch.
    rows: RowCapacity,
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
        let mut tables = Tables::default();
        let axes = [0, 1].map(|i| {
            let (n, m) = (logical[i], inner[i]);
            if n == 1 {
                Axis::Identity
            } else if n == m {
                Axis::Direct {
                    n,
                    twiddles: tables.twiddles(n),
                }
            } else {
                let twiddles = tables.twiddles(m);
                let mut chirp = [0; 2];
                let mut kernel = [0; 2];
                for (dir, sign) in [(0, -1.0), (1, 1.0)] {
                    (chirp[dir], kernel[dir]) = tables.bluestein(n, m, sign);
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
            tables: tables.data,
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
        // Columns whose whole-line workgroups would take fewer columns than fill a cache line
        // per row: four-step, two dispatches over short sub-lines, many columns each. With
        // n = N2·n1 + n2 and k = k1 + N1·k2, the forward runs the N1-point sub-lines n2 first
        // (Y[k1, n2], twiddled, at N2·k1 + n2) and then the N2-point sub-lines k1 into k;
        // the inverse runs them the other way round, so that the forward's last pass and
        // the inverse's first take the same sub-lines k1 (`fuse_round_trip`). The N1-point
        // pass stores where it loads and runs in place; the N2-point pass transposes.
        if g.stride != 1 {
            if let Some([n1, n2]) = self.rows.four_step(n) {
                let (k1, k2) = (self.rows.kernel_for(n1), self.rows.kernel_for(n2));
                let (Some(k1), Some(k2)) = (k1, k2) else {
                    unreachable!("four_step splits into lengths that fit")
                };
                let (s, cols) = (g.stride as u32, g.lines as u32);
                let (n1u, n2u) = (n1 as u32, n2 as u32);
                // Per pass: length, kernel, sub-lines, [stride, m_in, stride_out, m_out],
                // OUTER (on the N1 pass forward, the N2 pass inverse).
                // Sub-line n2 of each column: elements N2·n1 + n2 → N2·k1 + n2.
                let across_n1 = (n1, k1, cols * n2u, [n2u * s, s, n2u * s, s], !inverse);
                // Sub-line k1: elements N2·k1 + n2 → k1 + N1·k2, and back for the inverse.
                let across_n2 = if inverse {
                    (n2, k2, cols * n1u, [n1u * s, s, s, n2u * s], true)
                } else {
                    (n2, k2, cols * n1u, [s, n2u * s, n1u * s, s], false)
                };
                let order = if inverse {
                    [across_n2, across_n1]
                } else {
                    [across_n1, across_n2]
                };
                for (len, kernel, lines, [stride, m_in, stride_out, m_out], outer) in order {
                    at = push_line_step(
                        out,
                        inverse,
                        len,
                        kernel,
                        at,
                        StockhamSharedParams {
                            stride,
                            line_stride: g.line_stride as u32,
                            lines,
                            tw_offset: tw as u32,
                            scale: 0.0,
                            stride_out,
                            cols,
                            m_in,
                            m_out,
                            tw_outer: tw as u32,
                            ..line_params()
                        },
                        (n / len) as u32,
                        outer,
                    );
                }
                return at;
            }
        }
        // A power-of-two line that fits workgroup memory, row or column: one dispatch.
        if let Some(line) = self.rows.kernel_for(n) {
            let whole = StockhamSharedParams {
                stride: g.stride as u32,
                line_stride: g.line_stride as u32,
                lines: g.lines as u32,
                tw_offset: tw as u32,
                scale: 0.0,
                stride_out: g.stride as u32,
                cols: g.lines as u32,
                m_in: 0,
                m_out: 0,
                tw_outer: 0,
                ..line_params()
            };
            return push_line_step(out, inverse, n, line, at, whole, 1, false);
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
                // `kept` is set where `fuse_product` fuses the product into this pass.
                bufs: Bufs::FftPass {
                    src: at,
                    dst: to,
                    kept: None,
                },
                params: StockhamParams {
                    n: n as u32,
                    p: p as u32,
                    stride: g.stride as u32,
                    line_stride: g.line_stride as u32,
                    lines: g.lines as u32,
                    tw_offset: tw as u32,
                    tw_step: (n / (radix * p)) as u32,
                    scale: 0.0,
                }
                .into(),
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
    let Bufs::FftPass { kept: reads, .. } = &mut last.bufs else {
        unreachable!("Stockham passes bind as FFT passes")
    };
    *reads = Some(kept);
    match &mut last.params {
        Params::Stockham(p) => p.scale = scale,
        Params::StockhamShared(p) => p.scale = scale,
        other => unreachable!("a Stockham pass with {other:?}"),
    }
    Some(last.kernel)
}

/// Line kernel parameters that bound and fuse nothing: every work load reads.
fn line_params() -> StockhamSharedParams {
    StockhamSharedParams {
        valid: u32::MAX,
        ..Default::default()
    }
}

/// Fuse a load or store into `step` where it is a whole-row pass of the line kernel (a
/// power-of-two row that fits workgroup memory: one dispatch per row), the only kind that
/// holds whole rows of the transform: `io` replaces its load and store, `set` fills the
/// parameters they read and may change `lines` (the invocations follow). Returns false,
/// changing nothing, for any other step; the caller then keeps a dispatch of its own.
pub(crate) fn fuse_row_io(
    step: &mut Step,
    io: LineIo,
    set: impl FnOnce(&mut StockhamSharedParams),
) -> bool {
    let (
        Kernel::StockhamShared {
            outer: false,
            io: own,
            n,
            points,
            lines,
            ..
        },
        Params::StockhamShared(params),
    ) = (&mut step.kernel, &mut step.params)
    else {
        return false;
    };
    if params.stride != 1 || params.m_in != 0 {
        return false;
    }
    *own = io;
    set(params);
    params.cols = params.lines;
    step.threads = (params.lines as u64).div_ceil(*lines as u64) * (*n / *points * *lines) as u64;
    true
}

/// Fuse `steps[at]`, the forward transform's last pass with the spectrum product in it,
/// and `steps[at + 1]`, the inverse's first pass, into one round trip (`LineIo::round_trip`)
/// where both are line-kernel passes over the same lines, the second reading the whole
/// spectrum where the first wrote it and writing where the first read: the last forward
/// and first inverse column pass, whole columns or four-step sub-lines k1. The spectrum
/// then never goes through device memory. The trip runs in place, on the buffer the
/// inverse pass wrote, so the steps after it stay as they are. False, changing nothing,
/// where the passes do not pair.
pub(crate) fn fuse_round_trip(steps: &mut Vec<Step>, at: usize) -> bool {
    let [fwd, inv] = &steps[at..at + 2] else {
        return false;
    };
    let (
        Kernel::StockhamShared {
            inverse: false,
            n,
            points,
            lines,
            tw_step,
            outer: false,
            product: product @ Some(_),
            io,
        },
        Kernel::StockhamShared {
            inverse: true,
            n: inv_n,
            points: inv_points,
            lines: inv_lines,
            tw_step: inv_tw_step,
            outer,
            product: None,
            io: inv_io,
        },
        Params::StockhamShared(f),
        Params::StockhamShared(i),
        Bufs::FftPass {
            src,
            dst,
            kept: kept @ Some(_),
        },
        Bufs::FftPass {
            src: inv_src,
            dst: inv_dst,
            ..
        },
    ) = (
        fwd.kernel, inv.kernel, fwd.params, inv.params, fwd.bufs, inv.bufs,
    )
    else {
        return false;
    };
    let one_way = |io: LineIo| io == LineIo::default() || io == LineIo::IN_PLACE;
    let pairs = (n, points, lines, tw_step) == (inv_n, inv_points, inv_lines, inv_tw_step)
        && one_way(io)
        && one_way(inv_io)
        && (inv_src, inv_dst) == (dst, src)
        && (f.lines, f.cols, f.line_stride, f.tw_offset)
            == (i.lines, i.cols, i.line_stride, i.tw_offset)
        && [f.stride_out, f.m_out] == [i.stride, i.m_in]
        && [i.stride_out, i.m_out] == [f.stride, f.m_in]
        && i.valid == u32::MAX;
    if !pairs {
        return false;
    }
    let trip = Step {
        kernel: Kernel::StockhamShared {
            inverse: false,
            n,
            points,
            lines,
            tw_step,
            outer,
            product,
            io: LineIo {
                round_trip: true,
                ..LineIo::IN_PLACE
            },
        },
        bufs: Bufs::FftPass {
            src,
            dst: src,
            kept,
        },
        params: StockhamSharedParams {
            tw_outer: i.tw_outer,
            ..f
        }
        .into(),
        threads: fwd.threads,
    };
    steps.splice(at..at + 2, [trip]);
    true
}

/// Bound the work loads of `step`, a line-kernel pass, to offsets along the axis below
/// `valid`: what lies past it (rows a fused row pass skipped) reads as zero. False, changing
/// nothing, for any other kind of pass.
pub(crate) fn bound_work_load(step: &mut Step, valid: usize) -> bool {
    match (&step.kernel, &mut step.params) {
        (
            Kernel::StockhamShared {
                io:
                    LineIo {
                        load: LineLoad::Work | LineLoad::InPlace,
                        ..
                    },
                ..
            },
            Params::StockhamShared(params),
        ) => {
            params.valid = valid as u32;
            true
        }
        _ => false,
    }
}

/// Device-memory bytes a line-kernel dispatch moves, by the model of `Step::traffic`: every
/// element read where it is read (work loads up to `valid`, the input's own rows and
/// columns, the stored halves of two half spectra), every output written where it is
/// stored (the whole line, or only the window), the kept spectrum read once per output.
pub(crate) fn line_traffic(n: usize, io: LineIo, product: bool, p: &StockhamSharedParams) -> u64 {
    const ELEM: u64 = crate::gpu::program::ELEM;
    let lines = p.lines as u64;
    let n64 = n as u64;
    let input_cols = (p.src_cols as u64).min(n64);
    let reads = match io.load {
        LineLoad::Work | LineLoad::InPlace if p.valid == u32::MAX => lines * n64 * ELEM,
        LineLoad::Work | LineLoad::InPlace => {
            // Sub-line m of each of `cols` lines reads m·m_in + i·stride < valid, i < n.
            let (cols, subs) = (p.cols as u64, lines / p.cols.max(1) as u64);
            let per_line: u64 = (0..subs)
                .map(|m| {
                    let at = m * p.m_in as u64;
                    let left = (p.valid as u64).saturating_sub(at);
                    left.div_ceil(p.stride.max(1) as u64).min(n64)
                })
                .sum();
            cols * per_line * ELEM
        }
        LineLoad::Complex => lines.min(p.src_rows as u64) * input_cols * ELEM,
        LineLoad::Real { paired } => {
            let rows = if paired { 2 * lines } else { lines };
            rows.min(p.src_rows as u64) * input_cols * ELEM / 2
        }
        LineLoad::Merge => 2 * lines * p.half_cols as u64 * ELEM,
    };
    let writes = match io.store {
        LineStore::Work => lines * n64 * ELEM,
        LineStore::Window => lines * p.out_cols as u64 * ELEM,
        LineStore::RealWindow { .. } => p.out_rows as u64 * p.out_cols as u64 * ELEM / 2,
        LineStore::Split => 2 * lines * (n64 / 2 + 1) * ELEM,
    };
    let kept = if product { lines * n64 * ELEM } else { 0 };
    reads + writes + kept
}

/// Append one dispatch of the line kernel: lines of `n` points shaped as `line`, from the
/// work buffer `src`, stage twiddles every `tw_step`-th table entry, `outer` the four-step
/// multiply. In place where every line is stored where it is loaded (`LineLoad::InPlace`),
/// else into the other work buffer. Returns the buffer it writes.
#[allow(clippy::too_many_arguments)]
fn push_line_step(
    out: &mut Vec<Step>,
    inverse: bool,
    n: usize,
    line: LineKernel,
    src: Buf,
    params: StockhamSharedParams,
    tw_step: u32,
    outer: bool,
) -> Buf {
    let in_place = (params.stride, params.m_in) == (params.stride_out, params.m_out)
        && matches!(src, Buf::X | Buf::Y);
    let (io, dst) = if in_place {
        (LineIo::IN_PLACE, src)
    } else {
        (LineIo::default(), src.other())
    };
    out.push(Step {
        kernel: Kernel::StockhamShared {
            inverse,
            n: n as u32,
            points: line.points,
            lines: line.lines,
            tw_step,
            outer,
            product: None,
            io,
        },
        bufs: Bufs::FftPass {
            src,
            dst,
            kept: None,
        },
        threads: (params.lines as usize).div_ceil(line.lines as usize) as u64 * line.wg as u64,
        params: params.into(),
    });
    dst
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
        bufs: Bufs::InPlace {
            data: at,
            table: Buf::Tables,
        },
        params: SpectrumParams {
            count: count as u32,
            valid: valid as u32,
            stride: g.stride as u32,
            line_stride: g.line_stride as u32,
            lines: g.lines as u32,
            table_offset: table_offset as u32,
            scale: 1.0,
        }
        .into(),
        threads: (count * g.lines) as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::pipelines::Conj;

    const PRODUCT: Product = Product {
        conj: Conj::Kept,
        phase: false,
    };

    /// Line passes that store every line where they load it run in place: whole rows and
    /// columns, and the four-step N1-point column pass; the N2-point pass, which
    /// transposes, and per-pass Stockham kernels write the other buffer.
    #[test]
    fn line_passes_run_in_place_where_they_store_what_they_load() {
        let bufs = |s: &Step| match s.bufs {
            Bufs::FftPass { src, dst, .. } => (src, dst),
            other => panic!("{other:?}"),
        };
        for (n, inverse) in [(2048, false), (4096, false), (2048, true)] {
            let mut steps = Vec::new();
            let at =
                FftLayout::new([n, n], RowCapacity::LAVAPIPE).steps(inverse, Buf::X, &mut steps);
            let kinds: Vec<_> = steps
                .iter()
                .map(|s| (bufs(s), s.kernel.in_place()))
                .collect();
            // Forward: rows, sub-lines n2 (N1 points, in place), sub-lines k1 (N2 points);
            // the inverse runs the column sub-lines the other way round.
            let columns = if inverse {
                [((Buf::X, Buf::Y), false), ((Buf::Y, Buf::Y), true)]
            } else {
                [((Buf::X, Buf::X), true), ((Buf::X, Buf::Y), false)]
            };
            assert_eq!(
                kinds,
                [vec![((Buf::X, Buf::X), true)], columns.to_vec()].concat()
            );
            assert_eq!(at, Buf::Y);
            for s in &steps {
                let Params::StockhamShared(p) = s.params else {
                    panic!("{:?}", s.params)
                };
                let same = (p.stride, p.m_in) == (p.stride_out, p.m_out);
                assert_eq!(same, s.kernel.in_place(), "{:?}", s.kernel);
            }
        }
        let mut steps = Vec::new();
        FftLayout::new([16, 8], RowCapacity::NONE).steps(false, Buf::X, &mut steps);
        assert!(steps
            .iter()
            .all(|s| !s.kernel.in_place() && bufs(s).0 != bufs(s).1));
    }

    /// The fused pass reads the kept spectrum and carries the scale, by name; a transform
    /// that ends in a Bluestein chirp is left as it was.
    #[test]
    fn fuse_product_sets_the_last_pass_kept_buffer_and_scale() {
        let rows = RowCapacity::NONE;
        let mut steps = Vec::new();
        FftLayout::new([16, 8], rows).steps(false, Buf::X, &mut steps);
        let fused = fuse_product(&mut steps, PRODUCT, Buf::Kept, 0.25).unwrap();
        let last = steps.last().unwrap();
        assert_eq!(last.kernel, fused);
        let Bufs::FftPass { kept, .. } = last.bufs else {
            panic!("{:?}", last.bufs)
        };
        assert_eq!(kept, Some(Buf::Kept));
        let Params::Stockham(params) = last.params else {
            panic!("{:?}", last.params)
        };
        assert_eq!(params.scale, 0.25);
        // No other pass reads a kept spectrum.
        let reads_kept = |s: &Step| matches!(s.bufs, Bufs::FftPass { kept: Some(_), .. });
        assert_eq!(steps.iter().filter(|s| reads_kept(s)).count(), 1);

        let mut steps = Vec::new();
        FftLayout::new([11, 8], rows).steps(false, Buf::X, &mut steps);
        let before: Vec<_> = steps.iter().map(|s| (s.bufs, s.params)).collect();
        assert_eq!(fuse_product(&mut steps, PRODUCT, Buf::Kept, 0.25), None);
        let after: Vec<_> = steps.iter().map(|s| (s.bufs, s.params)).collect();
        assert_eq!(before, after);
    }
}
