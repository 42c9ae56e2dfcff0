//! Moving columns of a row-major array into contiguous blocks and back.
//!
//! Column FFTs run on blocks of [`BLOCK`] columns copied into a small buffer, one column
//! after another. At a power-of-two length, columns placed back to back start 4 KiB (or a
//! multiple) apart: each row's entries of all the block's columns fall in one cache set, and
//! copying a row evicts the lines the previous row just filled. Columns are therefore placed
//! [`stride`] apart, one cache line more than their length. On the 2-core development
//! machine this took W3 (512² circular, f32) from 1.57–1.74 to 1.27 ms and the 1024² FFT
//! from 3.6 to 2.3 ms (BENCHMARKS.md, session 6).

use crate::array::Real;
use num_complex::Complex;
use rayon::prelude::*;
use rustfft::Fft;

/// Columns moved together for the column FFTs: 16 complex f64 columns of a 1024-point
/// transform fill 256 KiB, about one core's L2 cache.
pub(crate) const BLOCK: usize = 16;

/// Distance between the starts of consecutive columns of length `len` in a block buffer:
/// `len` plus one 64-byte cache line.
pub(crate) fn stride<R: Real>(len: usize) -> usize {
    len + (64 / std::mem::size_of::<Complex<R>>()).max(1)
}

/// Rows `0, 1, …` of a column block from `rows` (each row's entries of the block's
/// columns, all of one length) into `columns`: row `r` of column `dk` at
/// `columns[dk * stride + r]`. Other entries are left as they are.
pub(crate) fn gather<'a, E: Copy + 'a>(
    rows: impl Iterator<Item = &'a [E]>,
    columns: &mut [E],
    stride: usize,
) {
    // Row by row: each source row's entries are contiguous.
    for (r, row) in rows.enumerate() {
        for (dk, &v) in row.iter().enumerate() {
            columns[dk * stride + r] = v;
        }
    }
}

/// [`gather`]'s reverse: for each `(source, row)`, row `source` of the `row.len()` columns
/// in `columns` (`stride` apart) into `row`.
pub(crate) fn scatter<'a, E: Copy + 'a>(
    columns: &[E],
    stride: usize,
    rows: impl Iterator<Item = (usize, &'a mut [E])>,
) {
    for (source, row) in rows {
        for (dk, v) in row.iter_mut().enumerate() {
            *v = columns[dk * stride + source];
        }
    }
}

/// Transform every column of the row-major `rows × cols` array `x` with `fft`, in place, in
/// blocks of [`BLOCK`] columns on all cores.
pub(crate) fn transform_in_place<R: Real>(
    x: &mut [Complex<R>],
    rows: usize,
    cols: usize,
    fft: &dyn Fft<R>,
) {
    assert_eq!(x.len(), rows * cols, "data length differs from the shape");
    assert_eq!(
        fft.len(),
        rows,
        "transform length differs from the columns'"
    );
    let zero = Complex::new(R::zero(), R::zero());
    let stride = stride::<R>(rows);
    let shared = SharedRows(x.as_mut_ptr());
    (0..cols.div_ceil(BLOCK)).into_par_iter().for_each_init(
        || {
            (
                vec![zero; stride * BLOCK],
                vec![zero; fft.get_inplace_scratch_len()],
            )
        },
        |(buffer, scratch), block| {
            let c0 = block * BLOCK;
            let count = BLOCK.min(cols - c0);
            let shared = &shared;
            // SAFETY: block `block` reads and writes only columns c0..c0 + count of the
            // rows × cols array behind `shared`, and no other block touches them; `x`
            // outlives the parallel loop and is not otherwise used during it.
            let row = |r: usize| unsafe {
                std::slice::from_raw_parts_mut(shared.0.add(r * cols + c0), count)
            };
            gather((0..rows).map(|r| &*row(r)), buffer, stride);
            for column in buffer.chunks_mut(stride).take(count) {
                fft.process_with_scratch(&mut column[..rows], scratch);
            }
            scatter(buffer, stride, (0..rows).map(|r| (r, row(r))));
        },
    );
}

/// The data pointer of a row-major array whose column blocks are transformed in parallel.
struct SharedRows<E>(*mut E);

// SAFETY: used only to hand disjoint column blocks of one array to rayon's workers (see
// `transform_in_place`).
unsafe impl<E: Send> Send for SharedRows<E> {}
unsafe impl<E: Send> Sync for SharedRows<E> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_and_scatter_are_transposes() {
        // A source order that is not the identity, and gaps between the columns.
        for rows in [1, 7, 8, 9, 17, 24] {
            let (width, k0, count) = (11, 3, 5);
            let data: Vec<usize> = (0..rows * width).collect();
            let stride = rows + 2;
            let mut columns = vec![usize::MAX; count * stride];
            gather(
                (0..rows).map(|r| &data[r * width + k0..][..count]),
                &mut columns,
                stride,
            );
            for dk in 0..count {
                for r in 0..stride {
                    let expect = if r < rows {
                        r * width + k0 + dk
                    } else {
                        usize::MAX
                    };
                    assert_eq!(columns[dk * stride + r], expect, "rows {rows}, ({r}, {dk})");
                }
            }
            let sources: Vec<usize> = (0..rows).map(|i| (i * 5 + 3) % rows).collect();
            let mut out = vec![0; rows * count];
            scatter(
                &columns,
                stride,
                sources.iter().copied().zip(out.chunks_mut(count)),
            );
            for (i, &s) in sources.iter().enumerate() {
                for dk in 0..count {
                    assert_eq!(out[i * count + dk], s * width + k0 + dk);
                }
            }
        }
    }
}
