//! The index conventions and shape arithmetic: the one place where they live.
//!
//! Every backend computes a *circular* correlation (or convolution) of some length `L` per
//! axis and then reads its output window from it. A [`Plan`] says, per axis, which `L` is
//! allowed and where the window starts, so the backends never repeat the arithmetic:
//!
//! * **correlate**: `out[k] = Σ_n a[n + k] · conj(b[n])`; the circular result at index `j`
//!   holds lag `j mod L`.
//! * **convolve**: `out[k] = Σ_n a[n] · b[k − n]`; the circular result at index `j` holds the
//!   sum of index `j mod L`.
//!
//! Output element `i` of an axis is the circular element `(first + i) mod L`, where `first`
//! is the lag (or convolution index) of output element 0. For the linear modes `L` must be at
//! least [`AxisPlan::min_len`] so that no lag outside the window aliases into it; circular
//! mode has `L = n` exactly.
//!
//! # Modes, per axis, with `a` of length N and `b` of length M
//!
//! | mode | output length | correlation lag of output 0 |
//! | --- | --- | --- |
//! | `full` | N + M − 1 | −(M − 1) |
//! | `same` | N | −(M − 1) + (M − 1)/2 |
//! | `valid` | \|N − M\| + 1 | −(M − 1) + min(N, M) − 1 |
//! | `circular` | N | 0 |
//! | `circular`, centred | N | −(M/2) |
//!
//! For convolution add `M − 1` to each linear start (the full range runs from 0 to
//! N + M − 2); centred circular convolution starts at `+M/2`. These match
//! `scipy.signal.correlate` / `convolve` element for element, including `same` with even M.
//!
//! ```
//! use xcorr::spec::{lags, Mode, Op};
//! use xcorr::Shape;
//! // Odd N = 7, even M = 4: `same` output 0 is the lag −2 sum (scipy's correlation_lags
//! // says −1 here, which disagrees with scipy's own correlate output).
//! let l = lags(Op::Correlate, Mode::Same, Shape::d1(7), Shape::d1(4)).unwrap();
//! assert_eq!(l[0], vec![-2, -1, 0, 1, 2, 3, 4]);
//! ```

use crate::array::{Element, Shape};
use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// Correlation conjugates the second argument; convolution flips it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `out[k] = Σ_n a[n + k] · conj(b[n])`.
    Correlate,
    /// `out[k] = Σ_n a[n] · b[k − n]`.
    Convolve,
}

/// Which part of the result to return (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Every overlap: N + M − 1 per axis.
    Full,
    /// The shape of `a`, cut from `full` at `(M − 1)/2`.
    Same,
    /// Only the overlaps where one input lies wholly inside the other.
    Valid,
    /// The DFT identity at the size of `a`; `b` is zero-padded at its end. With `centred`,
    /// `b`'s origin is its centre element (index `M/2` per axis).
    Circular {
        /// Whether `b`'s origin is its centre element rather than its first.
        centred: bool,
    },
}

impl Mode {
    /// Plain circular mode (`b`'s origin is its first element).
    pub const CIRCULAR: Mode = Mode::Circular { centred: false };
    /// Circular mode with `b`'s origin at its centre element.
    pub const CIRCULAR_CENTRED: Mode = Mode::Circular { centred: true };

    /// Whether this is either circular mode.
    pub fn is_circular(&self) -> bool {
        matches!(self, Mode::Circular { .. })
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Full => "full",
            Mode::Same => "same",
            Mode::Valid => "valid",
            Mode::Circular { centred: false } => "circular",
            Mode::Circular { centred: true } => "circular (centred)",
        })
    }
}

impl FromStr for Mode {
    type Err = Error;
    /// Parses `full`, `same`, `valid`, `circular` (uncentred).
    fn from_str(s: &str) -> Result<Mode> {
        match s {
            "full" => Ok(Mode::Full),
            "same" => Ok(Mode::Same),
            "valid" => Ok(Mode::Valid),
            "circular" => Ok(Mode::CIRCULAR),
            _ => Err(Error::InvalidArgument(format!(
                "unknown mode '{s}' (expected full, same, valid or circular)"
            ))),
        }
    }
}

/// The arithmetic of one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AxisPlan {
    /// Length of `a` along this axis.
    pub n: usize,
    /// Length of `b` along this axis.
    pub m: usize,
    /// Length of the output along this axis.
    pub out_len: usize,
    /// Lag (correlation) or sum index (convolution) of output element 0.
    pub first: isize,
    /// The smallest circular length whose window is free of aliasing and that holds both
    /// inputs; for circular mode the only allowed length, `n`.
    pub min_len: usize,
    /// Circular mode: the transform length must be exactly `n`.
    pub exact: bool,
}

impl AxisPlan {
    /// The circular index that output element `i` reads, for transform length `len`.
    pub fn source(&self, i: usize, len: usize) -> usize {
        wrap(self.first + i as isize, len)
    }

    /// The lag (or convolution index) of every output element.
    pub fn lags(&self) -> Vec<isize> {
        (0..self.out_len as isize).map(|i| self.first + i).collect()
    }

    /// The transform length: `n` for circular mode, else `pick(min_len)` (which must not
    /// return less than its argument; e.g. the next power of two or smooth number).
    pub fn fft_len(&self, pick: impl Fn(usize) -> usize) -> usize {
        if self.exact {
            self.n
        } else {
            let len = pick(self.min_len);
            debug_assert!(len >= self.min_len);
            len
        }
    }
}

/// `i mod len` for a signed `i`.
pub fn wrap(i: isize, len: usize) -> usize {
    i.rem_euclid(len as isize) as usize
}

/// One correlation of a call that computes several sharing inputs
/// ([`Engine::compute_pairs`](crate::Engine::compute_pairs),
/// [`Prepared::run_pairs`](crate::Prepared::run_pairs)): `(i, k)`, the index of its first
/// argument and of its second.
pub type Pair = (usize, usize);

/// Everything a backend needs to know about one call's shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Plan {
    /// Correlation or convolution.
    pub op: Op,
    /// Which part of the result.
    pub mode: Mode,
    /// The first argument's shape.
    pub a: Shape,
    /// The second argument's shape.
    pub b: Shape,
    /// The output's shape.
    pub out: Shape,
    /// `[rows, cols]`.
    pub axes: [AxisPlan; 2],
}

impl Plan {
    /// Check the shapes against the mode and work out the output and its window.
    pub fn new(op: Op, mode: Mode, a: Shape, b: Shape) -> Result<Plan> {
        if a.ndim() != b.ndim() {
            return Err(Error::Dimensions(format!(
                "inputs must have the same number of dimensions, got {}-D {a} and {}-D {b}",
                a.ndim(),
                b.ndim()
            )));
        }
        for (what, s) in [("first input", a), ("second input", b)] {
            if s.is_empty() {
                return Err(Error::Empty {
                    what: what.into(),
                    shape: s,
                });
            }
        }
        let (na, nb) = (a.axes(), b.axes());
        // Bounding each axis first keeps the signed lag arithmetic below from wrapping.
        if na.iter().chain(&nb).any(|&n| n > MAX_TRANSFORM_ELEMENTS) {
            return Err(too_large(a, b));
        }
        match mode {
            Mode::Valid => {
                let a_covers = (0..2).all(|i| na[i] >= nb[i]);
                let b_covers = (0..2).all(|i| nb[i] >= na[i]);
                if !a_covers && !b_covers {
                    return Err(Error::ShapeMismatch(format!(
                        "valid mode needs one input at least as large as the other on every \
                         axis, got {a} and {b}"
                    )));
                }
            }
            Mode::Circular { .. } => {
                if (0..2).any(|i| nb[i] > na[i]) {
                    return Err(Error::ShapeMismatch(format!(
                        "circular mode needs the second input no larger than the first on \
                         every axis, got {a} and {b}"
                    )));
                }
            }
            Mode::Full | Mode::Same => {}
        }
        let axes = [0, 1].map(|i| axis_plan(op, mode, na[i], nb[i]));
        // Every transform length a backend may pick lies below this bound (the next power
        // of two; twice that for a circular axis, which may go through Bluestein), so the
        // length searches end and no buffer size downstream overflows.
        let bound = |x: &AxisPlan| {
            let len = if x.exact { 2 * x.n } else { x.min_len };
            len.checked_next_power_of_two()
        };
        match (bound(&axes[0]), bound(&axes[1])) {
            (Some(r), Some(c))
                if r.checked_mul(c)
                    .is_some_and(|n| n <= MAX_TRANSFORM_ELEMENTS) => {}
            _ => return Err(too_large(a, b)),
        }
        let out = a.with_axes([axes[0].out_len, axes[1].out_len]);
        Ok(Plan {
            op,
            mode,
            a,
            b,
            out,
            axes,
        })
    }

    /// An estimate of the memory one call with this plan holds at its peak, in bytes, for
    /// elements of type `T` on the CPU backend: both inputs and the output, and two spectra
    /// at the transform lengths (half spectra for real data). Meant for refusing jobs that
    /// cannot fit before any work starts; the true peak stays within a small factor of it.
    ///
    /// ```
    /// use xcorr::spec::{Mode, Op, Plan};
    /// use xcorr::Shape;
    /// let p = Plan::new(Op::Correlate, Mode::Full, Shape::d2(1000, 1000), Shape::d2(64, 64))
    ///     .unwrap();
    /// let mb = p.memory_bytes::<f32>() as f64 / 1e6;
    /// assert!(mb > 12.0 && mb < 40.0, "{mb}");
    /// ```
    pub fn memory_bytes<T: Element>(&self) -> u64 {
        let elem = std::mem::size_of::<T>() as u64;
        let complex = 2 * std::mem::size_of::<T::Real>() as u64;
        let [rows, cols] = self.fft_shape(next_fast_len).map(|n| n as u64);
        let spectrum_cols = if T::IS_COMPLEX { cols } else { cols / 2 + 1 };
        let arrays = [self.a, self.b, self.out]
            .iter()
            .map(|s| s.len() as u64)
            .sum::<u64>();
        // Plan::new bounds every term, so none of this overflows.
        arrays * elem + 2 * rows * spectrum_cols * complex
    }

    /// Transform lengths per axis, `pick` choosing among the allowed ones (see
    /// [`AxisPlan::fft_len`]).
    pub fn fft_shape(&self, pick: impl Fn(usize) -> usize) -> [usize; 2] {
        [self.axes[0].fft_len(&pick), self.axes[1].fft_len(&pick)]
    }
}

/// The most elements a plan's padded transform may hold: a complex float64 buffer of that
/// size (16 bytes an element) is the largest a machine can address.
pub const MAX_TRANSFORM_ELEMENTS: usize = isize::MAX as usize / 16;

fn too_large(a: Shape, b: Shape) -> Error {
    Error::Dimensions(format!(
        "inputs {a} and {b} are too large: their transform would hold more than \
         {MAX_TRANSFORM_ELEMENTS} elements"
    ))
}

fn axis_plan(op: Op, mode: Mode, n: usize, m: usize) -> AxisPlan {
    let (n_i, m_i) = (n as isize, m as isize);
    // The full range of lags (correlation) or sum indices (convolution).
    let lo = match op {
        Op::Correlate => -(m_i - 1),
        Op::Convolve => 0,
    };
    let hi = lo + n_i + m_i - 2;
    let (first, out_len) = match mode {
        Mode::Full => (lo, n + m - 1),
        Mode::Same => (lo + (m_i - 1) / 2, n),
        Mode::Valid => (lo + n.min(m) as isize - 1, n.abs_diff(m) + 1),
        Mode::Circular { centred } => {
            let centre = if centred { (m / 2) as isize } else { 0 };
            let first = match op {
                Op::Correlate => -centre,
                Op::Convolve => centre,
            };
            return AxisPlan {
                n,
                m,
                out_len: n,
                first,
                min_len: n,
                exact: true,
            };
        }
    };
    let last = first + out_len as isize - 1;
    // A lag k lands on k mod L; lags k ± L must fall outside [lo, hi] for every k in the window.
    // Both inputs must also fit unfolded (only `same` with M > 2N needs this), so backends
    // can always zero-pad rather than fold.
    let min_len = ((hi - first + 1).max(last - lo + 1) as usize).max(n).max(m);
    AxisPlan {
        n,
        m,
        out_len,
        first,
        min_len,
        exact: false,
    }
}

/// Per numpy axis, the lag (correlation) or sum index (convolution) of each output element:
/// one vector for 1-D inputs, `[rows, cols]` for 2-D. Like scipy's `correlation_lags`,
/// extended to 2-D and to circular mode, and derived from the same plan that cuts the output.
pub fn lags(op: Op, mode: Mode, a: Shape, b: Shape) -> Result<Vec<Vec<isize>>> {
    let plan = Plan::new(op, mode, a, b)?;
    Ok(if a.ndim() == 1 {
        vec![plan.axes[1].lags()]
    } else {
        vec![plan.axes[0].lags(), plan.axes[1].lags()]
    })
}

/// The smallest `2^a·3^b·5^c·7^d` at least `n`: sizes rustfft transforms fastest.
///
/// Past the largest such number that fits `usize`, `n` itself (no plan gets near it).
pub fn next_smooth(n: usize) -> usize {
    let mut candidate = n.max(1);
    loop {
        let mut r = candidate;
        for p in [2, 3, 5, 7] {
            while r % p == 0 {
                r /= p;
            }
        }
        if r == 1 {
            return candidate;
        }
        candidate = match candidate.checked_add(1) {
            Some(c) => c,
            None => return n,
        };
    }
}

/// The length at least `n` that the CPU backend transforms fastest, by a cost model fitted to
/// rustfft 6.4 on x86-64 (f32 and f64, lengths 16 to 2400): powers of two are cheapest per
/// point; `2^a·3^b` (a ≥ 1) and `2^a·3^b·5` or `·7` (a ≥ 3) cost about 10% more; other
/// 2,3,5,7-smooth lengths (several factors of 5 or 7, or few factors of 2) measured up to 3.5×
/// more, so they are not used. The pick minimises `len·(log2(len)·weight + 4)` up to the next
/// power of two, the 4 standing for the work per point outside the transform (gathering,
/// the product, scattering), so that a near tie goes to the shorter length. Against the best
/// measured length, the smallest smooth length averaged 1.39× (f32) and 1.21× (f64) the
/// transform time (worst 3.5× and 2.0×), this pick 1.03× and 1.06× (worst 1.25× and 1.41×).
///
/// ```
/// use xcorr::spec::next_fast_len;
/// assert_eq!(next_fast_len(480), 480); // 2⁵·3·5: close enough to 512's speed per point
/// assert_eq!(next_fast_len(1087), 1152); // 2⁷·3², not 1120 = 2⁵·5·7
/// assert_eq!(next_fast_len(500), 512); // 500 = 2²·5³ measured 2.4× 512's time per point
/// assert_eq!(next_fast_len(1025), 1080); // 2³·3³·5
/// ```
///
/// Past the largest power of two that fits `usize`, `n` itself (no plan gets near it).
pub fn next_fast_len(n: usize) -> usize {
    let n = n.max(1);
    let Some(limit) = n.checked_next_power_of_two() else {
        return n;
    };
    let mut best = (limit, cost(limit, 1.0));
    for odd_prime in [1, 5, 7] {
        let mut base = odd_prime;
        // 2^a·3^b·p up to the limit.
        while base <= limit {
            let mut len = base;
            let mut twos = 0;
            while len <= limit {
                let allowed = match (odd_prime, base == 1) {
                    (1, true) => true,
                    (1, false) => twos >= 1,
                    _ => twos >= 3,
                };
                if allowed && len >= n {
                    let weight = if len.is_power_of_two() { 1.0 } else { 1.1 };
                    let c = cost(len, weight);
                    if c < best.1 || (c == best.1 && len < best.0) {
                        best = (len, c);
                    }
                }
                // Near usize::MAX, doubling or tripling would wrap and loop forever.
                match len.checked_mul(2) {
                    Some(l) => len = l,
                    None => break,
                }
                twos += 1;
            }
            match base.checked_mul(3) {
                Some(b) => base = b,
                None => break,
            }
        }
    }
    best.0
}

/// The modelled time of one transform of `len` points, and the work per point around it.
fn cost(len: usize, weight: f64) -> f64 {
    len as f64 * ((len as f64).log2().max(1.0) * weight + 4.0)
}

/// The smallest power of two at least `n`.
///
/// Past the largest power of two that fits `usize`, `n` itself (no plan gets near it).
pub fn next_pow2(n: usize) -> usize {
    n.max(1).checked_next_power_of_two().unwrap_or(n)
}

/// fftshift along one axis as a circular read: output `i` reads input `(first + i) mod len`.
/// `fftshift` moves element 0 to index `len/2`; `ifftshift` undoes it.
pub fn fftshift_first(len: usize) -> isize {
    -((len / 2) as isize)
}

/// The read offset of `ifftshift` along one axis (see [`fftshift_first`]).
pub fn ifftshift_first(len: usize) -> isize {
    (len / 2) as isize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smooth_and_pow2() {
        assert_eq!(next_smooth(1), 1);
        assert_eq!(next_smooth(11), 12);
        assert_eq!(next_smooth(97), 98);
        assert_eq!(next_smooth(1087), 1120);
    }

    #[test]
    fn fast_lengths_are_allowed_and_no_larger_than_the_power_of_two() {
        let allowed = |len: usize| {
            let twos = len.trailing_zeros();
            let mut odd = len >> twos;
            while odd % 3 == 0 {
                odd /= 3;
            }
            len.is_power_of_two()
                || (odd == 1 && twos >= 1)
                || ((odd == 5 || odd == 7) && twos >= 3)
        };
        for n in 1..5000 {
            let len = next_fast_len(n);
            assert!(len >= n && len <= n.next_power_of_two(), "{n} -> {len}");
            assert!(allowed(len), "{n} -> {len}");
            assert!(next_smooth(len) == len, "{n} -> {len}");
        }
        // Already fast lengths are kept.
        for len in [2, 48, 640, 1024, 1152, 1536] {
            assert_eq!(next_fast_len(len), len);
        }
        assert_eq!(next_pow2(1025), 2048);
    }

    #[test]
    fn full_needs_no_wrap_and_valid_needs_only_n() {
        let p = Plan::new(Op::Correlate, Mode::Full, Shape::d1(10), Shape::d1(4)).unwrap();
        assert_eq!(p.axes[1].min_len, 13);
        assert_eq!(p.axes[1].first, -3);
        let p = Plan::new(Op::Correlate, Mode::Valid, Shape::d1(10), Shape::d1(4)).unwrap();
        assert_eq!(
            (p.axes[1].first, p.axes[1].out_len, p.axes[1].min_len),
            (0, 7, 10)
        );
        let p = Plan::new(Op::Correlate, Mode::Valid, Shape::d1(4), Shape::d1(10)).unwrap();
        assert_eq!((p.axes[1].first, p.axes[1].out_len), (-6, 7));
    }

    #[test]
    fn length_searches_end_for_every_input() {
        for n in [
            usize::MAX,
            usize::MAX - 1,
            (1 << 63) + 1,
            1 << 63,
            (1 << 63) - 1,
        ] {
            assert!(next_fast_len(n) >= n, "{n}");
            assert!(next_pow2(n) >= n, "{n}");
        }
        // The largest 7-smooth number is far below usize::MAX; the search gives up at the end.
        assert_eq!(next_smooth(usize::MAX - 3), usize::MAX - 3);
    }

    #[test]
    fn plans_whose_transforms_cannot_exist_are_refused() {
        let huge = 1usize << 62;
        for mode in [Mode::Full, Mode::Same, Mode::Valid, Mode::CIRCULAR] {
            for (a, b) in [
                (Shape::d1(usize::MAX), Shape::d1(1)),
                (Shape::d1(huge), Shape::d1(3)),
                (Shape::d2(1 << 31, 1 << 31), Shape::d2(1, 1)),
                (
                    Shape::d2(9223372036854775811, 2),
                    Shape::d2(9223372036854775811, 2),
                ),
            ] {
                let e = Plan::new(Op::Correlate, mode, a, b).unwrap_err();
                assert!(e.to_string().contains("too large"), "{mode} {a} {b}: {e}");
            }
        }
        // The largest accepted plan has room for its bound.
        let p = Plan::new(Op::Correlate, Mode::Full, Shape::d1(1 << 40), Shape::d1(1)).unwrap();
        assert!(p.memory_bytes::<num_complex::Complex<f64>>() > 1 << 44);
    }

    #[test]
    fn shift_offsets() {
        // fftshift of 0..5 is [3, 4, 0, 1, 2]: output 0 reads input 3 = (−2 mod 5).
        assert_eq!(wrap(fftshift_first(5), 5), 3);
        assert_eq!(wrap(ifftshift_first(5), 5), 2);
        assert_eq!(wrap(fftshift_first(4), 4), 2);
    }
}
