#!/usr/bin/env python3
"""`xcorr track` from files against the in-process `Tracker`, alternated run by run.

The `track` example's 60 frames (512 x 512 float32, a 48 x 48 template, `ccoeff-normed`,
whole-frame search) are written once as `.npy` (`--write-frames`); then, `--runs` times, the
example times four pipelined passes over them in memory (`--cpu --rounds 4`) and `xcorr
track` reads the frame folder four times from disk, so both rates are over 240 frames. A
shared machine's load shifts between runs, so each run's ratio is read from two programs
run back to back, and the median ratio is the figure.

Besides the rates (frames/s, wall clock), the CPU time of each (user + system, from the
kernel's accounting of the child) is printed per frame: the example's is its run minus a
run with `--rounds 0` (making the frames and starting up), over the 480 frames its four
rounds track (one pass one at a time, one pipelined); the CLI's is the whole process.

    cargo build --release --bin xcorr --example track && python3 benches/track_cli.py [--runs 7]
"""
import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FRAMES = 60
ROUNDS = 4


def run(cmd):
    """Run `cmd`; return its stdout + stderr and the CPU seconds it used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = dict(os.environ)
    env.setdefault("XDG_RUNTIME_DIR", "/tmp")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done.stdout + done.stderr, cpu


def rate(pattern, text, what):
    m = re.search(pattern, text)
    if not m:
        sys.exit(f"no rate in the output of {what}:\n{text}")
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--bin-dir", default=os.path.join(ROOT, "target", "release"))
    ap.add_argument("--dir", help="where the frames are written (default: a temporary folder)")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = ap.parse_args()
    example = os.path.join(args.bin_dir, "examples", "track")
    xcorr = os.path.join(args.bin_dir, "xcorr")
    with tempfile.TemporaryDirectory() as tmp:
        where = args.dir or tmp
        run([example, "--cpu", "--rounds", "0", "--write-frames", where])
        _, startup_cpu = run([example, "--cpu", "--rounds", "0"])
        frames_dir = os.path.join(where, "frames")
        template = os.path.join(where, "template.npy")
        out = os.path.join(tmp, "out.jsonl")
        rows = []
        for i in range(args.runs):
            text, cpu = run([example, "--cpu", "--rounds", str(ROUNDS)])
            in_process = rate(r"cpu: pipelined ([\d.]+) frames/s", text, "the example")
            example_cpu_ms = (cpu - startup_cpu) / (2 * ROUNDS * FRAMES) * 1e3
            text, cpu = run([xcorr, "track", template] + [frames_dir] * ROUNDS
                            + ["--backend", "cpu", "-o", out])
            cli = rate(r"xcorr track: .* ([\d.]+) frames/s", text, "xcorr track")
            cli_cpu_ms = cpu / (ROUNDS * FRAMES) * 1e3
            rows.append((in_process, cli, example_cpu_ms, cli_cpu_ms))
            print(f"run {i + 1}: in-process {in_process:.1f} frames/s, xcorr track {cli:.1f} "
                  f"({cli / in_process:.2f}); CPU per frame {example_cpu_ms:.2f} ms against "
                  f"{cli_cpu_ms:.2f} ms", file=sys.stderr)
    ratios = [cli / ex for ex, cli, _, _ in rows]
    sep = " | " if args.markdown else "  "
    if args.markdown:
        print("| run | in-process frames/s | xcorr track frames/s | ratio | CPU ms/frame "
              "in-process | CPU ms/frame xcorr track |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for i, (ex, cli, ex_cpu, cli_cpu) in enumerate(rows):
        cells = [str(i + 1), f"{ex:.1f}", f"{cli:.1f}", f"{cli / ex:.2f}", f"{ex_cpu:.2f}",
                 f"{cli_cpu:.2f}"]
        print(("| " + sep.join(cells) + " |") if args.markdown else sep.join(cells))
    print(f"median ratio {statistics.median(ratios):.2f} (xcorr track / in-process, "
          f"frames/s); CPU per frame median {statistics.median(r[3] for r in rows):.2f} ms "
          f"against {statistics.median(r[2] for r in rows):.2f} ms; load average "
          f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
