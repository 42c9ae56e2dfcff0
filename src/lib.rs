pub mod array;
pub mod error;
pub mod io;
pub mod spec;

pub use array::{Array, ArrayView, Element, Real, Shape};
pub use error::{Error, Result};
pub use spec::{Mode, Op};
