#![doc = include_str!("../README.md")]

pub mod array;
pub mod bench;
pub mod cpu;
pub mod engine;
pub mod error;
#[cfg(feature = "gpu")]
pub mod gpu;
mod plan_cache;
pub mod reference;
pub mod spec;

pub use array::{Array, ArrayView, Element, Real, Shape};
pub use engine::{Backend, Engine, Prepared};
pub use error::{Error, Result};
pub use spec::{Mode, Op};
