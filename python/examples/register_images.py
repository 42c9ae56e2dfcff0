"""Measure a subpixel shift between two images, as skimage.registration.phase_cross_correlation.

    python register_images.py
"""

import numpy as np

import xcorr

rng = np.random.default_rng(3)
reference = rng.random((512, 512))
# Shift by (-12.3, 7.6) pixels through the Fourier shift theorem.
true_shift = np.array([-12.3, 7.6])
fy = np.fft.fftfreq(512)[:, None]
fx = np.fft.fftfreq(512)[None, :]
moving = np.fft.ifft2(np.fft.fft2(reference) * np.exp(-2j * np.pi * (fy * true_shift[0] + fx * true_shift[1]))).real

# The shift that registers `moving` with `reference` (scikit-image's sign and order).
shift, error, phasediff = xcorr.phase_cross_correlation(reference, moving, upsample_factor=100)
print(f"shift {shift} (true {-true_shift}), error {error:.4f}, phasediff {phasediff:.2e}")
assert np.allclose(shift, -true_shift, atol=0.02)
