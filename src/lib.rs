pub mod array;
pub mod error;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod spec;

pub use array::{Array, ArrayView, Element, Real, Shape};
pub use error::{Error, Result};
pub use spec::{Mode, Op};
