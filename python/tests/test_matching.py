"""match_template, match_peaks and Engine.track against OpenCV (and scikit-image), on both
backends, on random arrays and on the photographs in tests/data."""

import numpy as np
import pytest

import xcorr
from conftest import opencv_methods, photo, random

cv2 = pytest.importorskip("cv2")
skimage_feature = pytest.importorskip("skimage.feature")

METHODS = opencv_methods()
# (image, template): odd and even, square, tall and wide, template as large as the image.
SHAPES = [((32, 32), (8, 8)), ((37, 29), (5, 6)), ((64, 20), (9, 3)), ((18, 70), (4, 11)), ((12, 13), (12, 13)), ((40, 40), (1, 1))]


def best(scores, method):
    """OpenCV's best location: minMaxLoc's minimum for sqdiff*, else its maximum, (row, col)."""
    lo, hi, lo_at, hi_at = cv2.minMaxLoc(scores)
    at = lo_at if method in ("sqdiff", "sqdiff_normed") else hi_at
    return at[1], at[0]


def scale(method, image, template):
    """What an error is measured against: 1 for the normalised scores (in [-1, 1]); for
    the others the magnitude of the sum's terms, h·w·max|I|·max|T| (a 1×1 template's
    `ccoeff` is exactly 0, where OpenCV leaves rounding of 1e-8)."""
    if method.endswith("normed"):
        return 1.0
    return template.size * float(np.abs(image).max()) * float(np.abs(template).max())


def assert_close_to_opencv(ours, theirs, method, image, template, bound):
    assert ours.shape == theirs.shape
    assert np.abs(ours.astype(np.float64) - theirs).max() / scale(method, image, template) < bound


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_random_images_equal_opencv(backend, rng, method, shapes):
    # Values from 0.05: a pixel within ~1e-5 of 0 is a "zero window" for a 1×1 template,
    # scored 0 by xcorr's documented rule where OpenCV says 1 (see the library's docs).
    image = rng.uniform(0.05, 1.0, shapes[0]).astype(np.float32)
    template = rng.random(shapes[1], dtype=np.float32)
    ours = xcorr.match_template(image, template, method, backend=backend)
    theirs = cv2.matchTemplate(image, template, METHODS[method])
    assert ours.dtype == np.float32
    assert_close_to_opencv(ours, theirs, method, image, template, 5e-5)


@pytest.mark.parametrize("method", list(METHODS))
def test_opencv_constants_and_names_are_the_same_method(rng, method):
    image = rng.random((30, 31), dtype=np.float32)
    template = image[5:12, 9:15].copy()
    by_name = xcorr.match_template(image, template, method, backend="cpu")
    for alias in (METHODS[method], "TM_" + method.upper(), method.replace("_", "-")):
        np.testing.assert_array_equal(xcorr.match_template(image, template, alias, backend="cpu"), by_name)


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("name,corner", [("coins.png", (100, 150)), ("astronaut.png", (220, 260))])
def test_photographs_equal_opencv(backend, method, name, corner):
    image = photo(name)  # uint8, as OpenCV takes it
    r, c = corner
    template = image[r : r + 40, c : c + 50].copy()
    ours = xcorr.match_template(image, template, method, backend=backend)
    theirs = cv2.matchTemplate(image, template, METHODS[method])
    assert ours.dtype == np.float32 and ours.shape == theirs.shape
    assert best(ours, method) == best(theirs, method)
    if method != "ccorr":  # plain correlation peaks where the scene is brightest
        assert best(ours, method) == corner
    diff = np.abs(ours.astype(np.float64) - theirs) / scale(method, image, template)
    # OpenCV sums windows in float32: over the astronaut's near-black background its
    # normalised scores are off by up to 3e-3 (xcorr's float32 agrees with float64 there
    # to 2e-4), so a few elements get a looser bound; the great majority a tight one.
    assert np.mean(diff < 1e-4) > 0.99
    assert diff.max() < 5e-3


@pytest.mark.parametrize("name", ["coins.png", "astronaut.png"])
def test_photographs_equal_scikit_image_in_float64(name):
    """scikit-image computes ccoeff_normed in float64: a tight check where OpenCV's float32
    is loose."""
    image = photo(name).astype(np.float64)
    template = image[60:90, 70:105].copy()
    ours = xcorr.match_template(image, template, "ccoeff_normed", backend="cpu")
    theirs = skimage_feature.match_template(image, template)
    assert ours.dtype == np.float64
    # scikit-image leaves flat windows at 0 too, but its rounding there is its own: compare
    # where the window has some contrast.
    windows = np.lib.stride_tricks.sliding_window_view(image, template.shape)
    textured = windows.std(axis=(2, 3)) > 1e-3
    assert np.abs(ours - theirs)[textured].max() < 1e-9


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.bool_, np.float16, np.float32])
def test_narrow_dtypes_match_in_float32(rng, dtype):
    image = (rng.random((24, 26)) * (1 if dtype in (np.bool_,) else 200)).astype(dtype)
    if dtype is np.bool_:
        image = rng.random((24, 26)) > 0.5
    template = image[3:9, 4:11].copy()
    ours = xcorr.match_template(image, template, "ccorr", backend="cpu")
    assert ours.dtype == np.float32
    theirs = cv2.matchTemplate(image.astype(np.float32), template.astype(np.float32), cv2.TM_CCORR)
    assert_close_to_opencv(ours, theirs, "ccorr", image, template, 1e-5)


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.int64])
def test_wide_dtypes_match_in_float64(rng, dtype):
    image = (rng.random((20, 22)) * 100).astype(dtype)
    template = image[2:8, 3:9].copy()
    ours = xcorr.match_template(image, template, "sqdiff", backend="cpu")
    assert ours.dtype == np.float64
    theirs = cv2.matchTemplate(image.astype(np.float32), template.astype(np.float32), cv2.TM_SQDIFF)
    assert_close_to_opencv(ours, theirs, "sqdiff", image, template, 1e-5)


def test_float64_on_the_gpu_needs_precision_single(gpu, rng):
    image = rng.random((40, 41))
    template = image[10:18, 12:20].copy()
    with pytest.raises(ValueError, match="precision='single'"):
        gpu.match_template(image, template)
    single = xcorr.Engine("gpu", precision="single")
    ours = single.match_template(image, template)
    assert ours.dtype == np.float64  # cast to float32 for the GPU, and back
    theirs = cv2.matchTemplate(image.astype(np.float32), template.astype(np.float32), cv2.TM_CCOEFF_NORMED)
    assert_close_to_opencv(ours, theirs, "ccoeff_normed", image, template, 5e-5)


@pytest.mark.parametrize("method", ["sqdiff", "ccorr_normed", "ccoeff_normed"])
def test_match_peaks_finds_planted_templates(backend, rng, method):
    image = rng.random((96, 80), dtype=np.float32)
    template = rng.random((9, 7), dtype=np.float32)
    spots = [(10, 12), (50, 60), (80, 5)]
    for r, c in spots:
        image[r : r + 9, c : c + 7] = template
    found = xcorr.match_peaks(image, template, method, count=3, min_distance=5, backend=backend)
    assert found.dtype == xcorr.PEAK_DTYPE
    assert sorted(zip(found["row"].tolist(), found["col"].tolist())) == sorted(spots)
    scores = cv2.matchTemplate(image, template, METHODS[method])
    for peak in found:
        assert abs(peak["score"] - scores[peak["row"], peak["col"]]) < 1e-4 * max(1.0, np.abs(scores).max())
        assert abs(peak["y"] - peak["row"]) <= 0.5 and abs(peak["x"] - peak["col"]) <= 0.5
    # best first
    order = found["score"] if method.startswith("sqdiff") else -found["score"]
    assert list(order) == sorted(order)


def test_match_peaks_count_zero_and_more_than_exist(rng):
    image = rng.random((10, 10), dtype=np.float32)
    template = image[2:5, 2:5].copy()
    assert len(xcorr.match_peaks(image, template, count=0, backend="cpu")) == 0
    assert len(xcorr.match_peaks(image, template, count=1000, backend="cpu")) == 64  # every placement


@pytest.mark.parametrize("method", ["ccorr_normed", "sqdiff", "ccoeff"])
def test_track_equals_opencv_frame_by_frame(backend, rng, method):
    frames = rng.random((6, 48, 64), dtype=np.float32)
    template = rng.random((8, 10), dtype=np.float32)
    for i, frame in enumerate(frames):
        frame[5 + 3 * i : 13 + 3 * i, 7 + 4 * i : 17 + 4 * i] = template
    engine = xcorr.Engine(backend)
    track = engine.track(frames, template, method=method)
    assert track.shape == (6, 3) and track.dtype == np.float64
    for i, frame in enumerate(frames):
        scores = cv2.matchTemplate(frame, template, METHODS[method])
        row, col = best(scores, method)
        assert (track[i, 0], track[i, 1]) == (row, col) == (5 + 3 * i, 7 + 4 * i)
        assert abs(track[i, 2] - scores[row, col]) <= 1e-4 * max(1.0, np.abs(scores).max())


def test_track_takes_uint8_frames_and_lists(rng):
    frames = (rng.random((3, 30, 40)) * 255).astype(np.uint8)
    template = frames[1, 10:18, 20:29].copy()
    engine = xcorr.Engine("cpu")
    from_array = engine.track(frames, template)
    from_list = engine.track(list(frames), template)
    np.testing.assert_array_equal(from_array, from_list)
    assert tuple(from_array[1, :2]) == (10, 20)
    assert engine.track(np.empty((0, 30, 40), np.uint8), template).shape == (0, 3)


def misaligned(array):
    """A copy of `array` whose data starts one byte past an element boundary, as arrays
    unpickled from a byte stream (Dask's chunks) can be."""
    raw = np.empty(array.nbytes + 1, np.uint8)
    out = np.frombuffer(raw.data, array.dtype, array.size, offset=1).reshape(array.shape)
    out[...] = array
    assert not out.flags.aligned
    return out


@pytest.mark.parametrize("masked", [False, True])
def test_misaligned_frames_track_as_aligned_ones(backend, rng, masked):
    frames = rng.random((3, 30, 40), dtype=np.float32)
    template = frames[1, 10:18, 20:29].copy()
    mask = np.ones(template.shape, np.uint8) if masked else None
    engine = xcorr.Engine(backend)
    expected = engine.track(frames, template, mask=mask)
    np.testing.assert_array_equal(engine.track(misaligned(frames), template, mask=mask), expected)
    image = misaligned(frames[1])
    np.testing.assert_array_equal(engine.match_template(image, template, mask=mask), engine.match_template(frames[1], template, mask=mask))
