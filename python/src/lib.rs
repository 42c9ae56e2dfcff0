//! `xcorr._xcorr`: the native half of the `xcorr` Python package.
//!
//! The Python half (`python/xcorr/`) gives the public signatures, promotes dtypes and makes
//! arrays contiguous; this half borrows those arrays, calls the library with the GIL
//! released, and maps its errors to Python exceptions. No correlation, matching or
//! registration maths lives here: it is all the library's.

mod arrays;
mod engine;
mod errors;
mod masked;

use pyo3::prelude::*;

#[pymodule]
fn _xcorr(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<engine::NativeEngine>()?;
    module.add_function(wrap_pyfunction!(engine::devices, module)?)?;
    module.add_function(wrap_pyfunction!(engine::correlation_lags, module)?)?;
    Ok(())
}
