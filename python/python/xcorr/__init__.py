"""xcorr: cross-correlation, convolution, template matching and image registration through
FFTs, on any GPU that wgpu reaches (Vulkan, Metal, DX12, GL) or on the CPU.

The functions take the names and signatures of the libraries they stand in for:

* :func:`correlate`, :func:`convolve`, :func:`correlation_lags`: ``scipy.signal``'s, equal
  to scipy element for element in modes ``full``, ``same`` and ``valid``, plus ``circular``.
* :func:`match_template`, :func:`match_peaks`: OpenCV's ``cv2.matchTemplate`` (its six
  methods, by name or ``cv2.TM_*`` constant).
* :func:`phase_cross_correlation`: ``skimage.registration``'s, returning what it returns.
* :class:`Engine`: a backend choice with all of the above as methods, plus
  :meth:`Engine.track` for a stack of frames; :func:`devices` lists the GPU adapters.
* :mod:`xcorr.dask`: tracking and matching over a Dask array of frames.

Arrays are 1-D or 2-D (frames stacks 3-D; colour images for matching (H, W, C), their
stacks 4-D), of bool, integer, float or complex dtype; see
each function for how dtypes are promoted. Bad input raises ValueError (shapes, modes,
NaN or infinity) or TypeError (dtypes), with the library's message.
"""

from __future__ import annotations

import operator
import threading
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _xcorr
from ._engine import PEAK_DTYPE, Engine, MethodLike, _mode

__all__ = [
    "Engine",
    "PEAK_DTYPE",
    "convolve",
    "correlate",
    "correlation_lags",
    "devices",
    "match_peaks",
    "match_template",
    "phase_cross_correlation",
]
__version__ = "0.1.0"

_engines: Dict[Tuple[str, str], Engine] = {}
_engines_lock = threading.Lock()


def _default_engine(backend: Optional[str], precision: str) -> Engine:
    """The module's engine for a backend choice (None is "auto"), made on first use."""
    key = ("auto" if backend is None else backend, precision)
    with _engines_lock:
        engine = _engines.get(key)
    if engine is None:
        engine = Engine(key[0], precision=precision)
        with _engines_lock:
            engine = _engines.setdefault(key, engine)
    return engine


def correlate(
    in1: Any,
    in2: Any,
    mode: str = "full",
    *,
    centered: bool = False,
    backend: Optional[str] = None,
    precision: str = "double",
) -> np.ndarray:
    """Cross-correlate two 1-D or 2-D arrays, as ``scipy.signal.correlate``.

    ``out[k] = sum_n in1[n + k] * conj(in2[n])``: the second input is conjugated, and if
    `in1` holds `in2` shifted by ``s`` the peak is at lag ``s`` (see
    :func:`correlation_lags` for the lag of each output index).

    Parameters
    ----------
    in1, in2 : array_like
        1-D or 2-D, both of the same dimensionality.
    mode : {"full", "same", "valid", "circular"}
        ``full``, ``same`` and ``valid`` equal scipy's output element for element (``same``
        has `in1`'s shape, cut from ``full`` at ``(M - 1) // 2`` per axis; ``valid`` needs
        one input at least as large as the other on every axis). ``circular`` is the DFT
        identity ``ifft(fft(in1) * conj(fft(in2)))`` at `in1`'s shape, `in2` zero-padded at
        its end (it may not be larger than `in1`).
    centered : bool
        ``circular`` only: `in2`'s origin is its centre element (index ``M // 2`` per
        axis), so correlating with a centred unit impulse returns `in1`.
    backend : {None, "auto", "cpu", "gpu"}
        None is ``"auto"``: a hardware GPU if there is one, else the CPU.
    precision : {"double", "single"}
        What float64 input does on a GPU (see :class:`Engine`): ``"double"`` refuses it on
        ``backend="gpu"``; ``"single"`` computes it in float32 and returns float64.

    Returns
    -------
    numpy.ndarray
        float32 for float32 inputs, float64 for float64, complex64 and complex128 likewise;
        mixed inputs take numpy's common type (float32 with complex64 is complex64, float32
        with float64 is float64). bool and integer inputs are promoted to float64 (as
        scipy's FFT method returns), float16 to float32. A real result for real inputs.

    Raises
    ------
    ValueError
        Arrays that are not 1-D or 2-D, of different dimensionality, empty, or of shapes
        the mode does not allow; NaN or infinity in an input; an unknown mode.
    TypeError
        An input that is not an array of numbers (strings, objects), or wider than
        float64/complex128.

    Examples
    --------
    >>> import numpy as np, xcorr
    >>> xcorr.correlate(np.ones(5), np.ones(3), "same")
    array([2., 3., 3., 3., 2.])
    """
    return _default_engine(backend, precision).correlate(in1, in2, mode, centered=centered)


def convolve(
    in1: Any,
    in2: Any,
    mode: str = "full",
    *,
    centered: bool = False,
    backend: Optional[str] = None,
    precision: str = "double",
) -> np.ndarray:
    """Convolve two 1-D or 2-D arrays, as ``scipy.signal.convolve``.

    ``out[k] = sum_n in1[n] * in2[k - n]`` (no conjugation). Modes, dtypes, arguments and
    errors as :func:`correlate`; ``centered`` (``circular`` only) puts `in2`'s origin at its
    centre element, so convolving with a centred unit impulse returns `in1`.

    Examples
    --------
    >>> import numpy as np, xcorr
    >>> xcorr.convolve([1.0, 2.0, 3.0], [0.0, 1.0, 0.5])
    array([0. , 1. , 2.5, 4. , 1.5])
    """
    return _default_engine(backend, precision).convolve(in1, in2, mode, centered=centered)


def correlation_lags(
    in1_shape: Union[int, Sequence[int]],
    in2_shape: Union[int, Sequence[int]],
    mode: str = "full",
    *,
    centered: bool = False,
) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """The lag of each output index of :func:`correlate`, as ``scipy.signal.correlation_lags``.

    For 1-D lengths (ints, or 1-tuples) an int64 array; for 2-D shapes a tuple of two
    arrays, the lags along rows and along columns. Computed from the same arithmetic that
    cuts :func:`correlate`'s output, so ``correlate(a, b, mode)[i]`` is the sum at lag
    ``correlation_lags(len(a), len(b), mode)[i]`` in every mode, including ``same`` with
    odd N and even M, where scipy's own ``correlation_lags`` is off by one (``(7, 4,
    "same")``: xcorr says -2..4, as scipy's ``correlate`` computes; scipy's lags say
    -1..5). ``circular`` gives the lags modulo N: 0..N-1, or from ``-(M // 2)`` with
    ``centered``.

    Examples
    --------
    >>> import xcorr
    >>> xcorr.correlation_lags(7, 4, "same")
    array([-2, -1,  0,  1,  2,  3,  4])
    """
    a, one_d_a = _shape(in1_shape, "in1_shape")
    b, one_d_b = _shape(in2_shape, "in2_shape")
    lags = _xcorr.correlation_lags(a, b, _mode(mode), bool(centered))
    arrays = [np.asarray(axis, dtype=np.int64) for axis in lags]
    if one_d_a and one_d_b:
        return arrays[0]
    return tuple(arrays)  # type: ignore[return-value]


def match_template(
    image: Any,
    template: Any,
    method: MethodLike = "ccoeff_normed",
    *,
    mask: Any = None,
    backend: Optional[str] = None,
    precision: str = "double",
) -> np.ndarray:
    """Slide `template` over `image` and score every placement, as ``cv2.matchTemplate``.

    Parameters
    ----------
    image : array_like, (H, W), or (H, W, C) in colour
    template : array_like, (h, w), no larger than `image`; (h, w, C) for a colour image
    method : str or int
        OpenCV's method, by name without the ``TM_`` prefix (``"sqdiff"``,
        ``"sqdiff_normed"``, ``"ccorr"``, ``"ccorr_normed"``, ``"ccoeff"``,
        ``"ccoeff_normed"``; case, ``-`` for ``_`` and a ``TM_`` prefix are accepted) or
        OpenCV's integer constant (``cv2.TM_SQDIFF`` = 0 ... ``cv2.TM_CCOEFF_NORMED`` = 5).
        OpenCV's formulas; the best match is the minimum for ``sqdiff*``, else the maximum.
    mask : array_like, (h, w) or (h, w, C), optional
        OpenCV's mask: the template's shape, one plane for every channel or one per channel.
        bool or uint8 is binary (any nonzero value is 1, as OpenCV reads a uint8 mask);
        float holds weights (OpenCV's formulas: ``m**2`` in the products, ``m`` in the
        means). Values must be finite and non-negative, and not all zero. A colour
        template's scores sum over the channels, with or without a mask.
    backend, precision
        As :func:`correlate`.

    Returns
    -------
    numpy.ndarray, (H - h + 1, W - w + 1)
        Element ``(y, x)`` scores the template with its top-left corner at ``(y, x)``.
        float32 when both inputs are float32 or narrower (uint8, int8, uint16, int16, bool,
        float16: as OpenCV, which takes uint8 and float32 and returns float32); float64 when
        either is float64 or a 32/64-bit integer. Normalised scores are clamped to their
        range; where a normalised method's denominator vanishes (a flat window or template)
        the score is a documented finite number, never NaN (see the library's docs).

    Raises
    ------
    ValueError
        Not 2-D (or 1-D, or colour) arrays, a template larger than the image, NaN or
        infinity, an unknown method name or number; a mask of the wrong shape or channel
        count, negative, NaN or all zero.
    TypeError
        Complex or non-numeric input, a method that is neither a string nor an integer, a
        mask that is not bool, uint8 or float.
    """
    return _default_engine(backend, precision).match_template(image, template, method, mask=mask)


def match_peaks(
    image: Any,
    template: Any,
    method: MethodLike = "ccoeff_normed",
    *,
    count: int = 1,
    min_distance: float = 0.0,
    mask: Any = None,
    backend: Optional[str] = None,
    precision: str = "double",
) -> np.ndarray:
    """The best matches of `template` in `image`, best first.

    Scores (and `mask`, colour) as :func:`match_template`; the `count` best placements, each at least
    `min_distance` (Chebyshev distance, in pixels) from every better one (greedy
    non-maximum suppression; 0 or 1 suppress nothing). On a GPU the peak search runs on the
    device and only the peaks are read back.

    Returns
    -------
    numpy.ndarray
        A structured array of dtype :data:`PEAK_DTYPE`: ``row``, ``col`` (the template's
        top-left corner), ``score``, and ``y``, ``x``: the position refined to subpixel
        precision by a parabola fit along each axis.
    """
    return _default_engine(backend, precision).match_peaks(
        image, template, method, count=count, min_distance=min_distance, mask=mask
    )


def phase_cross_correlation(
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
    backend: Optional[str] = None,
    precision: str = "double",
) -> Tuple[np.ndarray, np.floating, np.floating]:
    """Register two images by phase correlation, as ``skimage.registration.phase_cross_correlation``.

    Parameters
    ----------
    reference_image, moving_image : array_like
        1-D or 2-D, of one shape; real or complex.
    upsample_factor : int
        Register to within ``1 / upsample_factor`` pixels (1 to 1000) by the upsampled DFT
        of Guizar-Sicairos et al. (2008).
    space : {"real", "fourier"}
        ``"fourier"``: the inputs are already the images' FFTs.
    normalization : {"phase", None}
        ``"phase"`` divides the cross-power spectrum by its magnitude (phase correlation);
        None keeps plain cross-correlation.
    reference_mask, moving_mask : array_like, optional
        scikit-image's masked registration (masked normalized cross-correlation, Padfield
        2012): nonzero (True) marks valid pixels; `moving_mask` defaults to
        `reference_mask` and, given, lets `moving_image` have another shape. Images must be
        real and 1-D or 2-D; pixels outside a mask take no part (NaN there is allowed).
        Masks must not be NaN, negative or all zero. As in scikit-image, this path ignores
        `upsample_factor`, `space` and `normalization`, and returns ``(shift, nan, nan)``
        with a float64 integer-pixel (or half-pixel) shift.
    overlap_ratio : float
        With masks: lags whose overlap is below this fraction of the largest are left out
        (0 to 1).
    disambiguate
        scikit-image's; ``disambiguate=True`` raises NotImplementedError.
    backend, precision
        As :func:`correlate`.

    Returns
    -------
    shift : numpy.ndarray
        The shift (row, col order; one element for 1-D input) that, applied to
        `moving_image`, registers it with `reference_image`.
    error : numpy.floating
        scikit-image's translation-invariant normalised RMS error.
    phasediff : numpy.floating
        The global phase difference of the two images (0 for non-negative images).

    The types follow scikit-image: float32 (shift, error and phasediff) for float32 or
    complex64 input, float64 otherwise. xcorr computes on the CPU in float64 whatever the
    input (on a GPU in float32), so for float32 input its numbers can differ from
    scikit-image's float32 ones in the last digits.
    """
    return _default_engine(backend, precision).phase_cross_correlation(
        reference_image,
        moving_image,
        upsample_factor=upsample_factor,
        space=space,
        disambiguate=disambiguate,
        reference_mask=reference_mask,
        moving_mask=moving_mask,
        overlap_ratio=overlap_ratio,
        normalization=normalization,
    )


def devices() -> List[str]:
    """The GPU adapters wgpu finds on this machine, one description each (name, API,
    device type and limits); empty when there is none."""
    return _xcorr.devices()


def _shape(shape: Any, name: str) -> Tuple[List[int], bool]:
    """A shape argument as a list of ints, and whether it was a 1-D length."""
    try:
        dims = [operator.index(shape)]
    except TypeError:
        try:
            dims = [operator.index(n) for n in shape]
        except TypeError:
            raise TypeError(f"{name} must be an int or a tuple of ints, got {shape!r}") from None
    if any(n < 0 for n in dims):
        raise ValueError(f"{name} must not be negative, got {shape!r}")
    return dims, len(dims) == 1

