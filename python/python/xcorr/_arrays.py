"""Which dtype xcorr computes a call in, and the inputs made ready for the native module.

xcorr computes in four element types: float32, float64, complex64 and complex128. Inputs
of other dtypes are promoted here, before the library sees them, by the rules the public
docstrings state. An input that already has the computing dtype and is C-contiguous is
passed on as it is (the native module reads its memory without a copy); any other is
copied once, by numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_C64 = np.dtype(np.complex64)
_C128 = np.dtype(np.complex128)


def as_array(x: Any, name: str) -> np.ndarray:
    """`x` as a numpy array of numbers, or a TypeError naming `name`."""
    array = np.asarray(x)
    if array.dtype.kind not in "biufc":
        raise TypeError(
            f"{name} must be an array of numbers (bool, integer, float or complex), "
            f"got dtype {array.dtype}"
        )
    if array.dtype.kind in "fc" and array.dtype.itemsize > (8 if array.dtype.kind == "f" else 16):
        raise TypeError(
            f"{name} has dtype {array.dtype}, wider than xcorr computes in; "
            "cast it to float64 or complex128 first"
        )
    return array


def correlation_dtype(*arrays: np.ndarray) -> np.dtype:
    """The dtype a correlation, convolution or registration of `arrays` computes in.

    numpy's common type of the inputs, with bool and integers promoted to float64 (as
    scipy's FFT method does) and float16 to float32.
    """
    common = np.result_type(*(a.dtype for a in arrays))
    if common.kind in "biu":
        return _F64
    if common == np.float16:
        return _F32
    return common


def matching_dtype(image: np.ndarray, template: np.ndarray, name: str = "image") -> np.dtype:
    """The dtype template matching computes in: float32 when both inputs are float32 or
    narrower (bool, uint8, int8, uint16, int16, float16: exact in float32, as OpenCV takes
    uint8 and float32 images and returns float32 scores); float64 when either is float64 or
    a 32- or 64-bit integer. Complex images are a TypeError, as in OpenCV."""
    wide = False
    for array, what in ((image, name), (template, "template")):
        dtype = array.dtype
        if dtype.kind == "c":
            raise TypeError(f"template matching takes real images, but {what} has dtype {dtype}")
        if dtype.itemsize > 4 or (dtype.kind in "iu" and dtype.itemsize > 2):
            wide = True
    return _F64 if wide else _F32


def real_dtype(dtype: np.dtype) -> np.dtype:
    """float32 for float32 and complex64, float64 for float64 and complex128."""
    return _F32 if dtype in (_F32, _C64) else _F64


def single(dtype: np.dtype) -> np.dtype:
    """The single-precision dtype of the same kind: float32 or complex64."""
    return _C64 if dtype.kind == "c" else _F32


def is_double(dtype: np.dtype) -> bool:
    """Whether `dtype` is float64 or complex128."""
    return dtype in (_F64, _C128)


def ready(array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`array` in `dtype`, C-contiguous and aligned: itself when it already is, else one
    copy. (Arrays unpickled from a byte stream, as Dask ships chunks, can be misaligned.)"""
    array = np.asarray(array, dtype=dtype, order="C")
    return array if array.flags.aligned else array.copy()
