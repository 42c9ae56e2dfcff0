"""Find the delay between two noisy signals, as with scipy.signal.correlate.

    python correlate_signals.py
"""

import numpy as np

import xcorr

rng = np.random.default_rng(1)
signal = rng.standard_normal(10_000)
delay = 1234
received = np.roll(signal, delay) + 0.5 * rng.standard_normal(signal.size)

# `received` holds `signal` shifted by `delay`: the correlation peaks at that lag.
scores = xcorr.correlate(received, signal, mode="full")
lags = xcorr.correlation_lags(received.size, signal.size, mode="full")
found = lags[np.argmax(scores)]
print(f"delay found: {found} samples (true: {delay})")
assert found == delay

# 2-D works the same way; `same` keeps the first input's shape, as in scipy.
image = rng.random((480, 640), dtype=np.float32)
kernel = np.ones((5, 5), np.float32) / 25
blurred = xcorr.convolve(image, kernel, mode="same")
print(f"blurred: {blurred.shape} {blurred.dtype}")
