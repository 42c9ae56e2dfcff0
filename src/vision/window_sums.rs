//! Sums over every `h × w` window of an image, from summed-area tables in f64.
//!
//! Template matching needs, for each placement of the template, the sum and the sum of
//! squares of the scene pixels under it. A summed-area table (integral image) gives each in
//! four lookups, so all windows of one size cost O(H·W), whatever the template size.
//!
//! The tables hold the image minus an `offset` (the caller picks the scene mean): centred
//! values keep the table entries, and so the cancellation in the four-corner differences,
//! small. Everything is f64.
//!
//! ```
//! use xcorr::window_sums::SummedArea;
//! use xcorr::{Array, Shape};
//! let image = Array::from_fn(Shape::d2(3, 4), |r, c| (r * 4 + c) as f32);
//! let table = SummedArea::new(image.view(), 0.0);
//! let sums = table.windows(2, 2);
//! assert_eq!(sums.shape, [2, 3]);
//! // Window at (1, 2): pixels 6, 7, 10, 11.
//! assert_eq!(sums.sum[1 * 3 + 2], 34.0);
//! assert_eq!(sums.sum_sq[1 * 3 + 2], 36.0 + 49.0 + 100.0 + 121.0);
//! ```

use crate::array::{ArrayView, Element, Real};
use rayon::prelude::*;

/// Inclusive prefix sums of `x − offset` and `(x − offset)²`, with a zero first row and
/// column: entry `(r, c)` of the `(rows + 1) × (cols + 1)` tables sums the pixels above and
/// left of `(r, c)`.
#[derive(Clone, Debug)]
pub struct SummedArea {
    rows: usize,
    cols: usize,
    offset: f64,
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
}

/// The sums of every window of one size: `shape = [H − h + 1, W − w + 1]`, row-major, index =
/// the window's top-left corner. Values are of `x − offset` (see [`SummedArea::offset`]).
#[derive(Clone, Debug)]
pub struct WindowSums {
    /// `[H − h + 1, W − w + 1]`.
    pub shape: [usize; 2],
    /// Window height and width.
    pub window: [usize; 2],
    /// Σ (x − offset) per window.
    pub sum: Vec<f64>,
    /// Σ (x − offset)² per window.
    pub sum_sq: Vec<f64>,
}

impl SummedArea {
    /// Tables of `x − offset` (1-D arrays count as one row).
    pub fn new<T: Element>(x: ArrayView<'_, T>, offset: f64) -> Self {
        let [rows, cols] = x.shape().axes();
        let stride = cols + 1;
        let mut sum = vec![0.0; (rows + 1) * stride];
        let mut sum_sq = vec![0.0; (rows + 1) * stride];
        let data = x.data();
        // Running sums along each row (rows are independent: in parallel), then each row
        // plus the finished row above, in order.
        sum[stride..]
            .par_chunks_mut(stride)
            .zip(sum_sq[stride..].par_chunks_mut(stride))
            .enumerate()
            .for_each(|(r, (row1, row2))| {
                let (mut s1, mut s2) = (0.0, 0.0);
                for c in 0..cols {
                    let v = data[r * cols + c].to_complex().re.to_f64() - offset;
                    s1 += v;
                    s2 += v * v;
                    row1[c + 1] = s1;
                    row2[c + 1] = s2;
                }
            });
        for table in [&mut sum, &mut sum_sq] {
            for r in 1..rows {
                let (above, row) = table[r * stride..(r + 2) * stride].split_at_mut(stride);
                for (v, a) in row.iter_mut().zip(above.iter()) {
                    *v += *a;
                }
            }
        }
        SummedArea {
            rows,
            cols,
            offset,
            sum,
            sum_sq,
        }
    }

    /// `[rows, cols]` of the image.
    pub fn image_shape(&self) -> [usize; 2] {
        [self.rows, self.cols]
    }

    /// The value subtracted from every pixel before summing.
    pub fn offset(&self) -> f64 {
        self.offset
    }

    /// Σ (x − offset)² over the whole image: the scale of the tables' rounding.
    pub fn total_sum_sq(&self) -> f64 {
        self.sum_sq[self.sum_sq.len() - 1]
    }

    /// `(Σ, Σ²)` of the `h × w` window with top-left corner `(r, c)`. Panics if it does not
    /// fit in the image.
    pub fn window(&self, r: usize, c: usize, h: usize, w: usize) -> (f64, f64) {
        assert!(
            r + h <= self.rows && c + w <= self.cols,
            "window outside image"
        );
        let stride = self.cols + 1;
        let corners = |t: &[f64]| {
            t[(r + h) * stride + c + w] - t[r * stride + c + w] - t[(r + h) * stride + c]
                + t[r * stride + c]
        };
        (corners(&self.sum), corners(&self.sum_sq))
    }

    /// `(Σ, Σ²)` of the `h × w` windows with top-left corners `(r, 0..sum.len())`, written to
    /// `sum` and `sum_sq`. Panics if they do not fit in the image.
    pub fn window_row(&self, r: usize, h: usize, w: usize, sum: &mut [f64], sum_sq: &mut [f64]) {
        let count = sum.len();
        assert!(
            r + h <= self.rows && count + w <= self.cols + 1 && sum_sq.len() == count,
            "windows outside image"
        );
        let stride = self.cols + 1;
        for (table, out) in [(&self.sum, sum), (&self.sum_sq, sum_sq)] {
            let (top, bottom) = (&table[r * stride..], &table[(r + h) * stride..]);
            for (c, o) in out.iter_mut().enumerate() {
                *o = bottom[c + w] - top[c + w] - bottom[c] + top[c];
            }
        }
    }

    /// The sums of every `h × w` window. Panics if the window is empty or larger than the
    /// image.
    pub fn windows(&self, h: usize, w: usize) -> WindowSums {
        assert!(
            h >= 1 && w >= 1 && h <= self.rows && w <= self.cols,
            "window {h}x{w} does not fit a {}x{} image",
            self.rows,
            self.cols
        );
        let shape = [self.rows - h + 1, self.cols - w + 1];
        let mut sum = Vec::with_capacity(shape[0] * shape[1]);
        let mut sum_sq = Vec::with_capacity(shape[0] * shape[1]);
        for r in 0..shape[0] {
            for c in 0..shape[1] {
                let (s1, s2) = self.window(r, c, h, w);
                sum.push(s1);
                // A sum of squares is never negative; the differences can round below zero.
                sum_sq.push(s2.max(0.0));
            }
        }
        WindowSums {
            shape,
            window: [h, w],
            sum,
            sum_sq,
        }
    }
}

/// Window sums computed row by row without tables: per output row, column sums of the `h`
/// rows under it (slid down from the previous row) and a sliding `w`-wide sum along them.
/// O(W) memory per worker instead of two `(H + 1) × (W + 1)` f64 tables, which for a one-shot
/// match cost more in fresh pages than in arithmetic. Values are of `x − offset`, in f64.
///
/// ```
/// use xcorr::window_sums::WindowStream;
/// use xcorr::{Array, Shape};
/// let image = Array::from_fn(Shape::d2(3, 4), |r, c| (r * 4 + c) as f32);
/// let stream = WindowStream::new(image.view(), 0.0, 2, 2);
/// let mut state = stream.state();
/// let (mut s1, mut s2) = ([0.0; 3], [0.0; 3]);
/// stream.row(&mut state, 1, &mut s1, &mut s2);
/// // Window at (1, 2): pixels 6, 7, 10, 11.
/// assert_eq!((s1[2], s2[2]), (34.0, 36.0 + 49.0 + 100.0 + 121.0));
/// ```
pub struct WindowStream<'a, T: Element> {
    x: ArrayView<'a, T>,
    offset: f64,
    h: usize,
    w: usize,
}

/// One worker's column sums, and the row they are for.
pub struct StreamState {
    next_row: usize,
    col: Vec<f64>,
    col_sq: Vec<f64>,
}

impl<'a, T: Element> WindowStream<'a, T> {
    /// Windows of `h × w` over `x − offset`. Panics if the window is empty or does not fit.
    pub fn new(x: ArrayView<'a, T>, offset: f64, h: usize, w: usize) -> Self {
        let [rows, cols] = x.shape().axes();
        assert!(
            h >= 1 && w >= 1 && h <= rows && w <= cols,
            "window {h}x{w} does not fit a {rows}x{cols} image"
        );
        WindowStream { x, offset, h, w }
    }

    /// Scratch for one worker.
    pub fn state(&self) -> StreamState {
        let cols = self.x.shape().cols();
        StreamState {
            next_row: usize::MAX,
            col: vec![0.0; cols],
            col_sq: vec![0.0; cols],
        }
    }

    /// `(Σ, Σ²)` of the windows with top-left corners `(r, 0..W − w + 1)` into `sum` and
    /// `sum_sq`. Cheapest when a state is used for consecutive rows.
    pub fn row(&self, state: &mut StreamState, r: usize, sum: &mut [f64], sum_sq: &mut [f64]) {
        let cols = self.x.shape().cols();
        let (h, w) = (self.h, self.w);
        let data = self.x.data();
        let line = |i: usize| &data[i * cols..(i + 1) * cols];
        let value = |v: &T| v.to_complex().re.to_f64() - self.offset;
        if state.next_row == r && r > 0 {
            let (add, sub) = (line(r + h - 1), line(r - 1));
            for (((c, c2), a), s) in state
                .col
                .iter_mut()
                .zip(&mut state.col_sq)
                .zip(add)
                .zip(sub)
            {
                let (a, s) = (value(a), value(s));
                *c += a - s;
                *c2 += a * a - s * s;
            }
        } else {
            state.col.fill(0.0);
            state.col_sq.fill(0.0);
            for i in r..r + h {
                for ((c, c2), v) in state.col.iter_mut().zip(&mut state.col_sq).zip(line(i)) {
                    let v = value(v);
                    *c += v;
                    *c2 += v * v;
                }
            }
        }
        state.next_row = r + 1;
        // Both sliding sums in one loop: each is a chain of dependent additions, and two
        // independent chains share the adder's latency instead of waiting on it in turn.
        let (col, col_sq) = (&state.col, &state.col_sq);
        let mut s: f64 = col[..w].iter().sum();
        let mut s2: f64 = col_sq[..w].iter().sum();
        sum[0] = s;
        sum_sq[0] = s2;
        let n = sum.len();
        for (c, (o, o2)) in sum[1..n].iter_mut().zip(&mut sum_sq[1..n]).enumerate() {
            s += col[c + w] - col[c];
            s2 += col_sq[c + w] - col_sq[c];
            *o = s;
            *o2 = s2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::{Array, Shape};

    #[test]
    fn stream_matches_the_tables_in_any_row_order() {
        let image = Array::from_fn(Shape::d2(9, 11), |r, c| {
            ((r * 31 + c * 17) % 13) as f64 * 0.37 - 1.0
        });
        let table = SummedArea::new(image.view(), 0.4);
        for (h, w) in [(1, 1), (3, 4), (9, 11), (2, 11)] {
            let expect = table.windows(h, w);
            let stream = WindowStream::new(image.view(), 0.4, h, w);
            let mut state = stream.state();
            let n = expect.shape[1];
            let (mut s1, mut s2) = (vec![0.0; n], vec![0.0; n]);
            // Forward (sliding), then backwards and skipping (rebuilding).
            let order: Vec<usize> = (0..expect.shape[0])
                .chain((0..expect.shape[0]).rev().step_by(2))
                .collect();
            for r in order {
                stream.row(&mut state, r, &mut s1, &mut s2);
                for c in 0..n {
                    assert!((s1[c] - expect.sum[r * n + c]).abs() < 1e-9);
                    assert!((s2[c] - expect.sum_sq[r * n + c]).abs() < 1e-9);
                }
            }
        }
    }

    #[test]
    fn matches_direct_sums() {
        let image = Array::from_fn(Shape::d2(7, 9), |r, c| {
            ((r * 31 + c * 17) % 11) as f64 - 3.0
        });
        let table = SummedArea::new(image.view(), 1.5);
        for (h, w) in [(1, 1), (3, 4), (7, 9), (2, 9)] {
            let sums = table.windows(h, w);
            for r in 0..sums.shape[0] {
                for c in 0..sums.shape[1] {
                    let (mut s1, mut s2) = (0.0, 0.0);
                    for i in 0..h {
                        for j in 0..w {
                            let v = image.at(r + i, c + j) - 1.5;
                            s1 += v;
                            s2 += v * v;
                        }
                    }
                    let k = r * sums.shape[1] + c;
                    assert!((sums.sum[k] - s1).abs() < 1e-9);
                    assert!((sums.sum_sq[k] - s2).abs() < 1e-9);
                }
            }
        }
    }
}
