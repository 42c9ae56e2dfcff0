"""Masks and colour: match_template/match_peaks with mask= and (H, W, C) images against
cv2.matchTemplate(..., mask=...), and phase_cross_correlation with reference_mask= and
moving_mask= against scikit-image's masked path; on both backends, on random arrays and on
the photographs in tests/data. Bad masks raise ValueError or TypeError."""

import numpy as np
import pytest

import xcorr
from conftest import DATA, opencv_methods, photo

cv2 = pytest.importorskip("cv2")
skimage_registration = pytest.importorskip("skimage.registration")

METHODS = opencv_methods()


def error(ours, theirs, method, image, template, mask):
    """The largest difference, relative to 1 for the normalised scores and to the size of
    the sums' terms (Σ m² · max|I| · max|T|, channels included) for the others."""
    assert ours.shape == theirs.shape
    diff = np.abs(ours.astype(np.float64) - theirs).max()
    if method.endswith("normed"):
        return diff
    weights = np.broadcast_to(np.asarray(mask, np.float64) ** 2, template.shape)
    return diff / (weights.sum() * float(np.abs(image).max()) * float(np.abs(template).max()))


def binary_mask(rng, shape):
    mask = (rng.random(shape) < 0.6).astype(np.uint8) * 255
    mask.flat[0] = 1  # any nonzero value is 1, as OpenCV reads a uint8 mask
    return mask


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("kind", ["binary", "weights", "colour", "colour-per-channel"])
def test_masked_matching_equals_opencv(backend, rng, method, kind):
    colour = kind.startswith("colour")
    channels = (3,) if colour else ()
    image = rng.uniform(0.05, 1.0, (41, 37) + channels).astype(np.float32)
    template = rng.uniform(0.05, 1.0, (9, 7) + channels).astype(np.float32)
    if kind == "weights":
        mask = rng.uniform(0.0, 2.0, (9, 7)).astype(np.float32)
        mask[rng.random((9, 7)) < 0.3] = 0.0
    elif kind == "colour-per-channel":
        mask = binary_mask(rng, (9, 7, 3))
    else:
        mask = binary_mask(rng, (9, 7))
    ours = xcorr.match_template(image, template, method, mask=mask, backend=backend)
    theirs = cv2.matchTemplate(image, template, METHODS[method], mask=mask)
    assert ours.dtype == np.float32
    effective = (mask != 0) if mask.dtype == np.uint8 else mask
    if colour and mask.ndim == 2:
        effective = effective[..., np.newaxis]
    assert error(ours, theirs, method, image, template, effective) < 2e-4


@pytest.mark.parametrize("method", ["sqdiff", "ccorr_normed", "ccoeff_normed"])
def test_colour_without_mask_equals_opencv(backend, rng, method):
    image = (rng.random((30, 33, 3)) * 255).astype(np.uint8)
    template = image[11:19, 5:15].copy()
    ours = xcorr.match_template(image, template, method, backend=backend)
    theirs = cv2.matchTemplate(image, template, METHODS[method])
    scale = np.ones(template.shape)
    assert error(ours, theirs, method, image.astype(np.float64), template.astype(np.float64), scale) < 1e-4
    peak = xcorr.match_peaks(image, template, method, backend=backend)[0]
    assert (peak["row"], peak["col"]) == (11, 5)


def test_masked_match_peaks_find_opencvs_best(backend, rng):
    image = rng.random((50, 60)).astype(np.float32)
    template = image[20:32, 30:40].copy()
    mask = np.ones(template.shape, np.uint8)
    mask[:, 5:] = 0
    template[:, 5:] = 9.0  # garbage the mask leaves out
    found = xcorr.match_peaks(image, template, "ccoeff_normed", mask=mask, count=3, min_distance=4, backend=backend)
    assert found.dtype == xcorr.PEAK_DTYPE and len(found) == 3
    theirs = cv2.matchTemplate(image, template, cv2.TM_CCOEFF_NORMED, mask=mask)
    _, best, _, at = cv2.minMaxLoc(theirs)
    assert (found[0]["row"], found[0]["col"]) == (at[1], at[0]) == (20, 30)
    assert abs(found[0]["score"] - best) < 1e-4
    assert found["score"][0] >= found["score"][1] >= found["score"][2]
    assert abs(found[0]["y"] - 20) < 1 and abs(found[0]["x"] - 30) < 1


def test_photographs_masked_and_colour(backend):
    # The astronaut's face region in colour, a disc-shaped mask; and a coin in grey.
    astronaut = cv2.imread(str(DATA / "astronaut.png"), cv2.IMREAD_COLOR)
    assert astronaut is not None
    scene = astronaut[40:200, 150:330]
    template = scene[50:90, 60:100].copy()
    yy, xx = np.mgrid[:40, :40]
    disc = ((yy - 19.5) ** 2 + (xx - 19.5) ** 2 < 19**2).astype(np.uint8)
    for method in ("sqdiff", "ccoeff_normed"):
        ours = xcorr.match_template(scene, template, method, mask=disc, backend=backend)
        theirs = cv2.matchTemplate(scene, template, METHODS[method], mask=disc)
        m = disc[..., np.newaxis]
        assert error(ours, theirs, method, scene.astype(float), template.astype(float), m) < 2e-4
        best = np.unravel_index(np.argmin(ours) if method == "sqdiff" else np.argmax(ours), ours.shape)
        assert best == (50, 60)
    coins = photo("coins.png")
    template = coins[100:140, 60:100].copy()
    weights = np.where(disc > 0, 1.0, 0.25).astype(np.float32)
    ours = xcorr.match_template(coins, template, "ccorr_normed", mask=weights, backend=backend)
    theirs = cv2.matchTemplate(coins.astype(np.float32), template.astype(np.float32), cv2.TM_CCORR_NORMED, mask=weights)
    assert np.abs(ours - theirs).max() < 2e-4


def test_engine_methods_take_masks(backend, rng):
    engine = xcorr.Engine(backend)
    image = rng.random((20, 20)).astype(np.float32)
    template = image[3:9, 4:10].copy()
    mask = binary_mask(rng, template.shape)
    direct = xcorr.match_template(image, template, "sqdiff", mask=mask, backend=backend)
    np.testing.assert_array_equal(engine.match_template(image, template, "sqdiff", mask=mask), direct)
    peak = engine.match_peaks(image, template, "sqdiff", mask=mask)[0]
    assert (peak["row"], peak["col"]) == (3, 4)


# -- masked registration ---------------------------------------------------------------


def check_like_skimage(ours, theirs):
    """scikit-image's masked path returns (float64 shift, nan, nan)."""
    shift, err, phasediff = ours
    assert isinstance(shift, np.ndarray) and shift.dtype == theirs[0].dtype == np.float64
    np.testing.assert_array_equal(shift, theirs[0])
    assert np.isnan(err) and np.isnan(phasediff)
    assert type(err) is type(theirs[1]) and type(phasediff) is type(theirs[2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_masked_registration_equals_skimage(backend, rng, dtype):
    reference = (rng.random((48, 40)) * 200).astype(dtype)
    moving = np.roll(reference, (-5, 7), axis=(0, 1))
    reference_mask = rng.random(reference.shape) > 0.2
    moving_mask = rng.random(moving.shape) > 0.2
    kwargs = dict(reference_mask=reference_mask, moving_mask=moving_mask, overlap_ratio=0.3)
    precision = "single" if backend == "gpu" else "double"
    ours = xcorr.phase_cross_correlation(reference, moving, backend=backend, precision=precision, **kwargs)
    theirs = skimage_registration.phase_cross_correlation(reference, moving, **kwargs)
    check_like_skimage(ours, theirs)
    assert tuple(ours[0]) == (5.0, -7.0)


def test_masked_registration_other_shapes_one_mask_and_1d(backend, rng):
    reference = rng.random((40, 36)).astype(np.float32)
    moving = reference[4:34, 3:31].copy()  # a smaller moving image: moving_mask is needed
    reference_mask = np.ones(reference.shape, bool)
    reference_mask[:6] = False
    moving_mask = np.ones(moving.shape, np.uint8)
    args = dict(reference_mask=reference_mask, moving_mask=moving_mask, overlap_ratio=0.5)
    check_like_skimage(
        xcorr.phase_cross_correlation(reference, moving, backend=backend, **args),
        skimage_registration.phase_cross_correlation(reference, moving, **args),
    )
    # One mask for both (same shapes); NaN where the mask is False is allowed.
    moving = np.roll(reference, (3, -2), axis=(0, 1))
    mask = np.ones(reference.shape, bool)
    mask[-5:, :] = False
    reference_nan = reference.copy()
    reference_nan[-5:, :] = np.nan
    ours = xcorr.phase_cross_correlation(reference_nan, moving, reference_mask=mask, backend=backend)
    check_like_skimage(ours, skimage_registration.phase_cross_correlation(reference_nan, moving, reference_mask=mask))
    # 1-D signals.
    signal = rng.random(200).astype(np.float32)
    shifted = np.roll(signal, 9)
    mask = np.ones(200, bool)
    mask[:15] = False
    check_like_skimage(
        xcorr.phase_cross_correlation(signal, shifted, reference_mask=mask, backend=backend),
        skimage_registration.phase_cross_correlation(signal, shifted, reference_mask=mask),
    )


def test_masked_registration_of_a_photograph(backend):
    coins = photo("coins.png").astype(np.float32)
    reference = coins[20:180, 40:220]
    moving = coins[26:186, 31:211]  # moving(y, x) = reference(y + 6, x − 9): shift (6, −9) registers it
    mask = np.ones(reference.shape, bool)
    mask[60:100, 70:120] = False  # a hole in the reference, as for a saturated spot
    ours = xcorr.phase_cross_correlation(reference, moving, reference_mask=mask, moving_mask=np.ones_like(mask), backend=backend)
    theirs = skimage_registration.phase_cross_correlation(reference, moving, reference_mask=mask, moving_mask=np.ones_like(mask))
    check_like_skimage(ours, theirs)
    assert tuple(ours[0]) == (6.0, -9.0)


# -- bad masks -------------------------------------------------------------------------


def matching_inputs():
    rng = np.random.default_rng(5)
    return rng.random((20, 20)).astype(np.float32), rng.random((5, 6)).astype(np.float32)


@pytest.mark.parametrize(
    "mask, error, message",
    [
        (np.ones((5, 5), np.uint8), ValueError, "shape"),
        (np.zeros((5, 6), np.uint8), ValueError, "all zero"),
        (np.zeros((5, 6), np.float32), ValueError, "all zero"),
        (-np.ones((5, 6), np.float32), ValueError, "non-negative"),
        (np.full((5, 6), np.nan, np.float32), ValueError, "NaN|finite"),
        (np.ones((5, 6), np.int32), TypeError, "bool or uint8"),
        (np.ones((5, 6), np.complex64), TypeError, "bool or uint8"),
        (np.array([["a"] * 6] * 5), TypeError, "numbers"),
        (np.ones((5, 6, 2), np.uint8), ValueError, "colour template"),
        (np.ones(6, np.uint8), ValueError, r"\(h, w\)"),
    ],
    ids=["shape", "zero-uint8", "zero-float", "negative", "nan", "int32", "complex", "strings", "3d-grey", "1d"],
)
def test_bad_matching_masks(backend, mask, error, message):
    image, template = matching_inputs()
    with pytest.raises(error, match=message):
        xcorr.match_template(image, template, mask=mask, backend=backend)
    with pytest.raises(error, match=message):
        xcorr.match_peaks(image, template, mask=mask, backend=backend)


def test_bad_colour_masks_and_images(backend):
    image = (np.ones((20, 20, 3)) + np.arange(20)[:, None, None]).astype(np.float32)
    template = image[2:7, 3:9].copy()
    with pytest.raises(ValueError, match="channel"):
        xcorr.match_template(image, template, mask=np.ones((5, 6, 2), np.uint8), backend=backend)
    with pytest.raises(ValueError, match="channel"):
        xcorr.match_template(image, template[..., :2], backend=backend)
    with pytest.raises(ValueError, match="both be grey"):
        xcorr.match_template(image, template[..., 0], mask=np.ones((5, 6), np.uint8), backend=backend)


@pytest.mark.parametrize(
    "masks, error, message",
    [
        (dict(reference_mask=np.ones((8, 8), bool)), ValueError, "shape"),
        (dict(reference_mask=np.zeros((16, 16), bool)), ValueError, "all zero"),
        (dict(reference_mask=-np.ones((16, 16))), ValueError, "negative"),
        (dict(reference_mask=np.full((16, 16), np.nan)), ValueError, "NaN"),
        (dict(reference_mask=np.ones((16, 16), np.complex64)), TypeError, "dtype"),
        (dict(reference_mask=np.ones((16, 16), bool), moving_mask=np.ones((4, 4), bool)), ValueError, "shape"),
        (dict(moving_mask=np.ones((16, 16), bool)), ValueError, "reference_mask"),
        (dict(reference_mask=np.ones((16, 16), bool), overlap_ratio=1.5), ValueError, "overlap"),
    ],
    ids=["shape", "zero", "negative", "nan", "complex", "moving-shape", "moving-only", "overlap"],
)
def test_bad_registration_masks(backend, masks, error, message):
    rng = np.random.default_rng(3)
    reference, moving = rng.random((16, 16)), rng.random((16, 16))
    precision = "single" if backend == "gpu" else "double"
    with pytest.raises(error, match=message):
        xcorr.phase_cross_correlation(reference, moving, backend=backend, precision=precision, **masks)


def test_masked_registration_refuses_complex_and_nan_inside_the_mask(backend):
    mask = np.ones((16, 16), bool)
    with pytest.raises(ValueError, match="complex"):
        xcorr.phase_cross_correlation(np.ones((16, 16), np.complex64), np.ones((16, 16), np.complex64), reference_mask=mask, backend=backend)
    image = np.random.default_rng(1).random((16, 16)).astype(np.float32)
    image[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN|finite"):
        xcorr.phase_cross_correlation(image, image, reference_mask=mask, backend=backend)


def test_track_with_a_mask_and_in_colour(backend, rng):
    # Grey frames with a mask, and colour frames (one mask plane for all channels): each
    # frame's row equals OpenCV's best location and score.
    for channels in ((), (3,)):
        frames = rng.random((4, 30, 34) + channels).astype(np.float32)
        template = frames[2, 8:16, 10:20].copy()
        mask = binary_mask(rng, (8, 10))
        table = xcorr.Engine(backend).track(frames, template, "ccoeff_normed", mask=mask)
        assert table.shape == (4, 3) and table.dtype == np.float64
        for frame, (row, col, score) in zip(frames, table):
            theirs = cv2.matchTemplate(frame, template, cv2.TM_CCOEFF_NORMED, mask=mask)
            _, best, _, at = cv2.minMaxLoc(theirs)
            assert (row, col) == (at[1], at[0])
            assert abs(score - best) < 2e-4
        assert tuple(table[2, :2]) == (8, 10)
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        xcorr.Engine(backend).track(frames[..., 0], template, mask=mask)
    assert xcorr.Engine(backend).track(frames[:0], template, mask=mask).shape == (0, 3)
