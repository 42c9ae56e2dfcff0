#!/usr/bin/env python3
"""Compare xcorr's masked and colour matching with OpenCV, its masked registration with
scikit-image.

Runs the given xcorr binary (`xcorr match --mask ...`, `xcorr match --color`,
`xcorr register --reference-mask ...`) on crops of the photographs in DATA and on random
data, the same inputs through cv2.matchTemplate(mask=...) and
skimage.registration.phase_cross_correlation(reference_mask=...), and prints per case the
max |xcorr - OpenCV| (divided by max |OpenCV| for the unnormalised methods) and the best
positions of both; for registration both shifts.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy opencv-python-headless scikit-image
    /tmp/venv/bin/python scripts/compare_masked.py target/release/xcorr /work/shared/data
"""
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import skimage
from skimage.registration import phase_cross_correlation

METHODS = {
    "sqdiff": cv2.TM_SQDIFF,
    "sqdiff-normed": cv2.TM_SQDIFF_NORMED,
    "ccorr": cv2.TM_CCORR,
    "ccorr-normed": cv2.TM_CCORR_NORMED,
    "ccoeff": cv2.TM_CCOEFF,
    "ccoeff-normed": cv2.TM_CCOEFF_NORMED,
}


def xcorr(binary, *args):
    subprocess.run([str(binary), *map(str, args)], check=True, capture_output=True)


def error(ours, theirs, method):
    d = np.abs(ours.astype(np.float64) - theirs.astype(np.float64))
    # OpenCV leaves non-finite values where a masked window has no variance; compare the rest.
    finite = np.isfinite(theirs)
    d = d[finite].max()
    return d if method.endswith("normed") else d / np.abs(theirs[finite]).max()


def best(m, method):
    m = np.where(np.isfinite(m), m, np.inf if method.startswith("sqdiff") else -np.inf)
    i = m.argmin() if method.startswith("sqdiff") else m.argmax()
    return np.unravel_index(i, m.shape)


def match_case(binary, tmp, name, scene, template, mask, color=False):
    """scene, template: float32 in [0, 1] (H, W) or (H, W, 3); mask: float32 (h, w) weights,
    or uint8 (binary, written as a PNG)."""
    worst = 0.0
    paths = {}
    for key, x in (("scene", scene), ("template", template)):
        if color:
            paths[key] = tmp / f"{key}.png"
            cv2.imwrite(str(paths[key]), np.round(x[..., ::-1] * 255).astype(np.uint8))
        else:
            paths[key] = tmp / f"{key}.npy"
            np.save(paths[key], x.astype(np.float32))
    if mask.dtype == np.uint8:
        paths["mask"] = tmp / "mask.png"
        cv2.imwrite(str(paths["mask"]), mask * 255)
    else:
        paths["mask"] = tmp / "mask.npy"
        np.save(paths["mask"], mask.astype(np.float32))
    flags = ["--color"] if color else []
    # Binary masks as OpenCV reads a uint8 mask (nonzero = 1); float masks as weights.
    cv_mask = (mask > 0).astype(np.uint8) if mask.dtype == np.uint8 else mask.astype(np.float32)
    if color:
        cv_mask = np.repeat(cv_mask[..., None], 3, axis=2)
    for method, code in METHODS.items():
        out = tmp / "map.npy"
        xcorr(binary, "match", paths["scene"], paths["template"], "--mask", paths["mask"],
              "--method", method, "-o", out, *flags)
        ours = np.load(out)
        theirs = cv2.matchTemplate(scene.astype(np.float32), template.astype(np.float32),
                                   code, mask=cv_mask)
        if method == "sqdiff-normed":
            # OpenCV's masked sqdiff-normed is not capped at 1 (its unmasked one is, as ours).
            theirs = np.minimum(theirs, 1.0)
        e = error(ours, theirs, method)
        worst = max(worst, e if method.endswith("normed") else 0.0)
        print(f"  {name:28} {method:14} max diff {e:.2e}  best xcorr {tuple(map(int, best(ours, method)))}"
              f" OpenCV {tuple(map(int, best(theirs, method)))}")
    return worst


def register_case(binary, tmp, name, reference, moving, ref_mask, mov_mask, overlap):
    paths = {}
    for key, x in (("reference", reference), ("moving", moving)):
        paths[key] = tmp / f"{key}.npy"
        np.save(paths[key], x.astype(np.float64))
    for key, x in (("reference_mask", ref_mask), ("moving_mask", mov_mask)):
        paths[key] = tmp / f"{key}.npy"
        np.save(paths[key], x.astype(np.float64))
    run = subprocess.run(
        [str(binary), "register", paths["reference"], paths["moving"],
         "--reference-mask", paths["reference_mask"], "--moving-mask", paths["moving_mask"],
         "--overlap-ratio", str(overlap)], check=True, capture_output=True, text=True)
    ours = tuple(float(v) for v in run.stdout.split()[:2])
    theirs = phase_cross_correlation(reference, moving, reference_mask=ref_mask,
                                     moving_mask=mov_mask, overlap_ratio=overlap)
    theirs = tuple(float(v) for v in np.asarray(theirs[0] if isinstance(theirs, tuple) else theirs))
    same = ours == theirs
    print(f"  {name:28} shift xcorr {ours} scikit-image {theirs} {'same' if same else 'DIFFERENT'}")
    return same


def main(binary: Path, data: Path) -> int:
    print(f"OpenCV {cv2.__version__}, scikit-image {skimage.__version__}, numpy {np.__version__}")
    rng = np.random.default_rng(15)
    worst, same = 0.0, True
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print("matching (max diff: normed methods absolute, others relative to max |OpenCV|)")
        grey = cv2.imread(str(data / "astronaut.png"), cv2.IMREAD_GRAYSCALE)[100:356, 100:356]
        grey = grey.astype(np.float32) / 255
        colour = cv2.imread(str(data / "astronaut.png"), cv2.IMREAD_COLOR)[100:228, 150:278]
        colour = colour[..., ::-1].astype(np.float32) / 255  # RGB, as xcorr reads it
        y, x = np.mgrid[:40, :40]
        disc = ((y - 19.5) ** 2 + (x - 19.5) ** 2 <= 20 ** 2).astype(np.uint8)
        weights = rng.uniform(0, 1, (40, 40)).astype(np.float32) * disc
        worst = max(worst, match_case(binary, tmp, "astronaut grey, disc mask", grey,
                                      grey[90:130, 60:100], disc))
        worst = max(worst, match_case(binary, tmp, "astronaut grey, weights", grey,
                                      grey[90:130, 60:100], weights))
        t = np.round(colour[30:70, 50:90] * 255) / 255
        worst = max(worst, match_case(binary, tmp, "astronaut colour, disc mask",
                                      np.round(colour * 255) / 255, t, disc, color=True))
        scene = rng.uniform(0, 1, (200, 180)).astype(np.float32)
        template = rng.uniform(0, 1, (17, 23)).astype(np.float32)
        w = rng.uniform(0, 2, (17, 23)).astype(np.float32) * (rng.uniform(size=(17, 23)) > 0.3)
        worst = max(worst, match_case(binary, tmp, "random 200x180, weights", scene, template, w))
        print("registration")
        coins = cv2.imread(str(data / "coins.png"), cv2.IMREAD_GRAYSCALE).astype(np.float64) / 255
        ref = coins[:256, :256]
        mov = np.roll(ref, (7, -12), axis=(0, 1))
        m1 = np.ones_like(ref)
        m1[200:, :] = 0
        m2 = np.roll(m1, (7, -12), axis=(0, 1))
        same &= register_case(binary, tmp, "coins 256², masks", ref, mov, m1, m2, 0.3)
        r = rng.uniform(0, 1, (96, 80))
        mask = (rng.uniform(size=r.shape) > 0.2).astype(np.float64)
        same &= register_case(binary, tmp, "random 96x80, 80% mask", r,
                              np.roll(r, (-5, 9), axis=(0, 1)), mask, mask, 0.3)
    print(f"worst normed difference {worst:.2e}; registration shifts all equal: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
