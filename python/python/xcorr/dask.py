"""Template tracking and matching over a Dask array of frames, for stacks larger than one
machine holds or one machine computes soon enough.

Needs ``dask[array]`` (``pip install xcorr[dask]``, which also brings ``distributed``).
The frames are a ``dask.array.Array`` of shape ``(N, H, W)`` chunked along the first axis
(chunks along the other two are merged: a frame is matched whole). Each chunk becomes one
task, which runs :meth:`xcorr.Engine.track` (or the matching equivalent) on its frames
with the template's spectrum computed once per chunk. The engine travels to the workers
pickled as its backend choice, and each worker process builds its own engine once and
reuses it for all its tasks. Results are lazy dask arrays; ``.compute()`` them.

>>> import dask.array as da, numpy as np, xcorr.dask
>>> frames = da.random.random((100, 480, 640), chunks=(25, 480, 640)).astype(np.float32)
>>> template = frames[0, 200:248, 300:348].compute()
>>> xcorr.dask.track(frames, template).compute()[0]  # doctest: +SKIP
array([200., 300., 1.])
"""

from __future__ import annotations

import functools
from typing import Any, Optional

import numpy as np

from . import _arrays
from ._engine import Engine, MethodLike

try:
    import dask.array as da
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "xcorr.dask needs dask: pip install 'xcorr[dask]' (or dask[array])"
    ) from e

__all__ = ["track", "match_template"]


def track(
    frames: Any,
    template: Any,
    method: MethodLike = "ccorr_normed",
    *,
    backend: Optional[str] = None,
    precision: str = "double",
) -> "da.Array":
    """:meth:`xcorr.Engine.track` over a Dask array of frames.

    Returns a lazy ``(N, 3)`` float64 dask array of ``row, col, score`` per frame, chunked
    like `frames` along the first axis; equal to ``Engine(backend).track(frames.compute(),
    template, method)``.
    """
    frames, template, engine = _prepare(frames, template, backend, precision)
    work = functools.partial(_track_chunk, template=template, engine=engine, method=method)
    return frames.map_blocks(
        work, dtype=np.float64, drop_axis=2, chunks=(frames.chunks[0], (3,)), meta=np.empty((0, 0))
    )


def match_template(
    frames: Any,
    template: Any,
    method: MethodLike = "ccoeff_normed",
    *,
    backend: Optional[str] = None,
    precision: str = "double",
) -> "da.Array":
    """:func:`xcorr.match_template` of `template` over every frame of a Dask array.

    Returns a lazy ``(N, H - h + 1, W - w + 1)`` dask array of scores, chunked like
    `frames` along the first axis, float32 or float64 by :func:`xcorr.match_template`'s
    dtype rules.
    """
    frames, template, engine = _prepare(frames, template, backend, precision)
    dtype = _arrays.matching_dtype(np.empty(0, frames.dtype), template, "frames")
    rows = frames.shape[1] - template.shape[0] + 1
    cols = frames.shape[2] - template.shape[1] + 1
    if template.ndim != 2 or rows < 1 or cols < 1:
        raise ValueError(
            f"the template (shape {template.shape}) must be 2-D and fit in a frame "
            f"(shape {frames.shape[1:]})"
        )
    work = functools.partial(_match_chunk, template=template, engine=engine, method=method)
    return frames.map_blocks(
        work, dtype=dtype, chunks=(frames.chunks[0], (rows,), (cols,)), meta=np.empty((0, 0, 0), dtype)
    )


def _prepare(frames: Any, template: Any, backend: Optional[str], precision: str):
    frames = da.asarray(frames)
    if frames.ndim != 3:
        raise ValueError(f"frames must be a 3-D stack (N, H, W), got {frames.ndim}-D shape {frames.shape}")
    # A task matches whole frames: merge any chunking along rows and columns.
    frames = frames.rechunk({1: -1, 2: -1})
    template = _arrays.as_array(template, "template")
    engine = Engine("auto" if backend is None else backend, precision=precision)
    return frames, template, engine


def _track_chunk(chunk: np.ndarray, *, template: np.ndarray, engine: Engine, method: MethodLike) -> np.ndarray:
    return engine.track(chunk, template, method)


def _match_chunk(chunk: np.ndarray, *, template: np.ndarray, engine: Engine, method: MethodLike) -> np.ndarray:
    return engine._match_frames(chunk, template, method)
