"""correlate, convolve and correlation_lags against scipy.signal, on both backends."""

import numpy as np
import pytest
import scipy.signal as ss

import xcorr
from conftest import random, rel_l2

# (in1 shape, in2 shape): odd and even, 1-D and 2-D, tall and wide, in2 larger than in1.
SHAPES_1D = [((1,), (1,)), ((7,), (4,)), ((8,), (3,)), ((16,), (16,)), ((31,), (6,)), ((5,), (12,)), ((257,), (33,))]
SHAPES_2D = [
    ((7, 5), (4, 2)),
    ((8, 6), (3, 3)),
    ((33, 9), (5, 4)),  # tall
    ((6, 40), (3, 7)),  # wide
    ((16, 16), (16, 16)),
    ((4, 5), (9, 11)),  # in2 larger on both axes
    ((1, 9), (1, 4)),
    ((65, 48), (12, 17)),
]
SHAPES = SHAPES_1D + SHAPES_2D
DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def tolerance(dtype, backend):
    """Relative L2 bound: f64 on the CPU is exact to rounding; f32 FFTs about 1e-6."""
    single = np.dtype(dtype) in (np.float32, np.complex64)
    return 1e-5 if single or backend == "gpu" else 1e-12


def reference(op, a, b, mode):
    """scipy's result, computed in complex128/float64 (the peers' own f32 rounding aside)."""
    wide = np.complex128 if np.iscomplexobj(a) or np.iscomplexobj(b) else np.float64
    return op(a.astype(wide), b.astype(wide), mode)


def gpu_ready(backend, dtype):
    """On the GPU, float64 runs only with precision='single' (the default refuses it)."""
    return dict(backend=backend, precision="single" if backend == "gpu" else "double")


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_correlate_equals_scipy(backend, rng, shapes, mode, dtype):
    a, b = random(rng, shapes[0], dtype), random(rng, shapes[1], dtype)
    out = xcorr.correlate(a, b, mode, **gpu_ready(backend, dtype))
    expected = reference(ss.correlate, a, b, mode)
    assert out.dtype == np.dtype(dtype)
    assert out.shape == expected.shape
    assert rel_l2(out, expected) < tolerance(dtype, backend)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.complex64], ids=lambda d: np.dtype(d).name)
def test_convolve_equals_scipy(backend, rng, shapes, mode, dtype):
    a, b = random(rng, shapes[0], dtype), random(rng, shapes[1], dtype)
    out = xcorr.convolve(a, b, mode, **gpu_ready(backend, dtype))
    expected = reference(ss.convolve, a, b, mode)
    assert out.dtype == np.dtype(dtype)
    assert out.shape == expected.shape
    assert rel_l2(out, expected) < tolerance(dtype, backend)


@pytest.mark.parametrize("shapes", [((9,), (4,)), ((12,), (12,)), ((9, 7), (4, 3)), ((10, 12), (5, 6))], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.complex128], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("centered", [False, True])
def test_circular_is_the_dft_identity(backend, rng, shapes, dtype, centered):
    a, b = random(rng, shapes[0], dtype), random(rng, shapes[1], dtype)
    padded = np.zeros(a.shape, dtype=b.dtype)
    padded[tuple(slice(0, n) for n in b.shape)] = b
    if centered:
        # b's centre element (index M // 2 per axis) is its origin.
        padded = np.roll(padded, [-(n // 2) for n in b.shape], axis=tuple(range(b.ndim)))
    expected = np.fft.ifftn(np.fft.fftn(a.astype(np.complex128)) * np.conj(np.fft.fftn(padded.astype(np.complex128))))
    if np.dtype(dtype).kind == "f":
        expected = expected.real
    out = xcorr.correlate(a, b, "circular", centered=centered, **gpu_ready(backend, dtype))
    assert out.dtype == np.dtype(dtype)
    assert rel_l2(out, expected) < tolerance(dtype, backend)


def test_centred_impulse_returns_the_input(rng):
    a = random(rng, (9, 8))
    impulse = np.zeros((5, 4))
    impulse[2, 2] = 1.0
    np.testing.assert_allclose(xcorr.correlate(a, impulse, "circular", centered=True), a, atol=1e-12)
    np.testing.assert_allclose(xcorr.convolve(a, impulse, "circular", centered=True), a, atol=1e-12)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("n,m", [(7, 4), (8, 4), (7, 3), (8, 3), (5, 5), (4, 9), (1, 1), (10, 1)])
def test_lags_agree_with_scipy_correlate_itself(n, m, mode):
    """Each output index holds the lag correlation_lags says: an impulse at position p in a
    correlated with a unit impulse at 0 in b is nonzero exactly at lag p."""
    lags = xcorr.correlation_lags(n, m, mode)
    for p in range(n):
        a = np.zeros(n)
        a[p] = 1.0
        b = np.zeros(m)
        b[0] = 1.0
        out = ss.correlate(a, b, mode)
        assert len(lags) == len(out)
        hits = lags[np.flatnonzero(np.abs(out) > 0.5)]
        assert list(hits) == ([p] if p in lags else [])


# scipy's correlation_lags is off by one in `same` mode with odd N and even M (next test).
@pytest.mark.parametrize(
    "n,m,mode",
    [(n, m, mode) for n, m in [(8, 4), (7, 3), (5, 5), (4, 9), (9, 4)] for mode in ["full", "same", "valid"]
     if not (mode == "same" and n % 2 == 1 and m % 2 == 0)],
)
def test_lags_equal_scipy_where_scipy_is_right(n, m, mode):
    np.testing.assert_array_equal(xcorr.correlation_lags(n, m, mode), ss.correlation_lags(n, m, mode))


def test_lags_differ_from_scipy_where_scipy_disagrees_with_its_correlate():
    assert list(xcorr.correlation_lags(7, 4, "same")) == [-2, -1, 0, 1, 2, 3, 4]
    assert list(ss.correlation_lags(7, 4, "same")) == [-1, 0, 1, 2, 3, 4, 5]


def test_lags_2d_are_per_axis():
    rows, cols = xcorr.correlation_lags((7, 8), (4, 3), "same")
    np.testing.assert_array_equal(rows, xcorr.correlation_lags(7, 4, "same"))
    np.testing.assert_array_equal(cols, xcorr.correlation_lags(8, 3, "same"))
    assert rows.dtype == np.int64
    # circular: lags modulo N; centred from -(M // 2)
    assert list(xcorr.correlation_lags(5, 3, "circular")) == [0, 1, 2, 3, 4]
    assert list(xcorr.correlation_lags(5, 3, "circular", centered=True)) == [-1, 0, 1, 2, 3]


def test_the_readme_call():
    out = xcorr.correlate(np.ones(5), np.ones(3), "same")
    np.testing.assert_allclose(out, [2.0, 3.0, 3.0, 3.0, 2.0], rtol=0, atol=1e-12)
    assert out.dtype == np.float64
    assert str(out) == "[2. 3. 3. 3. 2.]"  # what the one-liner prints


@pytest.mark.parametrize(
    "dtype1,dtype2,expected",
    [
        (np.float32, np.float32, np.float32),
        (np.float32, np.float64, np.float64),
        (np.float32, np.complex64, np.complex64),
        (np.float64, np.complex64, np.complex128),
        (np.float16, np.float16, np.float32),
        (np.uint8, np.uint8, np.float64),
        (np.int64, np.int32, np.float64),
        (np.bool_, np.bool_, np.float64),
        (np.int16, np.float32, np.float32),
    ],
)
def test_dtype_promotion(rng, dtype1, dtype2, expected):
    a = (rng.uniform(0, 2, (6, 7)) > 1 if dtype1 is np.bool_ else rng.uniform(0, 50, (6, 7))).astype(dtype1)
    b = (rng.uniform(0, 2, (3, 2)) > 1 if dtype2 is np.bool_ else rng.uniform(0, 50, (3, 2))).astype(dtype2)
    out = xcorr.correlate(a, b, "same", backend="cpu")
    assert out.dtype == np.dtype(expected)
    wide = np.complex128 if out.dtype.kind == "c" else np.float64
    expected_values = ss.correlate(a.astype(wide), b.astype(wide), "same")
    assert rel_l2(out, expected_values) < 1e-5


def test_lists_and_non_contiguous_arrays_are_accepted(rng):
    a = random(rng, (20, 30))
    b = random(rng, (5, 4))
    expected = ss.correlate(a[::2, 1::3], b.T, "full")
    np.testing.assert_allclose(xcorr.correlate(a[::2, 1::3], b.T), expected, atol=1e-12)  # strided, Fortran
    np.testing.assert_allclose(xcorr.correlate(np.asfortranarray(a), b), ss.correlate(a, b), atol=1e-12)
    np.testing.assert_allclose(xcorr.correlate([1.0, 2.0, 3.0], [1, 1]), ss.correlate([1.0, 2.0, 3.0], [1.0, 1.0]))
    big_endian = a.astype(">f8")
    np.testing.assert_allclose(xcorr.correlate(big_endian, b), ss.correlate(a, b), atol=1e-12)


def test_results_own_their_memory_and_are_writeable(rng):
    out = xcorr.correlate(random(rng, (16, 16), np.float32), random(rng, (3, 3), np.float32), "same")
    assert out.flags.c_contiguous and out.flags.writeable
    out += 1  # a numpy array like any other


def test_read_only_inputs(rng):
    a = random(rng, (12, 10))
    a.setflags(write=False)
    np.testing.assert_allclose(xcorr.correlate(a, a, "valid"), ss.correlate(a, a, "valid"), atol=1e-12)
    assert not a.flags.writeable
