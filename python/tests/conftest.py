"""Shared fixtures: the backends, seeded random arrays, the photographs in tests/data.

GPU tests run on whatever adapter wgpu finds (lavapipe, Mesa's software Vulkan driver, on
a machine without a GPU). Without one they skip, unless XCORR_REQUIRE_GPU=1: then they
fail, so that a CI run without a driver cannot pass by skipping them.
"""

import os
import pathlib

import numpy as np
import pytest

import xcorr

DATA = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data"


def gpu_engine():
    try:
        return xcorr.Engine("gpu")
    except RuntimeError as e:
        if os.environ.get("XCORR_REQUIRE_GPU") == "1":
            pytest.fail(f"XCORR_REQUIRE_GPU=1 but no GPU engine could be made: {e}")
        pytest.skip(f"no GPU adapter: {e}")


@pytest.fixture(params=["cpu", "gpu"])
def backend(request):
    """The backend name, after checking that it exists (see the module docstring)."""
    if request.param == "gpu":
        gpu_engine()
    return request.param


@pytest.fixture
def gpu():
    return gpu_engine()


@pytest.fixture
def rng(request):
    # A fresh seed per test, derived from its name: reproducible, and different per test.
    seed = sum(ord(c) * (i + 1) for i, c in enumerate(request.node.nodeid)) % (2**32)
    return np.random.default_rng(seed)


def random(rng, shape, dtype=np.float64):
    """Values in [-1, 1) (never all zeros); complex dtypes get a random imaginary part."""
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        x = rng.uniform(-1, 1, shape) + 1j * rng.uniform(-1, 1, shape)
    else:
        x = rng.uniform(-1, 1, shape)
    return x.astype(dtype)


def photo(name):
    """A photograph from tests/data as a grey uint8 array."""
    cv2 = pytest.importorskip("cv2")
    path = DATA / name
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert image is not None, f"could not read {path}"
    return image


def opencv_methods():
    """xcorr's method names and OpenCV's constants for them, in OpenCV's order (the
    calling test module is skipped without OpenCV)."""
    cv2 = pytest.importorskip("cv2")
    names = ["sqdiff", "sqdiff_normed", "ccorr", "ccorr_normed", "ccoeff", "ccoeff_normed"]
    return {name: getattr(cv2, "TM_" + name.upper()) for name in names}


def rel_l2(out, ref):
    """Relative L2 error, the measure the library's own tests use."""
    out = np.asarray(out, dtype=np.complex128)
    ref = np.asarray(ref, dtype=np.complex128)
    return np.linalg.norm(out - ref) / max(np.linalg.norm(ref), 1e-300)
