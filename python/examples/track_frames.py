"""Follow a template through a stack of frames with one Engine: the template's spectrum is
computed once, and each frame's best match comes back as (row, col, score).

    python track_frames.py [--backend cpu|gpu|auto]
"""

import argparse

import numpy as np

import xcorr

parser = argparse.ArgumentParser()
parser.add_argument("--backend", default="auto")
args = parser.parse_args()

rng = np.random.default_rng(4)
frames = rng.random((50, 240, 320), dtype=np.float32)
template = rng.random((24, 24), dtype=np.float32)
path = [(20 + 3 * i, 30 + 5 * i) for i in range(50)]
for frame, (r, c) in zip(frames, path):
    frame[r : r + 24, c : c + 24] = template

engine = xcorr.Engine(args.backend)
print(f"engine: {engine.backend} ({engine.device})")
track = engine.track(frames, template, method="ccorr_normed")  # (50, 3): row, col, score
print(track[:3])
assert [tuple(map(int, t[:2])) for t in track] == path
