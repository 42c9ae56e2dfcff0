//! The CPU backend: rustfft for complex data, realfft for real data, rayon over rows and
//! columns. Generic over `f32` and `f64`; the `f64` path is the oracle for the GPU.

mod columns;
mod fft2;
mod plan;

pub use fft2::Fft2;
pub use plan::CpuPlan;
pub(crate) use plan::Load;

use crate::array::{Array, ArrayView, Element};
use crate::spec::Plan;

/// One-shot: correlate or convolve `a` and `b` as `plan` says.
pub fn execute<T: Element>(plan: &Plan, a: ArrayView<'_, T>, b: ArrayView<'_, T>) -> Array<T> {
    CpuPlan::<T>::new(plan).execute(a, b)
}

/// The real row whose half spectrum (`len/2 + 1` entries) is `spectrum`, into `signal`
/// (`len` entries; `spectrum` is clobbered). A real row's spectrum has real DC (and, for even
/// lengths, Nyquist) terms; rounding leaves tiny imaginary parts there, which realfft's
/// inverse rejects, so they are cleared first.
pub(crate) fn inverse_real_row<R: crate::array::Real>(
    c2r: &dyn realfft::ComplexToReal<R>,
    spectrum: &mut [num_complex::Complex<R>],
    signal: &mut [R],
    scratch: &mut [num_complex::Complex<R>],
) {
    let last = spectrum.len() - 1;
    spectrum[0].im = R::zero();
    if signal.len() % 2 == 0 {
        spectrum[last].im = R::zero();
    }
    c2r.process_with_scratch(spectrum, signal, scratch)
        .expect("buffer lengths match the plan");
}

/// `v` at length `len`, filled with `fill` only when its length changes; callers overwrite
/// every element they read.
pub(crate) fn resize_for_overwrite<E: Copy>(v: &mut Vec<E>, len: usize, fill: E) {
    if v.len() != len {
        v.clear();
        v.resize(len, fill);
    }
}
