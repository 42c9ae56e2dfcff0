"""Bad input as a new user would try it: each raises the right exception with a clear
message, on both backends, and nothing reaches Python as a Rust panic."""

import numpy as np
import pytest

import xcorr

IMAGE = np.random.default_rng(0).random((20, 24))
TEMPLATE = IMAGE[3:8, 4:10].copy()


def test_three_dimensional_arrays(backend):
    with pytest.raises(ValueError, match="1-D or 2-D, got 3-D shape"):
        xcorr.correlate(np.ones((2, 3, 4), np.float32), np.ones(3, np.float32), backend=backend)
    with pytest.raises(ValueError, match="3-D"):
        xcorr.match_template(np.ones((2, 8, 8), np.float32), np.ones((2, 2), np.float32), backend=backend)
    with pytest.raises(ValueError, match="3-D"):
        xcorr.phase_cross_correlation(np.ones((2, 3, 4)), np.ones((2, 3, 4)), backend="cpu")


def test_frames_must_be_a_stack(backend):
    with pytest.raises(ValueError, match=r"3-D stack of frames \(N, H, W\)"):
        xcorr.Engine(backend).track(np.ones((8, 8), np.float32), np.ones((2, 2), np.float32))


def test_strings_and_objects_are_type_errors(backend):
    with pytest.raises(TypeError, match="array of numbers"):
        xcorr.correlate("abc", [1.0, 2.0], backend=backend)
    with pytest.raises(TypeError, match="array of numbers"):
        xcorr.match_template(IMAGE, "template", backend=backend)
    with pytest.raises(TypeError, match="array of numbers"):
        xcorr.correlate(np.array([1, None]), [1.0], backend=backend)
    with pytest.raises(TypeError, match="wider than xcorr computes in"):
        xcorr.correlate(np.ones(4, np.longdouble), np.ones(2), backend="cpu")
    with pytest.raises(TypeError, match="real images"):
        xcorr.match_template(IMAGE + 1j, TEMPLATE, backend="cpu")


def test_mismatched_shapes(backend):
    with pytest.raises(ValueError, match="dimension|1-D|2-D"):
        xcorr.correlate(np.ones((4, 4), np.float32), np.ones(3, np.float32), backend=backend)
    with pytest.raises(ValueError, match="valid"):
        xcorr.correlate(np.ones((4, 9), np.float32), np.ones((6, 3), np.float32), "valid", backend=backend)
    with pytest.raises(ValueError, match="larger"):
        xcorr.correlate(np.ones(4, np.float32), np.ones(6, np.float32), "circular", backend=backend)
    with pytest.raises(ValueError, match="template"):
        xcorr.match_template(TEMPLATE.astype(np.float32), IMAGE.astype(np.float32), backend=backend)
    with pytest.raises(ValueError, match="same shape"):
        xcorr.phase_cross_correlation(IMAGE, IMAGE[:10], backend="cpu")
    with pytest.raises(ValueError, match="empty"):
        xcorr.correlate(np.ones((0, 3)), np.ones((2, 2)), backend="cpu")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_infinity(backend, bad):
    image = IMAGE.astype(np.float32)
    image[5, 7] = bad
    with pytest.raises(ValueError, match=r"non-finite value .* at index \[5, 7\]"):
        xcorr.correlate(image, TEMPLATE.astype(np.float32), backend=backend)
    with pytest.raises(ValueError, match="non-finite"):
        xcorr.match_template(image, TEMPLATE.astype(np.float32), backend=backend)
    with pytest.raises(ValueError, match="non-finite"):
        xcorr.phase_cross_correlation(image, IMAGE.astype(np.float32), backend=backend)
    with pytest.raises(ValueError, match="non-finite"):
        xcorr.Engine(backend).track(image[None], TEMPLATE.astype(np.float32))


def test_unknown_method(backend):
    image, template = IMAGE.astype(np.float32), TEMPLATE.astype(np.float32)
    with pytest.raises(ValueError, match="unknown method 'ccoeff_norm'"):
        xcorr.match_template(image, template, "ccoeff_norm", backend=backend)
    with pytest.raises(ValueError, match="unknown method 6: OpenCV's constants run from 0"):
        xcorr.match_template(image, template, 6, backend=backend)
    with pytest.raises(ValueError, match="unknown method -1"):
        xcorr.match_peaks(image, template, -1, backend=backend)
    with pytest.raises(TypeError, match="method must be a name"):
        xcorr.match_template(image, template, 2.5, backend=backend)


def test_unknown_mode_backend_and_other_arguments():
    with pytest.raises(ValueError, match="unknown mode 'sam'"):
        xcorr.correlate(IMAGE, TEMPLATE, "sam")
    with pytest.raises(TypeError, match="mode must be a string"):
        xcorr.correlate(IMAGE, TEMPLATE, 1)
    with pytest.raises(ValueError, match="centered=True applies to mode='circular' only"):
        xcorr.correlate(IMAGE, TEMPLATE, "same", centered=True)
    with pytest.raises(ValueError, match="unknown backend 'cuda'"):
        xcorr.correlate(IMAGE, TEMPLATE, backend="cuda")
    with pytest.raises(ValueError, match="unknown precision"):
        xcorr.Engine("cpu", precision="half")
    with pytest.raises(ValueError, match="unknown mode"):
        xcorr.correlation_lags(5, 3, "ful")
    with pytest.raises(ValueError, match="must not be negative"):
        xcorr.correlation_lags(-5, 3)
    with pytest.raises(ValueError, match="upsample"):
        xcorr.phase_cross_correlation(IMAGE, IMAGE, upsample_factor=0)
    with pytest.raises(ValueError, match="upsample factor must be from 1 to 1000"):
        xcorr.phase_cross_correlation(IMAGE, IMAGE, upsample_factor=5000)
    with pytest.raises(TypeError, match="upsample_factor must be an integer"):
        xcorr.phase_cross_correlation(IMAGE, IMAGE, upsample_factor=2.5)
    with pytest.raises(ValueError, match="space"):
        xcorr.phase_cross_correlation(IMAGE, IMAGE, space="frequency")
    with pytest.raises(ValueError, match="normalization"):
        xcorr.phase_cross_correlation(IMAGE, IMAGE, normalization="l2")
    with pytest.raises(ValueError, match="min_distance"):
        xcorr.match_peaks(IMAGE, TEMPLATE, min_distance=-1)
    with pytest.raises(ValueError, match="count"):
        xcorr.match_peaks(IMAGE, TEMPLATE, count=-1)


def test_disambiguate_is_not_implemented():
    with pytest.raises(NotImplementedError, match="disambiguate"):
        xcorr.phase_cross_correlation(IMAGE, IMAGE, disambiguate=True)


def test_float64_on_an_explicit_gpu_names_the_precision_argument(gpu):
    with pytest.raises(ValueError, match=r"float64 input on backend='gpu'.*precision='single'"):
        gpu.correlate(IMAGE, TEMPLATE)
    with pytest.raises(ValueError, match=r"complex128 input on backend='gpu'"):
        gpu.correlate(IMAGE + 0j, TEMPLATE)


def test_constant_images_cannot_be_registered():
    with pytest.raises(ValueError):
        xcorr.phase_cross_correlation(np.ones((8, 8)), np.ones((8, 8)), backend="cpu")


def test_errors_are_ordinary_exceptions():
    """Everything above derives from Exception: no pyo3 PanicException (a BaseException)."""
    for call in (
        lambda: xcorr.correlate(np.ones((2, 2, 2)), np.ones(2)),
        lambda: xcorr.match_template(IMAGE, TEMPLATE, "nope"),
    ):
        try:
            call()
        except Exception as e:  # noqa: BLE001 - the point of the test
            assert type(e).__module__ == "builtins"
        else:
            raise AssertionError("no exception")
