//! numpy arrays in and out: borrowed as xcorr views without a copy, and results handed to
//! numpy without a copy.
//!
//! The Python layer (`xcorr/_arrays.py`) has already promoted the inputs to one of the four
//! element types and made them C-contiguous (copying only what was not), so here an input
//! either is such an array or is refused with a `TypeError`.

use crate::errors::to_py_err;
use num_complex::{Complex32, Complex64};
use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{IntoPyArray, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use xcorr::{Array, ArrayView, Shape};

/// An input array of one of the element types xcorr computes in, borrowed read-only.
pub enum Input<'py> {
    F32(PyReadonlyArrayDyn<'py, f32>),
    F64(PyReadonlyArrayDyn<'py, f64>),
    C64(PyReadonlyArrayDyn<'py, Complex32>),
    C128(PyReadonlyArrayDyn<'py, Complex64>),
}

impl<'py> Input<'py> {
    /// Borrow `obj`, which must be a numpy array of float32, float64, complex64 or
    /// complex128; `what` names it in the error.
    pub fn extract(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Self> {
        if let Ok(a) = obj.extract() {
            return Ok(Input::F32(a));
        }
        if let Ok(a) = obj.extract() {
            return Ok(Input::F64(a));
        }
        if let Ok(a) = obj.extract() {
            return Ok(Input::C64(a));
        }
        if let Ok(a) = obj.extract() {
            return Ok(Input::C128(a));
        }
        let found = obj
            .getattr("dtype")
            .map(|d| d.to_string())
            .unwrap_or_else(|_| obj.get_type().to_string());
        Err(PyTypeError::new_err(format!(
            "{what} must be a numpy array of float32, float64, complex64 or complex128, got {found}"
        )))
    }
}

/// The array as an xcorr view of the same memory; `what` names it in errors.
pub fn view<'a, T>(array: &'a PyReadonlyArrayDyn<'_, T>, what: &str) -> PyResult<ArrayView<'a, T>>
where
    T: numpy::Element + xcorr::Element,
{
    let shape = Shape::from_dims(array.shape()).map_err(to_py_err)?;
    let data = array
        .as_slice()
        .map_err(|e| PyValueError::new_err(format!("{what}: {e}")))?;
    ArrayView::new(data, shape).map_err(to_py_err)
}

/// A `(N, H, W)` stack as `N` views of `H × W` frames of the same memory.
pub fn frames<'a, T>(
    stack: &'a PyReadonlyArrayDyn<'_, T>,
    what: &str,
) -> PyResult<(Shape, Vec<ArrayView<'a, T>>)>
where
    T: numpy::Element + xcorr::Element,
{
    let &[count, rows, cols] = stack.shape() else {
        return Err(PyValueError::new_err(format!(
            "{what} must be a 3-D stack of frames (N, H, W), got {}-D shape {:?}",
            stack.ndim(),
            stack.shape()
        )));
    };
    let shape = Shape::d2(rows, cols);
    let data = stack
        .as_slice()
        .map_err(|e| PyValueError::new_err(format!("{what}: {e}")))?;
    let frames = (0..count)
        .map(|i| ArrayView::new(&data[i * shape.len()..(i + 1) * shape.len()], shape))
        .collect::<xcorr::Result<Vec<_>>>()
        .map_err(to_py_err)?;
    Ok((shape, frames))
}

/// Hand `array` to numpy as it is: its vector becomes the numpy array's memory.
pub fn to_numpy<T>(py: Python<'_>, array: Array<T>) -> Bound<'_, PyAny>
where
    T: numpy::Element + xcorr::Element,
{
    let dims = array.shape().dims();
    shaped_to_numpy(py, array.into_vec(), &dims)
}

/// `values`, row-major, as a numpy array of shape `dims` that owns them (no copy).
pub fn shaped_to_numpy<'py, T: numpy::Element>(
    py: Python<'py>,
    values: Vec<T>,
    dims: &[usize],
) -> Bound<'py, PyAny> {
    let array =
        ArrayD::from_shape_vec(IxDyn(dims), values).expect("the values fill the shape exactly");
    array.into_pyarray(py).into_any()
}
