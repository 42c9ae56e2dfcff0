//! `xcorr._xcorr.Engine`: one xcorr [`Engine`] and the calls the Python layer makes on it.
//!
//! Every method takes arrays the Python layer has already promoted and made contiguous
//! (`xcorr/_arrays.py`), borrows them without a copy, releases the GIL while the library
//! computes, and returns numpy arrays that own the library's result vectors.

use crate::arrays::{self, Input};
use crate::errors::{released, to_py_err};
use crate::masked::{self, MaskPlanes};
use numpy::PyReadonlyArrayDyn;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;
use xcorr::matching::{Method, Sample, Tracker};
use xcorr::registration::{register_with, Normalization, RegisterOptions};
use xcorr::spec::{self, Mode, Op};
use xcorr::{ArrayView, Backend, Engine, Peak, PeakOptions, Precision, Shape};

/// One backend (and, on a GPU, one device with its plan cache), shared by every Python
/// thread that calls it: the library's engine is `Sync` and locks its plans itself.
#[pyclass(name = "Engine", module = "xcorr._xcorr", frozen)]
pub struct NativeEngine {
    engine: Engine,
}

/// A peak as Python receives it: `(row, col, score, y, x)`, `(y, x)` refined to subpixel.
type PeakRecord = (usize, usize, f64, f64, f64);

/// Two inputs of one element type, or a `TypeError`.
macro_rules! same_type {
    ($a:expr, $b:expr, |$x:ident, $y:ident| $body:expr) => {
        match ($a, $b) {
            (Input::F32($x), Input::F32($y)) => $body,
            (Input::F64($x), Input::F64($y)) => $body,
            (Input::C64($x), Input::C64($y)) => $body,
            (Input::C128($x), Input::C128($y)) => $body,
            _ => Err(PyTypeError::new_err(
                "both inputs must have the same dtype (the Python layer promotes them)",
            )),
        }
    };
}

/// Two real inputs of one element type (matching takes real images), or a `TypeError`.
macro_rules! same_real_type {
    ($a:expr, $b:expr, |$x:ident, $y:ident| $body:expr) => {
        match ($a, $b) {
            (Input::F32($x), Input::F32($y)) => $body,
            (Input::F64($x), Input::F64($y)) => $body,
            _ => Err(PyTypeError::new_err(
                "template matching takes real images of one dtype, float32 or float64",
            )),
        }
    };
}

#[pymethods]
impl NativeEngine {
    /// An engine on `backend`: `"auto"`, `"cpu"` or `"gpu"`, with the library's default
    /// precision.
    #[new]
    fn new(py: Python<'_>, backend: &str) -> PyResult<Self> {
        let backend: Backend = backend.parse().map_err(to_py_err)?;
        let engine = released(py, || Engine::with_backend(backend))?;
        Ok(NativeEngine { engine })
    }

    /// The same device and plan cache with `precision` (`"double"` or `"single"`): how
    /// float64 work runs on a GPU (`Engine::with_precision`).
    fn with_precision(&self, precision: &str) -> PyResult<Self> {
        let precision: Precision = precision.parse().map_err(to_py_err)?;
        Ok(NativeEngine {
            engine: self.engine.clone().with_precision(precision),
        })
    }

    /// `"cpu"` or `"gpu"`: where this engine runs.
    #[getter]
    fn backend(&self) -> &'static str {
        self.engine.backend_label()
    }

    /// The device: the GPU adapter and its API, or the CPU and its thread count.
    #[getter]
    fn device(&self) -> String {
        match self.engine.gpu_context() {
            Some(ctx) => ctx.describe(),
            None => self.engine.backend_name(),
        }
    }

    /// Why an `"auto"` engine runs on the CPU, or `None`.
    #[getter]
    fn fallback_reason(&self) -> Option<String> {
        self.engine.fallback_reason().map(str::to_string)
    }

    /// Correlate (or, with `convolve`, convolve) `in1` with `in2` in `mode`.
    #[pyo3(signature = (in1, in2, mode, centered, convolve))]
    fn correlate<'py>(
        &self,
        py: Python<'py>,
        in1: &Bound<'py, PyAny>,
        in2: &Bound<'py, PyAny>,
        mode: &str,
        centered: bool,
        convolve: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mode = parse_mode(mode, centered)?;
        let op = if convolve {
            Op::Convolve
        } else {
            Op::Correlate
        };
        let (a, b) = (Input::extract(in1, "in1")?, Input::extract(in2, "in2")?);
        same_type!(&a, &b, |a, b| {
            let (a, b) = (arrays::view(a, "in1")?, arrays::view(b, "in2")?);
            let out = released(py, || self.engine.compute(op, a, b, mode))?;
            Ok(arrays::to_numpy(py, out))
        })
    }

    /// OpenCV's `matchTemplate` map of `template` over `image`: `image` `(C, H, W)` and
    /// `template` `(C, h, w)` as planes (grey is one), `mask` `(1 or C, h, w)` planes of
    /// their dtype or None; `binary` reads the mask as OpenCV reads a `uint8` one (nonzero
    /// is 1).
    fn match_template<'py>(
        &self,
        py: Python<'py>,
        image: &Bound<'py, PyAny>,
        template: &Bound<'py, PyAny>,
        mask: Option<&Bound<'py, PyAny>>,
        binary: bool,
        method: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (a, b, method) = matching_args(image, template, method, "image")?;
        same_real_type!(&a, &b, |a, b| {
            let map = on_planes(py, a, b, mask, binary, |scene, template, mask| {
                masked::match_map(&self.engine, scene, template, mask, method)
            })?;
            Ok(arrays::to_numpy(py, map))
        })
    }

    /// The best `count` matches of [`Self::match_template`], at least `min_distance` apart,
    /// best first, as `(row, col, score, y, x)` with `(y, x)` refined to subpixel precision.
    #[allow(clippy::too_many_arguments)]
    fn match_peaks<'py>(
        &self,
        py: Python<'py>,
        image: &Bound<'py, PyAny>,
        template: &Bound<'py, PyAny>,
        mask: Option<&Bound<'py, PyAny>>,
        binary: bool,
        method: &Bound<'py, PyAny>,
        count: usize,
        min_distance: f64,
    ) -> PyResult<Vec<PeakRecord>> {
        let (a, b, method) = matching_args(image, template, method, "image")?;
        let options = peak_options(count, min_distance)?;
        let found = same_real_type!(&a, &b, |a, b| {
            on_planes(py, a, b, mask, binary, |scene, template, mask| {
                masked::match_peaks(&self.engine, scene, template, mask, method, &options)
            })
        })?;
        Ok(records(found))
    }

    /// scikit-image's masked `phase_cross_correlation`: the `(dy, dx)` shift of 2-D real
    /// images, masks of their dtype (nonzero is valid; `moving_mask` None uses the
    /// reference's).
    fn phase_cross_correlation_masked<'py>(
        &self,
        py: Python<'py>,
        reference: &Bound<'py, PyAny>,
        moving: &Bound<'py, PyAny>,
        reference_mask: &Bound<'py, PyAny>,
        moving_mask: Option<&Bound<'py, PyAny>>,
        overlap_ratio: f64,
    ) -> PyResult<(f64, f64)> {
        let (a, b) = (
            Input::extract(reference, "reference_image")?,
            Input::extract(moving, "moving_image")?,
        );
        same_real_type!(&a, &b, |a, b| {
            let ma = like(reference_mask, a, "reference_mask")?;
            let mb = moving_mask.map(|m| like(m, b, "moving_mask")).transpose()?;
            let (a, b) = (
                arrays::view(a, "reference_image")?,
                arrays::view(b, "moving_image")?,
            );
            let ma = arrays::view(&ma, "reference_mask")?;
            let mb = mb
                .as_ref()
                .map(|m| arrays::view(m, "moving_mask"))
                .transpose()?;
            released(py, || {
                masked::register(&self.engine, a, b, ma, mb, overlap_ratio)
            })
        })
    }

    /// scikit-image's `phase_cross_correlation`: `((dy, dx), error, phasediff)`.
    fn phase_cross_correlation<'py>(
        &self,
        py: Python<'py>,
        reference: &Bound<'py, PyAny>,
        moving: &Bound<'py, PyAny>,
        upsample_factor: usize,
        phase: bool,
    ) -> PyResult<((f64, f64), f64, f64)> {
        let options = RegisterOptions {
            upsample: upsample_factor,
            normalization: if phase {
                Normalization::Phase
            } else {
                Normalization::None
            },
            ..RegisterOptions::default()
        };
        let (a, b) = (
            Input::extract(reference, "reference_image")?,
            Input::extract(moving, "moving_image")?,
        );
        let found = same_type!(&a, &b, |a, b| {
            let a = arrays::view(a, "reference_image")?;
            let b = arrays::view(b, "moving_image")?;
            released(py, || register_with(&self.engine, a, b, &options))
        })?;
        Ok((found.shift, found.error, found.phase_difference))
    }

    /// The best match of `template` in each frame of a stack: an `(N, 3)` float64 array of
    /// `row, col, score`. `frames` `(N·C, H, W)`, the frames' planes one after another,
    /// `template` `(C, h, w)`, `mask` as [`Self::match_template`] takes it. The template side
    /// is prepared once.
    fn track<'py>(
        &self,
        py: Python<'py>,
        frames: &Bound<'py, PyAny>,
        template: &Bound<'py, PyAny>,
        mask: Option<&Bound<'py, PyAny>>,
        binary: bool,
        method: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (a, b, method) = matching_args(frames, template, method, "frames")?;
        let found = same_real_type!(&a, &b, |a, b| {
            on_planes(py, a, b, mask, binary, |planes, template, mask| {
                masked::track(&self.engine, planes, template, mask, method)
            })
        })?;
        Ok(peak_table(py, &found))
    }

    /// The `matchTemplate` map of `template` over each frame of an `(N, H, W)` stack: an
    /// `(N, H − h + 1, W − w + 1)` array. The template's spectrum is computed once.
    fn match_stack<'py>(
        &self,
        py: Python<'py>,
        frames: &Bound<'py, PyAny>,
        template: &Bound<'py, PyAny>,
        method: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (a, b, method) = matching_args(frames, template, method, "frames")?;
        same_real_type!(&a, &b, |a, b| {
            let (shape, frames) = arrays::frames(a, "frames")?;
            let template = arrays::view(b, "template")?;
            let (maps, dims) = released(py, || {
                match_stack(&self.engine, &frames, shape, template, method)
            })?;
            Ok(arrays::shaped_to_numpy(py, maps, &dims))
        })
    }
}

/// One peak per frame as Python's `(N, 3)` float64 table of `row, col, score`.
fn peak_table<'py>(py: Python<'py>, peaks: &[Peak]) -> Bound<'py, PyAny> {
    let table = peaks
        .iter()
        .flat_map(|p| [p.row as f64, p.col as f64, p.score])
        .collect();
    arrays::shaped_to_numpy(py, table, &[peaks.len(), 3])
}

/// Every frame's map, stacked as one `(N, rows, cols)` array.
fn match_stack<T: Sample>(
    engine: &Engine,
    frames: &[ArrayView<'_, T>],
    frame_shape: Shape,
    template: ArrayView<'_, T>,
    method: Method,
) -> xcorr::Result<(Vec<T>, [usize; 3])> {
    let tracker = Tracker::new(engine, template, frame_shape, method)?;
    let ([rows, cols], [h, w]) = (frame_shape.axes(), template.shape().axes());
    let dims = [frames.len(), rows + 1 - h, cols + 1 - w];
    let mut data = Vec::with_capacity(dims.iter().product());
    for frame in frames {
        data.extend_from_slice(tracker.match_frame(*frame)?.data());
    }
    Ok((data, dims))
}

/// What every matching call starts from: its image (`what` names it) and template, and the
/// method.
fn matching_args<'py>(
    image: &Bound<'py, PyAny>,
    template: &Bound<'py, PyAny>,
    method: &Bound<'py, PyAny>,
    what: &str,
) -> PyResult<(Input<'py>, Input<'py>, Method)> {
    let method = parse_method(method)?;
    Ok((
        Input::extract(image, what)?,
        Input::extract(template, "template")?,
        method,
    ))
}

/// `count` peaks at least `min_distance` apart (a finite distance, at least 0).
fn peak_options(count: usize, min_distance: f64) -> PyResult<PeakOptions> {
    if !min_distance.is_finite() || min_distance < 0.0 {
        return Err(PyValueError::new_err(format!(
            "min_distance must be a finite number >= 0, got {min_distance}"
        )));
    }
    Ok(PeakOptions {
        count,
        min_distance,
        ..PeakOptions::default()
    })
}

/// Peaks as Python receives them.
fn records(peaks: Vec<Peak>) -> Vec<PeakRecord> {
    peaks
        .into_iter()
        .map(|p| {
            let (y, x) = p.position();
            (p.row, p.col, p.score, y, x)
        })
        .collect()
}

/// `obj` borrowed as an array of `like`'s dtype (the Python layer converts masks to the
/// images' dtype), or a `TypeError` naming `what`.
fn like<'py, T: numpy::Element>(
    obj: &Bound<'py, PyAny>,
    _like: &PyReadonlyArrayDyn<'py, T>,
    what: &str,
) -> PyResult<PyReadonlyArrayDyn<'py, T>> {
    obj.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} must have the images' dtype (the Python layer converts it)"
        ))
    })
}

/// Run `work` on the planes of `(C, H, W)` image and template stacks and an optional
/// `(1 or C, h, w)` mask stack, with the GIL released.
fn on_planes<'py, T, R>(
    py: Python<'py>,
    image: &PyReadonlyArrayDyn<'py, T>,
    template: &PyReadonlyArrayDyn<'py, T>,
    mask: Option<&Bound<'py, PyAny>>,
    binary: bool,
    work: impl FnOnce(
            &[ArrayView<'_, T>],
            &[ArrayView<'_, T>],
            Option<&MaskPlanes<'_, T>>,
        ) -> xcorr::Result<R>
        + Send,
) -> PyResult<R>
where
    T: Sample + numpy::Element,
    R: Send,
{
    let mask = mask.map(|m| like(m, image, "mask")).transpose()?;
    let (_, scene) = arrays::frames(image, "image")?;
    let (_, template) = arrays::frames(template, "template")?;
    let mask = match &mask {
        Some(m) => Some(MaskPlanes {
            planes: arrays::frames(m, "mask")?.1,
            binary,
        }),
        None => None,
    };
    released(py, || work(&scene, &template, mask.as_ref()))
}

/// The GPU adapters this machine offers, one line each.
#[pyfunction]
pub fn devices(py: Python<'_>) -> PyResult<Vec<String>> {
    released(py, || Ok(xcorr::gpu::list_adapters()))
}

/// Per axis, the lag of each output index of a correlation of shapes `in1` and `in2` in
/// `mode`: one list for 1-D shapes, two for 2-D.
#[pyfunction]
pub fn correlation_lags(
    in1_shape: Vec<usize>,
    in2_shape: Vec<usize>,
    mode: &str,
    centered: bool,
) -> PyResult<Vec<Vec<isize>>> {
    let mode = parse_mode(mode, centered)?;
    let a = Shape::from_dims(&in1_shape).map_err(to_py_err)?;
    let b = Shape::from_dims(&in2_shape).map_err(to_py_err)?;
    spec::lags(Op::Correlate, mode, a, b).map_err(to_py_err)
}

/// `full`, `same`, `valid` or `circular`; `centered` only with `circular`.
fn parse_mode(mode: &str, centered: bool) -> PyResult<Mode> {
    match (mode.parse::<Mode>().map_err(to_py_err)?, centered) {
        (Mode::Circular { .. }, true) => Ok(Mode::CIRCULAR_CENTRED),
        (mode, false) => Ok(mode),
        (mode, true) => Err(PyValueError::new_err(format!(
            "centered=True applies to mode='circular' only, not mode='{mode}'"
        ))),
    }
}

/// A method name (`"ccoeff_normed"`, `"TM_CCOEFF_NORMED"`, `"ccoeff-normed"`) or OpenCV's
/// integer constant (`cv2.TM_CCOEFF_NORMED` = 5): `Method::ALL` is in OpenCV's order.
fn parse_method(method: &Bound<'_, PyAny>) -> PyResult<Method> {
    if let Ok(name) = method.cast::<PyString>() {
        return name.to_str()?.parse().map_err(to_py_err);
    }
    if let Ok(number) = method.extract::<i64>() {
        return usize::try_from(number)
            .ok()
            .and_then(|i| Method::ALL.get(i).copied())
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "unknown method {number}: OpenCV's constants run from 0 (TM_SQDIFF) to 5 \
                     (TM_CCOEFF_NORMED)"
                ))
            });
    }
    Err(PyTypeError::new_err(format!(
        "method must be a name such as 'ccoeff_normed' or one of OpenCV's cv2.TM_* integers, \
         got {}",
        method.get_type()
    )))
}
