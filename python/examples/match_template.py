"""Find a patch in an image, as with cv2.matchTemplate, and the best few matches.

    python match_template.py [IMAGE]      # IMAGE needs OpenCV to read; default: a synthetic scene
"""

import sys

import numpy as np

import xcorr

if len(sys.argv) > 1:
    import cv2

    scene = cv2.imread(sys.argv[1], cv2.IMREAD_GRAYSCALE)  # uint8: matched in float32
else:
    rng = np.random.default_rng(2)
    scene = (rng.random((600, 800)) * 255).astype(np.uint8)

template = scene[150:214, 300:380].copy()

# The score map, OpenCV's shape (H - h + 1, W - w + 1) and formulas; the method by name
# (or cv2.TM_CCOEFF_NORMED, the integer 5).
scores = xcorr.match_template(scene, template, "ccoeff_normed")
row, col = np.unravel_index(np.argmax(scores), scores.shape)
print(f"map {scores.shape} {scores.dtype}; best at row {row}, col {col}, score {scores[row, col]:.4f}")

# Only the peaks: the best three at least 20 pixels apart, with subpixel positions.
for peak in xcorr.match_peaks(scene, template, "ccoeff_normed", count=3, min_distance=20):
    print(f"  ({peak['row']}, {peak['col']}) score {peak['score']:.4f}, subpixel ({peak['y']:.2f}, {peak['x']:.2f})")
