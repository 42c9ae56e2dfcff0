"""phase_cross_correlation against scikit-image: the same shift, error and phasediff, of the
same types, on both backends."""

import numpy as np
import pytest

import xcorr
from conftest import photo, random

registration = pytest.importorskip("skimage.registration")
scipy_ndimage = pytest.importorskip("scipy.ndimage")


def circular_shift(image, shift):
    """`image` moved by a (possibly fractional) shift, circularly, through the Fourier
    shift theorem (scipy.ndimage.fourier_shift)."""
    moved = np.fft.ifftn(scipy_ndimage.fourier_shift(np.fft.fftn(image), shift))
    return moved.real if np.isrealobj(image) else moved


def assert_same_as_skimage(ours, theirs, atol_shift, atol_scalars):
    shift, error, phasediff = ours
    their_shift, their_error, their_phasediff = theirs
    assert type(shift) is type(their_shift) and shift.dtype == their_shift.dtype
    assert shift.shape == their_shift.shape
    assert type(error) is type(their_error)
    assert type(phasediff) is type(their_phasediff)
    np.testing.assert_allclose(shift, their_shift, rtol=0, atol=atol_shift)
    # error = sqrt(|1 - x|): compared squared, where a rounding of 1e-16 stays 1e-16 rather
    # than becoming 1e-8 at a perfect match.
    assert abs(float(error) ** 2 - float(their_error) ** 2) <= atol_scalars
    assert abs(phasediff - their_phasediff) <= atol_scalars


SHAPES = [(32, 32), (31, 45), (64, 17), (20, 64), (1, 40), (48,)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("upsample", [1, 10, 100])
@pytest.mark.parametrize("normalization", ["phase", None])
def test_random_images_equal_skimage_cpu(rng, shape, upsample, normalization):
    reference = random(rng, shape)
    true_shift = tuple(rng.uniform(-5, 5, len(shape)).round(2))
    moving = circular_shift(reference, true_shift)
    ours = xcorr.phase_cross_correlation(
        reference, moving, upsample_factor=upsample, normalization=normalization, backend="cpu"
    )
    theirs = registration.phase_cross_correlation(
        reference, moving, upsample_factor=upsample, normalization=normalization
    )
    assert_same_as_skimage(ours, theirs, atol_shift=1e-9, atol_scalars=1e-9)


@pytest.mark.parametrize("shape", [(32, 32), (31, 45), (24,)], ids=str)
@pytest.mark.parametrize("upsample", [1, 20])
def test_float32_and_complex64_keep_skimages_types(backend, rng, shape, upsample):
    for dtype in (np.float32, np.complex64):
        reference = random(rng, shape, dtype)
        moving = circular_shift(reference, (2.3,) * len(shape)).astype(dtype)
        ours = xcorr.phase_cross_correlation(reference, moving, upsample_factor=upsample, backend=backend)
        theirs = registration.phase_cross_correlation(reference, moving, upsample_factor=upsample)
        # scikit-image computes float32 input in float32, xcorr in float64 (CPU) or float32
        # (GPU): the shifts agree to the grid step, the scalars to float32's rounding.
        assert_same_as_skimage(ours, theirs, atol_shift=1.01 / upsample, atol_scalars=1e-3)


@pytest.mark.parametrize("dtype", [np.complex128, np.uint8, np.int32])
def test_other_dtypes_equal_skimage(rng, dtype):
    reference = random(rng, (30, 34), dtype) if np.dtype(dtype).kind == "c" else (rng.random((30, 34)) * 100).astype(dtype)
    moving = np.roll(reference, (3, -7), axis=(0, 1))
    ours = xcorr.phase_cross_correlation(reference, moving, upsample_factor=4, backend="cpu")
    theirs = registration.phase_cross_correlation(reference, moving, upsample_factor=4)
    assert_same_as_skimage(ours, theirs, atol_shift=1e-9, atol_scalars=1e-9)


def test_fourier_space_equals_skimage(rng):
    reference = random(rng, (40, 36))
    moving = circular_shift(reference, (-3.4, 6.2))
    spectra = np.fft.fft2(reference), np.fft.fft2(moving)
    ours = xcorr.phase_cross_correlation(*spectra, upsample_factor=10, space="fourier", backend="cpu")
    theirs = registration.phase_cross_correlation(*spectra, upsample_factor=10, space="fourier")
    assert_same_as_skimage(ours, theirs, atol_shift=1e-9, atol_scalars=1e-9)
    assert ours[0].tolist() == pytest.approx([3.4, -6.2], abs=0.1)


@pytest.mark.parametrize("name", ["coins.png", "astronaut.png"])
@pytest.mark.parametrize("upsample", [1, 100])
def test_photographs_equal_skimage(backend, name, upsample):
    image = photo(name).astype(np.float32)
    reference = image[:256, :256]
    moving = image[7 : 7 + 256, 3 : 3 + 256]  # not circular: real content moves in and out
    ours = xcorr.phase_cross_correlation(reference, moving, upsample_factor=upsample, backend=backend)
    theirs = registration.phase_cross_correlation(reference, moving, upsample_factor=upsample)
    assert_same_as_skimage(ours, theirs, atol_shift=1.01 / upsample, atol_scalars=1e-3)
    np.testing.assert_allclose(ours[0], [7, 3], atol=0.5)  # moving(y, x) = reference(y + 7, x + 3)


def test_float64_on_the_gpu(gpu, rng):
    reference = random(rng, (32, 32))
    moving = np.roll(reference, (4, -2), axis=(0, 1))
    with pytest.raises(ValueError, match="precision"):
        gpu.phase_cross_correlation(reference, moving)
    shift, error, phasediff = xcorr.phase_cross_correlation(
        reference, moving, upsample_factor=10, backend="gpu", precision="single"
    )
    assert shift.dtype == np.float64 and type(error) is np.float64
    np.testing.assert_allclose(shift, [-4, 2], atol=1e-6)
