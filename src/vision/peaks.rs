//! Peaks of a score map: the best one, the top `k` kept apart by non-maximum suppression, and
//! subpixel offsets from a parabola fit.
//!
//! A [`Peak`] is `(row, col, score)` plus an optional subpixel offset. "Best" is the maximum,
//! or the minimum for maps whose best score is the lowest (`sqdiff*` template matching):
//! pass the [`Extremum`]. Non-finite values are never peaks. Ties go to the first index in
//! row-major order (as numpy's `argmax`).
//!
//! ```
//! use xcorr::peaks::{self, Distance, Extremum, PeakOptions};
//! use xcorr::{Array, Shape};
//! let mut map = Array::<f32>::zeros(Shape::d2(10, 10));
//! for (r, c, v) in [(2, 2, 5.0), (2, 3, 4.0), (7, 8, 3.0)] {
//!     map.data_mut()[r * 10 + c] = v;
//! }
//! let options = PeakOptions { count: 2, min_distance: 2.0, ..PeakOptions::default() };
//! let found = peaks::top_k(map.view(), &options);
//! // (2, 3) is within 2 pixels of the better (2, 2): suppressed.
//! assert_eq!(found.iter().map(|p| (p.row, p.col)).collect::<Vec<_>>(), [(2, 2), (7, 8)]);
//! ```

use crate::array::{ArrayView, Element, Real};
use rayon::prelude::*;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Which end of the score range is best.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Extremum {
    /// Higher scores are better (correlations).
    #[default]
    Max,
    /// Lower scores are better (`sqdiff*`).
    Min,
}

impl Extremum {
    /// Whether score `a` is strictly better than `b`.
    pub fn better(&self, a: f64, b: f64) -> bool {
        match self {
            Extremum::Max => a > b,
            Extremum::Min => a < b,
        }
    }
}

/// How the minimum distance between peaks is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Distance {
    /// `max(|Δrow|, |Δcol|)`: a square neighbourhood, like a maximum filter's.
    #[default]
    Chebyshev,
    /// `√(Δrow² + Δcol²)`: a disc.
    Euclidean,
}

impl Distance {
    /// The distance between positions `a` and `b` (`(row, col)`).
    pub fn between(&self, a: (usize, usize), b: (usize, usize)) -> f64 {
        let dr = a.0.abs_diff(b.0) as f64;
        let dc = a.1.abs_diff(b.1) as f64;
        match self {
            Distance::Chebyshev => dr.max(dc),
            Distance::Euclidean => dr.hypot(dc),
        }
    }

    /// Whether `a` and `b` are closer than `d`. The Euclidean test compares the integer
    /// `Δrow² + Δcol²` with `d²`, so that the GPU's peak search (which gets the same
    /// comparison as integers) draws exactly the same disc.
    pub fn within(&self, a: (usize, usize), b: (usize, usize), d: f64) -> bool {
        let dr = a.0.abs_diff(b.0) as f64;
        let dc = a.1.abs_diff(b.1) as f64;
        match self {
            Distance::Chebyshev => dr.max(dc) < d,
            Distance::Euclidean => dr * dr + dc * dc < d * d,
        }
    }
}

/// A peak: integer position, its score and, when refined, a subpixel offset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Peak {
    /// Row of the peak (for matching: the template's top-left corner).
    pub row: usize,
    /// Column of the peak.
    pub col: usize,
    /// The map's value there.
    pub score: f64,
    /// `(Δrow, Δcol)`, each in `[−0.5, 0.5]`, from [`refine_parabola`]; `None` if not refined.
    pub subpixel: Option<(f64, f64)>,
}

impl Peak {
    /// The position with the subpixel offset added (the integer position if unrefined).
    pub fn position(&self) -> (f64, f64) {
        let (dr, dc) = self.subpixel.unwrap_or((0.0, 0.0));
        (self.row as f64 + dr, self.col as f64 + dc)
    }
}

/// What [`top_k`] looks for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PeakOptions {
    /// At most this many peaks.
    pub count: usize,
    /// Two reported peaks are never closer than this (in `distance`): a candidate closer than
    /// `min_distance` to a better, already accepted peak is dropped. 0 or 1 suppress nothing.
    pub min_distance: f64,
    /// How that distance is measured.
    pub distance: Distance,
    /// Which end of the score range is best (matching sets it from the method).
    pub extremum: Extremum,
    /// Refine each peak with [`refine_parabola`].
    pub subpixel: bool,
}

impl Default for PeakOptions {
    /// One peak, no suppression, Chebyshev distance, maximum, with subpixel offsets.
    fn default() -> Self {
        PeakOptions {
            count: 1,
            min_distance: 1.0,
            distance: Distance::Chebyshev,
            extremum: Extremum::Max,
            subpixel: true,
        }
    }
}

/// The score of an element: the value of a real element, the magnitude of a complex one.
fn score<T: Element>(v: T) -> f64 {
    if T::IS_COMPLEX {
        v.abs_f64()
    } else {
        v.to_complex().re.to_f64()
    }
}

/// The best element (first in row-major order among equals); `None` if there is no finite one.
pub fn best<T: Element>(map: ArrayView<'_, T>, extremum: Extremum) -> Option<Peak> {
    let cols = map.shape().cols();
    // Chunks in parallel, each its first best; then the first best of those, in order.
    const CHUNK: usize = 1 << 14;
    let found = map
        .data()
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(k, chunk)| first_best(chunk, extremum).map(|(i, s)| (k * CHUNK + i, s)))
        .collect::<Vec<_>>()
        .into_iter()
        .flatten()
        .reduce(|a, b| if extremum.better(b.1, a.1) { b } else { a });
    found.map(|(i, s)| Peak {
        row: i / cols,
        col: i % cols,
        score: s,
        subpixel: None,
    })
}

/// The index and score of the first best finite element of `values`; `None` if none is
/// finite.
pub(crate) fn first_best<T: Element>(values: &[T], extremum: Extremum) -> Option<(usize, f64)> {
    // Keys that are larger when better; negation is exact, so ties stay ties.
    let sign = match extremum {
        Extremum::Max => 1.0,
        Extremum::Min => -1.0,
    };
    let key = |v: T| sign * score(v);
    // The best key in eight independent lanes (a comparison, which vectorises, where a
    // running `Option` would not), then the first element holding it.
    let mut lanes = [f64::NEG_INFINITY; 8];
    let mut eights = values.chunks_exact(8);
    for eight in &mut eights {
        for (m, &v) in lanes.iter_mut().zip(eight) {
            let k = key(v);
            *m = if k > *m && k.is_finite() { k } else { *m };
        }
    }
    for &v in eights.remainder() {
        let k = key(v);
        if k > lanes[0] && k.is_finite() {
            lanes[0] = k;
        }
    }
    let top = lanes
        .into_iter()
        .fold(f64::NEG_INFINITY, |a, b| if b > a { b } else { a });
    // −∞ is never finite, so it means no finite element at all.
    if top == f64::NEG_INFINITY {
        return None;
    }
    let i = values.iter().position(|&v| key(v) == top)?;
    Some((i, score(values[i])))
}

/// A candidate in the heap: better scores first, then lower indices.
struct Candidate {
    key: f64,
    index: usize,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key
            .total_cmp(&other.key)
            .then_with(|| other.index.cmp(&self.index))
    }
}

/// Up to `options.count` peaks, best first, by greedy non-maximum suppression: take the best
/// remaining element; keep it unless it lies closer than `min_distance` to a peak already
/// kept. So no two reported peaks are closer than `min_distance`, and each is the best
/// element outside the neighbourhoods of the better ones.
///
/// Memory is O(`count`) beyond the map: candidates are gathered in batches of the best few
/// not yet suppressed, one pass over the map per batch, rather than in a heap of every
/// element (8 GiB for a 20000² map, even for one peak).
pub fn top_k<T: Element>(map: ArrayView<'_, T>, options: &PeakOptions) -> Vec<Peak> {
    let cols = map.shape().cols();
    let sign = match options.extremum {
        Extremum::Max => 1.0,
        Extremum::Min => -1.0,
    };
    // Large enough that a batch usually outlasts the neighbourhood of the peak it starts
    // with; each batch keeps at least its first candidate, so there are at most `count`.
    let batch = options.count.saturating_mul(2).clamp(256, 1 << 16);
    let mut kept: Vec<Peak> = Vec::with_capacity(options.count.min(map.data().len()));
    let suppressed = |kept: &[Peak], index: usize| {
        let at = (index / cols, index % cols);
        kept.iter().any(|p| {
            options
                .distance
                .within(at, (p.row, p.col), options.min_distance)
        })
    };
    // Candidates come in one total order (better score, then lower index); `after` is the
    // last one a batch handed out.
    let mut after: Option<Candidate> = None;
    // A min-heap of the batch: its top is the worst candidate held.
    let mut heap: BinaryHeap<std::cmp::Reverse<Candidate>> = BinaryHeap::with_capacity(batch);
    while kept.len() < options.count {
        for (index, &v) in map.data().iter().enumerate() {
            let s = score(v);
            if !s.is_finite() {
                continue;
            }
            // `+ 0.0` makes −0 and +0 one key (total_cmp orders them), so they tie and the
            // first index wins, as in `best` and on the device.
            let c = Candidate {
                key: sign * s + 0.0,
                index,
            };
            if after.as_ref().is_some_and(|a| c >= *a)
                || (heap.len() == batch && c <= heap.peek().expect("full").0)
                || suppressed(&kept, index)
            {
                continue;
            }
            if heap.len() == batch {
                heap.pop();
            }
            heap.push(std::cmp::Reverse(c));
        }
        let exhausted = heap.len() < batch;
        // Best first: every element between two of these was suppressed when the batch was
        // gathered, and stays so, so the greedy order is kept.
        let ordered = std::mem::take(&mut heap).into_sorted_vec();
        for std::cmp::Reverse(Candidate { key, index }) in ordered.iter() {
            if kept.len() == options.count {
                break;
            }
            if suppressed(&kept, *index) {
                continue;
            }
            let at = (index / cols, index % cols);
            let subpixel = options
                .subpixel
                .then(|| refine_parabola(map, at.0, at.1, options.extremum));
            kept.push(Peak {
                row: at.0,
                col: at.1,
                score: sign * key,
                subpixel,
            });
        }
        match ordered.last() {
            Some(std::cmp::Reverse(last)) if !exhausted => {
                after = Some(Candidate {
                    key: last.key,
                    index: last.index,
                })
            }
            _ => break,
        }
    }
    kept
}

/// Subpixel offset of the peak at `(row, col)`: per axis, the vertex of the parabola through
/// the peak and its two neighbours, `δ = (f₋ − f₊) / (2 (f₋ − 2f₀ + f₊))`, clamped to
/// `[−0.5, 0.5]`. An axis gets 0 where the peak lies on the map's border (no neighbour on one
/// side), where a neighbour is not finite, or where the curvature is zero or of the wrong
/// sign for `extremum` (the point is not a peak along that axis).
pub fn refine_parabola<T: Element>(
    map: ArrayView<'_, T>,
    row: usize,
    col: usize,
    extremum: Extremum,
) -> (f64, f64) {
    let [rows, cols] = map.shape().axes();
    let at = |r: usize, c: usize| score(map.at(r, c));
    let centre = at(row, col);
    let dr = if row > 0 && row + 1 < rows {
        parabola_vertex(at(row - 1, col), centre, at(row + 1, col), extremum)
    } else {
        0.0
    };
    let dc = if col > 0 && col + 1 < cols {
        parabola_vertex(at(row, col - 1), centre, at(row, col + 1), extremum)
    } else {
        0.0
    };
    (dr, dc)
}

/// One axis of [`refine_parabola`]: the vertex offset of the parabola through
/// `(−1, minus), (0, centre), (1, plus)`, or 0 where that is not a peak.
pub(crate) fn parabola_vertex(minus: f64, centre: f64, plus: f64, extremum: Extremum) -> f64 {
    let curvature = minus - 2.0 * centre + plus;
    let peaked = match extremum {
        Extremum::Max => curvature < 0.0,
        Extremum::Min => curvature > 0.0,
    };
    if !(minus.is_finite() && plus.is_finite() && peaked) {
        return 0.0;
    }
    ((minus - plus) / (2.0 * curvature)).clamp(-0.5, 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::{Array, Shape};

    #[test]
    fn parabola_vertex_is_exact_for_a_parabola() {
        // f(x) = −(x − 0.3)², sampled at −1, 0, 1 around column 5.
        let map = Array::from_fn(Shape::d2(3, 10), |r, c| {
            let x = c as f64 - 5.0 - 0.3;
            let y = r as f64 - 1.0 + 0.2;
            -(x * x) - y * y
        });
        let (dr, dc) = refine_parabola(map.view(), 1, 5, Extremum::Max);
        assert!((dr + 0.2).abs() < 1e-12 && (dc - 0.3).abs() < 1e-12);
        // The negated map refines the same way as a minimum.
        let neg = map.map(|v| -v);
        let (dr2, dc2) = refine_parabola(neg.view(), 1, 5, Extremum::Min);
        assert_eq!((dr, dc), (dr2, dc2));
        // Borders are not refined.
        assert_eq!(refine_parabola(map.view(), 0, 9, Extremum::Max), (0.0, 0.0));
    }
}
