//! The CPU backend: rustfft for complex data, realfft for real data, rayon over rows and
//! columns. Generic over `f32` and `f64`; the `f64` path is the oracle for the GPU.

mod columns;
mod fft2;
mod plan;

pub(crate) use columns::transform_in_place;
pub use fft2::Fft2;
pub use plan::CpuPlan;

use crate::array::{Array, ArrayView, Element};
use crate::spec::Plan;

/// One-shot: correlate or convolve `a` and `b` as `plan` says.
pub fn execute<T: Element>(plan: &Plan, a: ArrayView<'_, T>, b: ArrayView<'_, T>) -> Array<T> {
    CpuPlan::<T>::new(plan).execute(a, b)
}

/// `v` at length `len`, filled with `fill` only when its length changes; callers overwrite
/// every element they read.
pub(crate) fn resize_for_overwrite<E: Copy>(v: &mut Vec<E>, len: usize, fill: E) {
    if v.len() != len {
        v.clear();
        v.resize(len, fill);
    }
}
