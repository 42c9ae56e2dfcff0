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
# engine's plan cache pays off across calls. Each precision is a view of that engine with
# its own float64 rule (same device, same plans). Native engines are thread-safe.
_native: dict = {}
_precisions: dict = {}
_native_lock = threading.Lock()

# What match_peaks returns: OpenCV's (row, col) top-left corner, the score, and the
# position refined to subpixel precision (parabola fit per axis).
PEAK_DTYPE = np.dtype(
    [("row", np.intp), ("col", np.intp), ("score", np.float64), ("y", np.float64), ("x", np.float64)]
)


def _native_engine(backend: str, precision: str) -> _NativeEngine:
    with _native_lock:
        engine = _precisions.get((backend, precision))
        if engine is None:
            base = _native.get(backend)
            if base is None:
                base = _native[backend] = _NativeEngine(backend)
            engine = _precisions[(backend, precision)] = base.with_precision(precision)
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
    ``precision="single"``: then the library converts it to float32 (complex64) on the way
    to the GPU and the result back to float64 (complex128), with float32's accuracy (about
    1e-6 relative). ``precision`` changes nothing on the CPU, which computes float64 in
    float64.

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
        self._native = _native_engine(backend, precision)

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

    def _check_precision(self, dtype: np.dtype) -> None:
        """Refuse float64 work on an explicit GPU engine of double precision, naming the
        Python argument that allows it (the library routes every other case itself)."""
        if _arrays.is_double(dtype) and self._choice == "gpu" and self._precision == "double":
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
        self._check_precision(dtype)
        return self._native.correlate(
            _arrays.ready(a, dtype), _arrays.ready(b, dtype), _mode(mode), bool(centered), convolve
        )

    # -- template matching ----------------------------------------------------------------

    def match_template(
        self, image: Any, template: Any, method: MethodLike = "ccoeff_normed", *, mask: Any = None
    ) -> np.ndarray:
        """OpenCV's ``matchTemplate`` map, as :func:`xcorr.match_template`."""
        image, template = self._matching_arrays(image, template)
        return self._native.match_template(*self._planes(image, template, mask), method)

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
        count = operator.index(count)
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        image, template = self._matching_arrays(image, template)
        planes = self._planes(image, template, mask)
        found = self._native.match_peaks(*planes, method, count, float(min_distance))
        return np.array(found, dtype=PEAK_DTYPE)

    def track(
        self, frames: Any, template: Any, method: MethodLike = "ccorr_normed", *, mask: Any = None
    ) -> np.ndarray:
        """The best match of `template` in every frame of a stack.

        `frames` is an ``(N, H, W)`` array, or ``(N, H, W, C)`` for a colour template
        ``(h, w, C)`` (or anything ``np.asarray`` makes one of); the template's spectrum is
        computed once for all of them. `mask` as :func:`xcorr.match_template` takes it.
        Returns an ``(N, 3)`` float64 array of ``row, col, score`` per frame: the
        template's top-left corner, as OpenCV's ``cv2.minMaxLoc(cv2.matchTemplate(frame,
        template, method, mask=mask))`` finds it (the minimum for ``sqdiff*``, else the
        maximum; the first in row-major order among equals). dtypes as
        :func:`xcorr.match_template`.
        """
        frames, template = self._matching_arrays(frames, template, "frames")
        if frames.ndim != template.ndim + 1 or template.ndim not in (2, 3):
            raise ValueError(
                "frames must be a 3-D stack of frames (N, H, W) for a grey template (h, w), or "
                f"(N, H, W, C) for a colour one (h, w, C); got frames of shape {frames.shape} "
                f"and a template of shape {template.shape}"
            )
        # Template and mask checked and converted as for one frame (a stand-in for none).
        first = frames[0] if len(frames) else np.zeros(frames.shape[1:], frames.dtype)
        _, template, mask, binary = self._planes(first, template, mask, "frames")
        planes = _planes_of_stack(_arrays.ready(frames, template.dtype))
        return self._native.track(planes, template, mask, binary, method)

    def _match_frames(self, frames: Any, template: Any, method: MethodLike) -> np.ndarray:
        """The ``(N, H-h+1, W-w+1)`` maps of a stack of frames (for :mod:`xcorr.dask`)."""
        frames, template = self._matching_arrays(frames, template, "frames")
        frames, template = self._matching_inputs(frames, template, "frames")
        return self._native.match_stack(frames, template, method)

    @staticmethod
    def _matching_arrays(image: Any, template: Any, name: str = "image"):
        return _arrays.as_array(image, name), _arrays.as_array(template, "template")

    def _matching_inputs(self, image: np.ndarray, template: np.ndarray, name: str = "image"):
        """Image and template in the dtype matching computes in, ready for the library."""
        dtype = _arrays.matching_dtype(image, template, name)
        self._check_precision(dtype)
        return _arrays.ready(image, dtype), _arrays.ready(template, dtype)

    def _planes(self, image: np.ndarray, template: np.ndarray, mask: Any, name: str = "image"):
        """The native planes call's arguments: image and template as ``(C, H, W)`` planes
        (grey is one), the mask as ``(1 or C, h, w)`` planes in their dtype or None, and
        whether the mask is binary (bool or uint8, as OpenCV reads a uint8 mask) or weights
        (a float mask)."""
        if image.ndim not in (2, 3) or template.ndim != image.ndim:
            raise ValueError(
                f"{name} and template must both be grey (H, W) or both colour (H, W, C); got a "
                f"{image.ndim}-D {name} of shape {image.shape} and a "
                f"{template.ndim}-D template of shape {template.shape}"
            )
        image, template = self._matching_inputs(image, template, name)
        binary = False
        if mask is not None:
            mask = _arrays.as_array(mask, "mask")
            if mask.dtype == np.bool_ or mask.dtype == np.uint8:
                binary = True
            elif mask.dtype.kind != "f":
                raise TypeError(
                    "mask must be bool or uint8 (binary: nonzero is 1) or float (weights), as "
                    f"OpenCV takes them; got dtype {mask.dtype}"
                )
            if mask.ndim not in (2, 3) or (mask.ndim == 3 and template.ndim == 2):
                raise ValueError(
                    f"mask must be (h, w), or (h, w, C) for a colour template (h, w, C); got "
                    f"shape {mask.shape} for a template of shape {template.shape}"
                )
            mask = _planes(_arrays.ready(mask, image.dtype))
        return _planes(image), _planes(template), mask, binary

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
            # As scikit-image: the masked path, which ignores the other arguments.
            return self._masked_registration(
                reference_image, moving_image, reference_mask, moving_mask, overlap_ratio
            )
        if disambiguate:
            raise NotImplementedError("disambiguate=True is not supported by xcorr")
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
        self._check_precision(dtype)
        (dy, dx), error, phasediff = self._native.phase_cross_correlation(
            _arrays.ready(reference, dtype),
            _arrays.ready(moving, dtype),
            upsample,
            normalization == "phase",
        )
        # scikit-image computes in the input's precision and returns its float type.
        real = _arrays.real_dtype(dtype).type
        shift = np.array([dy, dx] if reference.ndim == 2 else [dx], dtype=real)
        return shift, real(error), real(phasediff)


    def _masked_registration(
        self, reference: Any, moving: Any, reference_mask: Any, moving_mask: Any, overlap_ratio: Any
    ) -> Tuple[np.ndarray, float, float]:
        """scikit-image's masked path: ``(shift, nan, nan)``, shift float64 whatever the
        input (it is a mean of integer lags). Pixels outside a mask take no part, so they
        are set to 0 here: NaN there is allowed, as scikit-image allows it."""
        reference = _arrays.as_array(reference, "reference_image")
        moving = _arrays.as_array(moving, "moving_image")
        if reference_mask is None:
            raise ValueError("moving_mask without reference_mask: scikit-image needs reference_mask")
        dtype = _arrays.correlation_dtype(reference, moving)
        if dtype.kind == "c":
            raise ValueError("masked registration takes real images, not complex ones")
        self._check_precision(dtype)
        masks = [_registration_mask(reference_mask, "reference_mask")]
        if moving_mask is not None:
            masks.append(_registration_mask(moving_mask, "moving_mask"))
        if reference.ndim != moving.ndim or reference.ndim not in (1, 2):
            raise ValueError(
                "masked registration takes two 1-D or two 2-D images, got shapes "
                f"{reference.shape} and {moving.shape}"
            )
        images = [reference, moving]
        for i, (name, mask) in enumerate(zip(("reference_mask", "moving_mask"), masks)):
            if mask.shape != images[i].shape:
                raise ValueError(
                    f"{name} has shape {mask.shape}, its image {images[i].shape}: they must match"
                )
            images[i] = np.where(mask, images[i], 0)
        if moving_mask is None:
            if moving.shape != reference.shape:
                raise ValueError(
                    "without moving_mask the images must have one shape (reference_mask serves "
                    f"both), got {reference.shape} and {moving.shape}"
                )
            images[1] = np.where(masks[0], images[1], 0)
        overlap = float(overlap_ratio)
        # The library registers 2-D images: a 1-D signal is one row.
        as_2d = (lambda x: x) if reference.ndim == 2 else (lambda x: x[np.newaxis])
        ready = [_arrays.ready(as_2d(x), dtype) for x in images + masks]
        dy, dx = self._native.phase_cross_correlation_masked(
            ready[0], ready[1], ready[2], ready[3] if len(ready) > 3 else None, overlap
        )
        shift = np.array([dy, dx] if reference.ndim == 2 else [dx], dtype=np.float64)
        return shift, np.nan, np.nan


def _planes(x: np.ndarray) -> np.ndarray:
    """An ``(H, W)`` image as one plane ``(1, H, W)``, an ``(H, W, C)`` one as ``C``."""
    return np.ascontiguousarray(x[np.newaxis] if x.ndim == 2 else np.moveaxis(x, -1, 0))


def _planes_of_stack(frames: np.ndarray) -> np.ndarray:
    """``(N, H, W)`` frames as they are, ``(N, H, W, C)`` ones as ``N·C`` planes
    ``(N·C, H, W)``: each frame's channels one after another."""
    if frames.ndim == 3:
        return np.ascontiguousarray(frames)
    n, h, w, c = frames.shape
    return np.ascontiguousarray(np.moveaxis(frames, -1, 1)).reshape(n * c, h, w)


def _registration_mask(mask: Any, name: str) -> np.ndarray:
    """A registration mask as bool (nonzero is valid, as scikit-image reads it), refusing
    what cannot be a mask: NaN and negative values."""
    mask = _arrays.as_array(mask, name)
    if mask.dtype.kind == "c":
        raise TypeError(f"{name} must be bool, integer or float, got dtype {mask.dtype}")
    if mask.dtype.kind == "f" and not np.isfinite(mask).all():
        raise ValueError(f"{name} has NaN or infinite values: a mask marks valid pixels")
    if mask.dtype.kind in "if" and (mask < 0).any():
        raise ValueError(f"{name} has negative values: a mask marks valid pixels with nonzero (True)")
    if not mask.any():
        raise ValueError(f"{name} is all zero: no pixel would be compared")
    return mask != 0


def _mode(mode: Any) -> str:
    if not isinstance(mode, str):
        raise TypeError(f"mode must be a string ('full', 'same', 'valid' or 'circular'), got {mode!r}")
    return mode


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
