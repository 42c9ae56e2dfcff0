pub mod array;
pub mod cpu;
pub mod engine;
pub mod error;
pub mod io;
pub mod reference;
pub mod spec;

pub use array::{Array, ArrayView, Element, Real, Shape};
pub use engine::{Backend, Engine, Prepared};
pub use error::{Error, Result};
pub use spec::{Mode, Op};
