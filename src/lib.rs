#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
// One code base for native and the browser: on wasm32 the plans' `Arc`s hold WebGPU objects
// that are not `Send`/`Sync`, which is sound there because the page has one thread
// (see `shareable`).
#![cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]

pub mod array;
mod blocking;
mod convert;
pub mod cpu;
mod device;
pub mod engine;
pub mod error;
#[cfg(feature = "gpu")]
pub mod gpu;
#[cfg(any(feature = "npy", feature = "image"))]
pub mod io;
mod plan_cache;
mod range;
#[doc(hidden)] // the direct sums tests and benches trust; not part of the documented API
pub mod reference;
mod shareable;
pub mod spec;
pub mod vision;

pub use vision::{matching, peaks, registration, window_sums};

pub use array::{Array, ArrayView, Element, Real, Shape};
pub use engine::{Backend, Engine, Precision, Prepared};
pub use error::{Error, Result};
pub use matching::{
    match_peaks, match_peaks_async, match_template, match_template_async, Image, Mask, Method,
    Scene, Template, Tracker,
};
pub use peaks::{Extremum, Peak, PeakOptions};
pub use registration::{
    register, register_with, register_with_async, RegisterOptions, Registrar, Registration,
};
pub use spec::{Mode, Op, Pair};

/// The `num-complex` this crate's complex element types come from, so callers need not
/// match its version by hand.
pub use num_complex;
/// The `wgpu` this crate's GPU backend is built on (for [`gpu::GpuContext::from_device`] and
/// buffers handed to [`gpu::CorrelationPlan::encode`]), so callers need not match its
/// version by hand.
#[cfg(feature = "gpu")]
pub use wgpu;
