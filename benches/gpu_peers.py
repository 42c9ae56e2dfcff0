#!/usr/bin/env python3
"""xcorr's GPU backend against VkFFT on the same Vulkan device, in one invocation.

Runs the VkFFT peer harness (`../shared/peers/vkfft/run.sh`, or --peer DIR) and
`xcorr bench --backend gpu` back to back, then prints the side-by-side table: 2-D C2C forward
FFT (VkFFT `c2c_fwd` against xcorr's `gpu-resident` FFTn rows, both K transforms per
submission on data already on the device), R2C forward (`r2c_fwd` against RFFTn, timed the
same way), and VkFFT's 4096² real correlation (`conv`) against W2 `gpu-resident`. On a
software driver the times measure work, not GPU speed: read the ratios (xcorr / VkFFT, lower
is better).

    cargo build --release && python3 benches/gpu_peers.py [--sizes 1024 2048 4096] [--markdown]
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_PEER = os.path.normpath(os.path.join(ROOT, "..", "shared", "peers", "vkfft"))
LINE = re.compile(
    r"vkfft (\S+) (\d+)x\d+ .*median=([\d.]+).*?(?:axis_dispatches_fwd=(\d+))?\s*$"
)


def run_vkfft(peer, sizes, modes, reps):
    env = dict(os.environ, SIZES=" ".join(map(str, sizes)), MODES=" ".join(modes), REPS=str(reps))
    env.setdefault("XDG_RUNTIME_DIR", "/tmp")
    out = subprocess.run(["bash", os.path.join(peer, "run.sh")], env=env, check=True,
                         capture_output=True, text=True).stdout
    device, rows = None, {}
    for line in out.splitlines():
        if "deviceName" in line:
            device = line.split("=", 1)[-1].strip()
        m = LINE.search(line)
        if m:
            rows[(m.group(1), int(m.group(2)))] = (float(m.group(3)), m.group(4))
    return device, rows


def run_xcorr(xcorr, sizes, with_w2, seconds):
    workloads = [f"{kind}{n}" for n in sizes for kind in ("FFT", "RFFT")]
    workloads += ["W2"] if with_w2 else []
    env = dict(os.environ, XCORR_REQUIRE_GPU="1")
    env.setdefault("XDG_RUNTIME_DIR", "/tmp")
    cmd = [xcorr, "bench", "--backend", "gpu", "--json", "--seconds", str(seconds)]
    for w in workloads:
        cmd += ["--workload", w]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    report = json.loads(out)
    rows = {(r["workload"], r["backend"]): r for r in report["results"]}
    return report["device"], rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
    ap.add_argument("--peer", default=DEFAULT_PEER, help="the VkFFT peer directory")
    ap.add_argument("--xcorr", default=os.path.join(ROOT, "target", "release", "xcorr"))
    ap.add_argument("--reps", type=int, default=3, help="VkFFT repetitions per case")
    ap.add_argument("--seconds", type=float, default=2.0, help="xcorr bench --seconds")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()

    with_conv = 4096 in args.sizes
    modes = ["c2c_fwd", "r2c_fwd"]
    vk_device, vk = run_vkfft(args.peer, args.sizes, modes, args.reps)
    if with_conv:
        _, conv = run_vkfft(args.peer, [4096], ["conv"], args.reps)
        vk.update(conv)
    xc_device, xc = run_xcorr(args.xcorr, args.sizes, with_conv, args.seconds)

    table = []  # (case, vkfft ms, vkfft dispatches, xcorr ms, xcorr dispatches)
    for n in args.sizes:
        for mode, label, workload in [("c2c_fwd", "C2C forward", f"FFT{n}"),
                                      ("r2c_fwd", "R2C forward", f"RFFT{n}")]:
            v = vk.get((mode, n))
            x = xc.get((workload, "gpu-resident"))
            table.append((f"{label} {n}²", v, x))
    if with_conv:
        table.append(("correlation 4096² (VkFFT conv) vs W2 gpu-resident",
                      vk.get(("conv", 4096)), xc.get(("W2", "gpu-resident"))))

    print(f"VkFFT device: {vk_device or 'first Vulkan device (vulkaninfo absent)'}; xcorr device: {xc_device}")
    head = ["case", "VkFFT ms", "VkFFT dispatches", "xcorr ms", "xcorr dispatches",
            "xcorr / VkFFT"]
    lines = []
    for case, v, x in table:
        vms = f"{v[0]:.1f}" if v else "-"
        vd = (v[1] or "-") if v else "-"
        xms = f"{x['median_ms']:.1f}" if x else "- (no such case)"
        xd = str(x.get("dispatches", "-")) if x else "-"
        ratio = f"{x['median_ms'] / v[0]:.2f}x" if v and x else "-"
        lines.append([case, vms, str(vd), xms, xd, ratio])
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("| --- | " + " | ".join(["---:"] * (len(head) - 1)) + " |")
        for row in lines:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(r[i]) for r in lines + [head]) for i in range(len(head))]
        for row in [head] + lines:
            print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                            for i, (c, w) in enumerate(zip(row, widths))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
