//! The boundary between xcorr's errors (and panics) and Python's exceptions.

use pyo3::exceptions::{PyMemoryError, PyRuntimeError, PyValueError};
use pyo3::{PyErr, Python};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// An xcorr error as the Python exception a numpy user expects, with the library's message:
/// bad input is a `ValueError`; a missing or failing device a `RuntimeError`; a job over its
/// memory limit a `MemoryError`. (Wrong dtypes are `TypeError`s, raised before the library
/// is called: the library only ever sees the four element types it takes.)
pub fn to_py_err(error: xcorr::Error) -> PyErr {
    use xcorr::Error as E;
    let message = error.to_string();
    match error {
        E::LengthMismatch { .. }
        | E::Empty { .. }
        | E::Dimensions(_)
        | E::ShapeMismatch(_)
        | E::NonFinite { .. }
        | E::OutOfRange(_)
        | E::InvalidArgument(_) => PyValueError::new_err(message),
        E::Memory { .. } => PyMemoryError::new_err(message),
        // BackendUnavailable, DeviceLimit, Gpu, File, and whatever a later version adds.
        _ => PyRuntimeError::new_err(message),
    }
}

/// Run `work` with the GIL released (other Python threads run meanwhile) and turn its
/// result into Python's terms. A panic is caught here, so that it reaches Python as a
/// `RuntimeError` naming it a bug rather than as pyo3's `PanicException`, which derives
/// from `BaseException` and escapes `except Exception`.
pub fn released<T, F>(py: Python<'_>, work: F) -> Result<T, PyErr>
where
    F: FnOnce() -> xcorr::Result<T> + Send,
    T: Send,
{
    py.detach(|| catch_unwind(AssertUnwindSafe(work)))
        .map_err(|payload| {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            PyRuntimeError::new_err(format!(
                "xcorr failed internally (a bug; please report it with the call that caused it): {what}"
            ))
        })?
        .map_err(to_py_err)
}
