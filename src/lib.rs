#![doc = include_str!("../README.md")]

pub mod array;
pub mod bench;
pub mod cli_vision;
pub mod cpu;
pub mod engine;
pub mod error;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod io;
pub mod matching;
pub mod peaks;
mod plan_cache;
pub mod reference;
pub mod registration;
pub mod spec;
mod upsample;
pub mod window_sums;

pub use array::{Array, ArrayView, Element, Real, Shape};
pub use engine::{Backend, Engine, Prepared};
pub use error::{Error, Result};
pub use matching::{match_template, Method, Scene, Tracker};
pub use peaks::{Extremum, Peak};
pub use registration::{register, RegisterOptions, Registrar, Registration};
pub use spec::{Mode, Op};
