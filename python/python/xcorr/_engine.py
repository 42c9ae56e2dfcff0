"""`Engine`: a backend choice, and every xcorr call as a method on it."""

from __future__ import annotations

import operator
import threading
from typing import Any, Optional, Tuple, Union

import numpy as np

from . import _arrays
from ._xcorr import Engine as _NativeEngine

MethodLike = Union[str, int]

_BACKENDS = ("auto", "cpu", "gpu")
_PRECISIONS = ("double", "single")

# One native engine per backend and process: a GPU context is costly to make, and an
# engine's plan cache pays off across calls. Native engines are thread-safe.
_native: dict = {}
_native_lock = threading.Lock()

# What match_peaks returns: OpenCV's (row, col) top-left corner, the score, and the
# position refined to subpixel precision (parabola fit per axis).
PEAK_DTYPE = np.dtype(
    [("row", np.intp), ("col", np.intp), ("score", np.float64), ("y", np.float64), ("x", np.float64)]
)


def _native_engine(backend: str) -> _NativeEngine:
    with _native_lock:
        engine = _native.get(backend)
        if engine is None:
            engine = _NativeEngine(backend)
            _native[backend] = engine
        return engine


def _restore(backend: str, precision: str) -> "Engine":
    """Unpickling: the process's own engine for the pickled backend choice."""
    return Engine(backend, precision=precision)


class Engine:
    """Where xcorr computes: ``backend="auto"`` (a hardware GPU if there is one, else the
    CPU), ``"cpu"`` (rustfft on every core, float32 and float64) or ``"gpu"`` (any adapter
    wgpu finds: Vulkan, Metal, DX12, GL; software ones such as lavapipe included).

    The GPU computes in float32. float64 and complex128 input goes to the CPU on an
    ``"auto"`` engine, and is refused with a ValueError on a ``"gpu"`` engine unless
    ``precision="single"``: then it is cast to float32 (complex64) for the GPU and the
    result is returned as float64 (complex128), with float32's accuracy (about 1e-6
    relative). ``precision`` changes nothing on the CPU, which computes float64 in float64.

    Engines of one backend share one device and one cache of plans per process, and may be
    called from many threads at once (the GIL is released while xcorr computes). An engine
    pickles as its backend choice and precision, not its device: unpickled in another
    process (a Dask worker, say) it uses that process's engine for the same choice, built
    once there.

    >>> import numpy as np, xcorr
    >>> engine = xcorr.Engine("cpu")
    >>> engine.correlate(np.ones(5), np.ones(3), "same")
    array([2., 3., 3., 3., 2.])
    """

    def __init__(self, backend: str = "auto", *, precision: str = "double") -> None:
        if backend not in _BACKENDS:
            raise ValueError(f"unknown backend {backend!r} (expected 'auto', 'cpu' or 'gpu')")
        if precision not in _PRECISIONS:
            raise ValueError(f"unknown precision {precision!r} (expected 'double' or 'single')")
        self._choice = backend
        self._precision = precision
        self._native = _native_engine(backend)

    def __reduce__(self) -> Tuple[Any, Tuple[str, str]]:
        return (_restore, (self._choice, self._precision))

    def __repr__(self) -> str:
        return (
            f"Engine(backend={self._choice!r}, precision={self._precision!r}) "
            f"on {self.backend}: {self.device}"
        )

    @property
    def backend(self) -> str:
        """``"cpu"`` or ``"gpu"``: where this engine runs (an ``"auto"`` engine says which)."""
        return self._native.backend

    @property
    def device(self) -> str:
        """The GPU adapter and its API (``"llvmpipe (LLVM 15.0.6, 256 bits) via Vulkan"``),
        or the CPU and its thread count."""
        return self._native.device

    @property
    def precision(self) -> str:
        """``"double"`` or ``"single"`` (see the class docstring)."""
        return self._precision

    @property
    def fallback_reason(self) -> Optional[str]:
        """Why an ``"auto"`` engine runs on the CPU (no adapter, or only a software one),
        or None."""
        return self._native.fallback_reason

    # -- precision ---------------------------------------------------------------------

    def _compute_dtype(self, dtype: np.dtype) -> np.dtype:
        """The dtype to hand the library for input of `dtype` (see the class docstring)."""
        if not _arrays.is_double(dtype) or self.backend != "gpu":
            return dtype
        if self._precision == "single":
            return _arrays.single(dtype)
        if self._choice == "auto":
            return dtype  # the library runs it on the CPU, in float64
        raise ValueError(
            f"{dtype} input on backend='gpu': the GPU computes in float32. Pass "
            "precision='single' to compute it in float32 and get float64 back, "
            "or use backend='cpu' (or 'auto') to compute in float64"
        )

    # -- correlation ---------------------------------------------------------------------

    def correlate(
        self, in1: Any, in2: Any, mode: str = "full", *, centered: bool = False
    ) -> np.ndarray:
        """Cross-correlate `in1` with `in2`, as :func:`xcorr.correlate`."""
        return self._correlate(in1, in2, mode, centered, convolve=False)

    def convolve(
        self, in1: Any, in2: Any, mode: str = "full", *, centered: bool = False
    ) -> np.ndarray:
        """Convolve `in1` with `in2`, as :func:`xcorr.convolve`."""
        return self._correlate(in1, in2, mode, centered, convolve=True)

    def _correlate(self, in1: Any, in2: Any, mode: str, centered: bool, convolve: bool) -> np.ndarray:
        a, b = _arrays.as_array(in1, "in1"), _arrays.as_array(in2, "in2")
        dtype = _arrays.correlation_dtype(a, b)
        compute = self._compute_dtype(dtype)
        out = self._native.correlate(
            _arrays.ready(a, compute), _arrays.ready(b, compute), _mode(mode), bool(centered), convolve
        )
        return out if compute == dtype else out.astype(dtype)

    # -- template matching ----------------------------------------------------------------

    def match_template(
        self, image: Any, template: Any, method: MethodLike = "ccoeff_normed", *, mask: Any = None
    ) -> np.ndarray:
        """OpenCV's ``matchTemplate`` map, as :func:`xcorr.match_template`."""
        _no_mask(mask)
        image, template, dtype, compute = self._matching_inputs(image, template)
        out = self._native.match_template(image, template, method)
        return out if compute == dtype else out.astype(dtype)

    def match_peaks(
        self,
        image: Any,
        template: Any,
        method: MethodLike = "ccoeff_normed",
        *,
        count: int = 1,
        min_distance: float = 0.0,
        mask: Any = None,
    ) -> np.ndarray:
        """The best matches, as :func:`xcorr.match_peaks`."""
        _no_mask(mask)
        count = operator.index(count)
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        image, template, _, _ = self._matching_inputs(image, template)
        found = self._native.match_peaks(image, template, method, count, float(min_distance))
        return np.array(found, dtype=PEAK_DTYPE)

    def track(self, frames: Any, template: Any, method: MethodLike = "ccorr_normed") -> np.ndarray:
        """The best match of `template` in every frame of a stack.

        `frames` is an ``(N, H, W)`` array (or anything ``np.asarray`` makes one of); the
        template's spectrum is computed once for all of them. Returns an ``(N, 3)`` float64
        array of ``row, col, score`` per frame: the template's top-left corner, as OpenCV's
        ``cv2.minMaxLoc(cv2.matchTemplate(frame, template, method))`` finds it (the minimum
        for ``sqdiff*``, else the maximum; the first in row-major order among equals).
        dtypes as :func:`xcorr.match_template`.
        """
        frames, template, _, _ = self._matching_inputs(frames, template, "frames")
        return self._native.track(frames, template, method)

    def _match_frames(self, frames: Any, template: Any, method: MethodLike) -> np.ndarray:
        """The ``(N, H-h+1, W-w+1)`` maps of a stack of frames (for :mod:`xcorr.dask`)."""
        frames, template, dtype, compute = self._matching_inputs(frames, template, "frames")
        out = self._native.match_stack(frames, template, method)
        return out if compute == dtype else out.astype(dtype)

    def _matching_inputs(self, image: Any, template: Any, name: str = "image"):
        image, template = _arrays.as_array(image, name), _arrays.as_array(template, "template")
        dtype = _arrays.matching_dtype(image, template, name)
        compute = self._compute_dtype(dtype)
        return _arrays.ready(image, compute), _arrays.ready(template, compute), dtype, compute

    # -- registration ---------------------------------------------------------------------

    def phase_cross_correlation(
        self,
        reference_image: Any,
        moving_image: Any,
        *,
        upsample_factor: int = 1,
        space: str = "real",
        disambiguate: bool = False,
        reference_mask: Any = None,
        moving_mask: Any = None,
        overlap_ratio: float = 0.3,
        normalization: Optional[str] = "phase",
    ) -> Tuple[np.ndarray, np.floating, np.floating]:
        """scikit-image's ``phase_cross_correlation``, as :func:`xcorr.phase_cross_correlation`."""
        if reference_mask is not None or moving_mask is not None:
            raise NotImplementedError(
                "masked registration (reference_mask=, moving_mask=: scikit-image's masked "
                "normalized cross-correlation) is not in this version of xcorr's library yet"
            )
        if disambiguate:
            raise NotImplementedError("disambiguate=True is not supported by xcorr")
        del overlap_ratio  # used by masked registration only, as in scikit-image
        if not isinstance(space, str) or space.lower() not in ("real", "fourier"):
            raise ValueError(f'space must be "real" or "fourier", got {space!r}')
        if normalization not in ("phase", None):
            raise ValueError(f'normalization must be "phase" or None, got {normalization!r}')
        upsample = _upsample_factor(upsample_factor)
        reference = _arrays.as_array(reference_image, "reference_image")
        moving = _arrays.as_array(moving_image, "moving_image")
        dtype = _arrays.correlation_dtype(reference, moving)
        if space.lower() == "fourier":
            # Spectra in: back to (complex) images, whose transforms the library takes.
            dtype = np.result_type(dtype, np.complex64)
            reference = np.fft.ifftn(reference).astype(dtype, copy=False)
            moving = np.fft.ifftn(moving).astype(dtype, copy=False)
        compute = self._compute_dtype(dtype)
        (dy, dx), error, phasediff = self._native.phase_cross_correlation(
            _arrays.ready(reference, compute),
            _arrays.ready(moving, compute),
            upsample,
            normalization == "phase",
        )
        # scikit-image computes in the input's precision and returns its float type.
        real = _arrays.real_dtype(dtype).type
        shift = np.array([dy, dx] if reference.ndim == 2 else [dx], dtype=real)
        return shift, real(error), real(phasediff)


def _mode(mode: Any) -> str:
    if not isinstance(mode, str):
        raise TypeError(f"mode must be a string ('full', 'same', 'valid' or 'circular'), got {mode!r}")
    return mode


def _no_mask(mask: Any) -> None:
    if mask is not None:
        raise NotImplementedError(
            "template matching with a mask (mask=, OpenCV's matchTemplate mask) is not in this "
            "version of xcorr's library yet"
        )


def _upsample_factor(value: Any) -> int:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    try:
        factor = operator.index(value)
    except TypeError:
        raise TypeError(f"upsample_factor must be an integer, got {value!r}") from None
    if factor < 1:
        raise ValueError(f"upsample_factor must be at least 1, got {factor}")
    return factor
