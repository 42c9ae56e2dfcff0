#!/usr/bin/env python3
"""Time the standard workloads (W1-W6, FFT) with the libraries xcorr's users would pick instead.

Prints JSON in the shape of `xcorr bench --json`: {"device": ..., "results": [{"workload",
"backend", "median_ms", "runs"}]}; "backend" names the peer. Needs numpy, scipy,
opencv-python-headless and scikit-image (`pip install numpy scipy opencv-python-headless
scikit-image`); a missing library's rows are left out.
"""
import argparse
import json
import os
import platform
import time

import numpy as np
import scipy.fft as sfft
import scipy.signal as ssig

try:
    import cv2
except ImportError:  # pragma: no cover
    cv2 = None
try:
    from skimage.feature import match_template
    from skimage.registration import phase_cross_correlation
except ImportError:  # pragma: no cover
    match_template = phase_cross_correlation = None

WORKERS = os.cpu_count()


def timed(fn, min_runs=3, max_runs=15, budget_s=2.0):
    fn()  # warm-up, like xcorr bench
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or (len(times) < max_runs and time.perf_counter() - start < budget_s):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    return times[len(times) // 2], len(times)


def rfft_correlate_full(a, b):
    """Linear correlation through scipy.fft with all cores, full mode."""
    shape = [sfft.next_fast_len(n + m - 1, real=True) for n, m in zip(a.shape, b.shape)]
    fa = sfft.rfft2(a, shape, workers=WORKERS)
    fb = sfft.rfft2(b, shape, workers=WORKERS)
    out = sfft.irfft2(fa * np.conj(fb), shape, workers=WORKERS)
    # lags -(M-1)..N-1 sit at indices wrapped modulo the transform length
    rows = np.arange(-(b.shape[0] - 1), a.shape[0]) % shape[0]
    cols = np.arange(-(b.shape[1] - 1), a.shape[1]) % shape[1]
    return out[np.ix_(rows, cols)]


def rfft_correlate_same(a, b):
    full = rfft_correlate_full(a, b)
    r0, c0 = (b.shape[0] - 1) // 2, (b.shape[1] - 1) // 2
    return full[r0:r0 + a.shape[0], c0:c0 + a.shape[1]]


def circular_centred(a, b):
    fa = sfft.rfft2(a, workers=WORKERS)
    fb = sfft.rfft2(np.fft.ifftshift(b), workers=WORKERS)
    return sfft.irfft2(fa * np.conj(fb), a.shape, workers=WORKERS)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one timed run per case")
    args = parser.parse_args()
    runs = dict(min_runs=1, max_runs=1) if args.quick else {}

    rng = np.random.default_rng(0)
    img = lambda r, c: rng.random((r, c), dtype=np.float32)
    w1a, w1b = img(1024, 1024), img(64, 64)
    w2a, w2b = img(2048, 2048), img(2048, 2048)
    w3a, w3b = img(512, 512), img(512, 512)
    w4s, w4t = img(1024, 1024), img(64, 64)
    frames = [img(480, 640) for _ in range(100)]
    w5t = frames[0][200:248, 300:348].copy()
    w6a = img(1024, 1024)
    w6b = np.roll(w6a, (7, -12), axis=(0, 1))

    cases = [
        ("W1", "scipy.signal", lambda: ssig.correlate(w1a, w1b, "same", method="fft")),
        ("W1", "scipy.fft", lambda: rfft_correlate_same(w1a, w1b)),
        ("W2", "scipy.signal", lambda: ssig.correlate(w2a, w2b, "full", method="fft")),
        ("W2", "scipy.fft", lambda: rfft_correlate_full(w2a, w2b)),
        ("W3", "scipy.fft", lambda: circular_centred(w3a, w3b)),
    ]
    if cv2 is not None:
        cases += [
            ("W1", "opencv", lambda: cv2.filter2D(w1a, -1, w1b, borderType=cv2.BORDER_CONSTANT)),
            ("W4", "opencv", lambda: cv2.matchTemplate(w4s, w4t, cv2.TM_CCOEFF_NORMED)),
            ("W5", "opencv", lambda: [cv2.matchTemplate(f, w5t, cv2.TM_CCORR_NORMED) for f in frames]),
            ("W6", "opencv", lambda: cv2.phaseCorrelate(w6a.astype(np.float64), w6b.astype(np.float64))),
        ]
    if match_template is not None:
        cases += [
            ("W4", "skimage", lambda: match_template(w4s, w4t)),
            ("W6", "skimage", lambda: phase_cross_correlation(w6a, w6b, upsample_factor=100)),
        ]
    for n in (1024, 2048, 4096):
        x = (rng.random((n, n)) + 1j * rng.random((n, n))).astype(np.complex64)
        cases.append((f"FFT{n}", "scipy.fft", lambda x=x: sfft.fft2(x, workers=WORKERS)))

    results = []
    for workload, peer, fn in cases:
        median_ms, n = timed(fn, **runs)
        results.append(dict(workload=workload, backend=peer, median_ms=round(median_ms, 3), runs=n))
    device = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (python peers)"
    print(json.dumps(dict(device=device, results=results)))


if __name__ == "__main__":
    main()
