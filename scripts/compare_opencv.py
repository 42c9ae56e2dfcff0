#!/usr/bin/env python3
"""Compare xcorr's template matching with OpenCV and its registration with scikit-image.

Reads what `cargo run --release --example vision_dump -- DIR` wrote and prints, per case:
the max |xcorr - OpenCV| of each matchTemplate method (divided by max |OpenCV| for the
unnormalised ones), both sides' distance from a direct float64 evaluation of the formulas,
and the argmin/argmax agreement; then, per registration case, xcorr's and
scikit-image's shifts and error metrics.

    pip install opencv-python-headless scikit-image numpy
    python scripts/compare_opencv.py DIR
"""
import json
import sys
from pathlib import Path

import cv2
import numpy as np
from skimage.registration import phase_cross_correlation

METHODS = {
    "sqdiff": cv2.TM_SQDIFF,
    "sqdiff_normed": cv2.TM_SQDIFF_NORMED,
    "ccorr": cv2.TM_CCORR,
    "ccorr_normed": cv2.TM_CCORR_NORMED,
    "ccoeff": cv2.TM_CCOEFF,
    "ccoeff_normed": cv2.TM_CCOEFF_NORMED,
}


def direct(scene, template, name):
    """OpenCV's formulas evaluated directly in float64 (sqdiff-normed capped at 1, as OpenCV)."""
    s = scene.astype(np.float64)
    t = template.astype(np.float64)
    win = np.lib.stride_tricks.sliding_window_view(s, t.shape)  # (H-h+1, W-w+1, h, w)
    sq = ((win - t) ** 2).sum(axis=(2, 3))
    cc = (win * t).sum(axis=(2, 3))
    norm = np.sqrt((t**2).sum() * (win**2).sum(axis=(2, 3)))
    tc = t - t.mean()
    wc = win - win.mean(axis=(2, 3), keepdims=True)
    co = (wc * tc).sum(axis=(2, 3))
    co_norm = np.sqrt((tc**2).sum() * (wc**2).sum(axis=(2, 3)))
    return {
        "sqdiff": sq,
        "sqdiff_normed": np.minimum(sq / norm, 1.0),
        "ccorr": cc,
        "ccorr_normed": cc / norm,
        "ccoeff": co,
        "ccoeff_normed": co / co_norm,
    }[name]


def max_error(a, b, name):
    d = np.abs(a.astype(np.float64) - b.astype(np.float64)).max()
    return d if name.endswith("normed") else d / np.abs(b).max()


def main(directory: Path) -> int:
    print(f"OpenCV {cv2.__version__}, numpy {np.__version__}")
    worst = 0.0
    for scene_file in sorted(directory.glob("*_scene.npy")):
        case = scene_file.name[: -len("_scene.npy")]
        scene = np.load(scene_file)
        template = np.load(directory / f"{case}_template.npy")
        print(f"\n{case}: scene {scene.shape}, template {template.shape}")
        for name, flag in METHODS.items():
            ours = np.load(directory / f"{case}_{name}.npy")
            theirs = cv2.matchTemplate(scene, template, flag)
            assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
            diff = max_error(ours, theirs, name)
            reference = direct(scene, template, name)
            ours_ref, theirs_ref = max_error(ours, reference, name), max_error(theirs, reference, name)
            pick = np.argmin if name.startswith("sqdiff") else np.argmax
            same_best = pick(ours) == pick(theirs)
            worst = max(worst, diff) if name.endswith("normed") else worst
            kind = "max abs" if name.endswith("normed") else "max rel"
            print(
                f"  {name:14s} {kind} |xcorr-OpenCV| {diff:.2e}   vs float64 formulas:"
                f" xcorr {ours_ref:.2e}, OpenCV {theirs_ref:.2e}   same best match: {same_best}"
            )

    print("\nregistration (skimage.registration.phase_cross_correlation, defaults + upsample_factor)")
    reference = np.load(directory / "reg_reference.npy")
    results = json.loads((directory / "registration.json").read_text())
    shift_diff = 0.0
    for r in results:
        moving = np.load(directory / r["moving"])
        shift, error, phasediff = phase_cross_correlation(
            reference, moving, upsample_factor=r["upsample"]
        )
        d = np.abs(np.array(r["shift"]) - shift).max()
        shift_diff = max(shift_diff, d)
        print(
            f"  applied {str(r['applied']):16s} up {r['upsample']:3d}: xcorr {str(r['shift']):18s}"
            f" skimage {str([float(v) for v in np.round(shift, 4)]):18s} |diff| {d:.1e}"
            f"  error {r['error']:.12f} vs {error:.12f}  phasediff {r['phasediff']:+.2e} vs {phasediff:+.2e}"
        )
    print(f"\nworst normed-method difference {worst:.2e}; worst shift difference {shift_diff:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "vision_dump")))
