#!/usr/bin/env python3
"""Compare xcorr's template matching with OpenCV and its registration with scikit-image.

Reads what `cargo run --release --example vision_dump -- DIR` wrote and prints, per case:
the max |xcorr - OpenCV| of each matchTemplate method (divided by max |OpenCV| for the
unnormalised ones) and the argmin/argmax agreement; then, per registration case, xcorr's and
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
            diff = np.abs(ours.astype(np.float64) - theirs.astype(np.float64)).max()
            if not name.endswith("normed"):
                diff /= np.abs(theirs).max()
            pick = np.argmin if name.startswith("sqdiff") else np.argmax
            same_best = pick(ours) == pick(theirs)
            worst = max(worst, diff) if name.endswith("normed") else worst
            kind = "max abs" if name.endswith("normed") else "max rel"
            print(f"  {name:14s} {kind} diff {diff:.2e}   same best match: {same_best}")

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
            f" skimage {str(list(np.round(shift, 4))):18s} |diff| {d:.1e}"
            f"  error {r['error']:.12f} vs {error:.12f}  phasediff {r['phasediff']:+.2e} vs {phasediff:+.2e}"
        )
    print(f"\nworst normed-method difference {worst:.2e}; worst shift difference {shift_diff:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "vision_dump")))
