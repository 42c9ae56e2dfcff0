#!/usr/bin/env python3
"""Time xcorr from Python beside scipy, OpenCV and scikit-image, in one process, on the
standard workloads W1-W6 (those of `xcorr bench` and benches/peers.py), and compare the
speed ratios with the ones the Rust `xcorr bench` gives: if the binding adds no copies that
matter, "fastest peer / xcorr" is the same from Python as from Rust.

    python3 benches/py_peers.py [--xcorr target/release/xcorr] [--backend cpu|gpu]
                                [--rounds 2] [--workloads W1,W4] [--markdown]

Needs the xcorr Python package (`pip install ./python`), numpy, scipy,
opencv-python-headless and scikit-image in the running Python, and a release build of the
`xcorr` binary (`cargo build --release`) for the Rust column (`--xcorr ''` skips it).

| workload | xcorr from Python | peers |
| --- | --- | --- |
| W1 1024² ⋆ 64², same | xcorr.correlate | scipy.signal.correlate, scipy.fft, cv2.filter2D |
| W2 2048² ⋆ 2048², full | xcorr.correlate | scipy.signal.correlate, scipy.fft |
| W3 512² ⋆ 512², circular centred | xcorr.correlate | scipy.fft |
| W4 match 64² in 1024², ccoeff_normed | xcorr.match_template | cv2.matchTemplate, skimage |
| W5 track 48² through 100 frames 480×640, ccorr_normed | Engine.track | cv2.matchTemplate per frame |
| W6 register 1024², upsample 100 | xcorr.phase_cross_correlation | cv2.phaseCorrelate, skimage |

Each round times every workload with the Rust bench, from Python and with the peers back
to back, so that all three see the same machine load; each figure is the median over the
rounds of each round's median.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

import numpy as np
import scipy.signal as ssig

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peers  # noqa: E402  the peer harness: its timer and scipy.fft helpers

import xcorr  # noqa: E402

try:
    import cv2
except ImportError:  # pragma: no cover
    cv2 = None
try:
    from skimage.feature import match_template as sk_match_template
    from skimage.registration import phase_cross_correlation as sk_phase_cross_correlation
except ImportError:  # pragma: no cover
    sk_match_template = sk_phase_cross_correlation = None

WORKLOADS = ["W1", "W2", "W3", "W4", "W5", "W6"]


def inputs(rng):
    """The workloads' data, as benches/peers.py makes it (float32 in [0, 1))."""
    img = lambda r, c: rng.random((r, c), dtype=np.float32)  # noqa: E731
    data = dict(
        w1=(img(1024, 1024), img(64, 64)),
        w2=(img(2048, 2048), img(2048, 2048)),
        w3=(img(512, 512), img(512, 512)),
        w4=(img(1024, 1024), img(64, 64)),
    )
    frames = np.stack([img(480, 640) for _ in range(100)])
    data["w5"] = (frames, frames[0, 200:248, 300:348].copy())
    w6a = img(1024, 1024)
    data["w6"] = (w6a, np.roll(w6a, (7, -12), axis=(0, 1)))
    return data


def xcorr_cases(data, engine):
    return [
        ("W1", "xcorr.correlate", lambda: engine.correlate(*data["w1"], "same")),
        ("W2", "xcorr.correlate", lambda: engine.correlate(*data["w2"], "full")),
        ("W3", "xcorr.correlate", lambda: engine.correlate(*data["w3"], "circular", centered=True)),
        ("W4", "xcorr.match_template", lambda: engine.match_template(*data["w4"], "ccoeff_normed")),
        ("W5", "Engine.track", lambda: engine.track(*data["w5"], method="ccorr_normed")),
        ("W6", "xcorr.phase_cross_correlation", lambda: engine.phase_cross_correlation(*data["w6"], upsample_factor=100)),
    ]


def peer_cases(data):
    (w1a, w1b), (w2a, w2b), (w3a, w3b) = data["w1"], data["w2"], data["w3"]
    (w4s, w4t), (frames, w5t), (w6a, w6b) = data["w4"], data["w5"], data["w6"]
    cases = [
        ("W1", "scipy.signal", lambda: ssig.correlate(w1a, w1b, "same", method="fft")),
        ("W1", "scipy.fft", lambda: peers.rfft_correlate_same(w1a, w1b)),
        ("W2", "scipy.signal", lambda: ssig.correlate(w2a, w2b, "full", method="fft")),
        ("W2", "scipy.fft", lambda: peers.rfft_correlate_full(w2a, w2b)),
        ("W3", "scipy.fft", lambda: peers.circular_centred(w3a, w3b)),
    ]
    if cv2 is not None:
        cases += [
            ("W1", "opencv", lambda: cv2.filter2D(w1a, -1, w1b, borderType=cv2.BORDER_CONSTANT)),
            ("W4", "opencv", lambda: cv2.matchTemplate(w4s, w4t, cv2.TM_CCOEFF_NORMED)),
            ("W5", "opencv", lambda: [cv2.matchTemplate(f, w5t, cv2.TM_CCORR_NORMED) for f in frames]),
            ("W6", "opencv", lambda: cv2.phaseCorrelate(w6a.astype(np.float64), w6b.astype(np.float64))),
        ]
    if sk_match_template is not None:
        cases += [
            ("W4", "skimage", lambda: sk_match_template(w4s, w4t)),
            ("W6", "skimage", lambda: sk_phase_cross_correlation(w6a, w6b, upsample_factor=100)),
        ]
    return cases


def rust_bench(binary, backend, workload):
    """`xcorr bench --json` on one workload: its median ms."""
    args = [binary, "bench", "--json", "--backend", backend, "--workload", workload]
    out = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    (ms,) = [r["median_ms"] for r in out["results"] if r["backend"] == backend]
    return ms


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xcorr", default=os.path.join(HERE, "..", "target", "release", "xcorr"),
                        help="the xcorr binary for the Rust column ('' to skip it)")
    parser.add_argument("--backend", default="cpu", choices=["cpu", "gpu"])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated, e.g. W4,W6")
    parser.add_argument("--quick", action="store_true", help="one timed run per case")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    runs = dict(min_runs=1, max_runs=1) if args.quick else {}
    workloads = [w.strip().upper() for w in args.workloads.split(",")]
    if not set(workloads) <= set(WORKLOADS):
        parser.error(f"--workloads: expected some of {','.join(WORKLOADS)}, got {args.workloads}")

    data = inputs(np.random.default_rng(0))
    engine = xcorr.Engine(args.backend, precision="single")
    ours, theirs, rust = {}, {}, {}
    # Workload by workload, the Rust bench, xcorr from Python and the peers back to back, so
    # that the three see the same machine load.
    for _ in range(args.rounds):
        for workload in workloads:
            if args.xcorr:
                rust.setdefault(workload, []).append(rust_bench(args.xcorr, args.backend, workload))
            for w, who, fn in xcorr_cases(data, engine):
                if w == workload:
                    ours.setdefault((w, who), []).append(peers.timed(fn, **runs)[0])
            for w, who, fn in peer_cases(data):
                if w == workload:
                    theirs.setdefault((w, who), []).append(peers.timed(fn, **runs)[0])

    median = {k: statistics.median(v) for k, v in {**ours, **theirs}.items()}
    rust = {w: statistics.median(v) for w, v in rust.items()}
    rows = []
    for w in workloads:
        (who, mine), = [(who, median[(ww, who)]) for ww, who in ours if ww == w]
        peer_times = {who: median[(ww, who)] for ww, who in theirs if ww == w}
        best_peer = min(peer_times, key=peer_times.get)
        py_ratio = peer_times[best_peer] / mine
        rust_ratio = peer_times[best_peer] / rust[w] if w in rust else None
        rows.append((w, who, mine, rust.get(w), best_peer, peer_times[best_peer], py_ratio, rust_ratio))

    print(f"xcorr {engine.backend}: {engine.device}; {args.rounds} rounds; ratio = fastest peer / xcorr")
    header = ["workload", "xcorr from Python", "Python ms", "Rust ms", "fastest peer", "peer ms",
              "ratio (Python)", "ratio (Rust)", "Python / Rust time"]
    lines = []
    for w, who, mine, rust_ms, peer, peer_ms, py_ratio, rust_ratio in rows:
        lines.append([w, who, f"{mine:.2f}", "-" if rust_ms is None else f"{rust_ms:.2f}", peer, f"{peer_ms:.2f}",
                      f"{py_ratio:.2f}x", "-" if rust_ratio is None else f"{rust_ratio:.2f}x",
                      "-" if rust_ms is None else f"{mine / rust_ms:.2f}"])
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + " --- |" * len(header))
        for line in lines:
            print("| " + " | ".join(line) + " |")
    else:
        widths = [max(len(h), *(len(l[i]) for l in lines)) for i, h in enumerate(header)]
        print("  ".join(h.ljust(n) for h, n in zip(header, widths)))
        for line in lines:
            print("  ".join(c.ljust(n) for c, n in zip(line, widths)))


if __name__ == "__main__":
    main()
