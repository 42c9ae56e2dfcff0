#![doc = include_str!("../README.md")]

pub mod array;
pub mod cpu;
pub mod engine;
pub mod error;
#[cfg(feature = "gpu")]
pub mod gpu;
#[cfg(any(feature = "npy", feature = "image"))]
pub mod io;
mod plan_cache;
pub mod reference;
pub mod spec;
pub mod vision;

pub use vision::{matching, peaks, registration, window_sums};

pub use array::{Array, ArrayView, Element, Real, Shape};
pub use engine::{Backend, Engine, Prepared};
pub use error::{Error, Result};
pub use matching::{match_template, Method, Scene, Tracker};
pub use peaks::{Extremum, Peak};
pub use registration::{register, RegisterOptions, Registrar, Registration};
pub use spec::{Mode, Op};
