#!/usr/bin/env python3
"""Call one of py_peers.py's xcorr workloads N times from Python and print the process's
CPU time per call (all threads: `time.process_time`) beside the wall time per call. CPU
time is what the binding would add to if it copied or converted anything, and machine
load inflates it far less than wall time. Compare with the Rust bench's process under
`perf stat -e task-clock xcorr bench --workload W4` (setup, one warm-up, its runs).

    python3 benches/py_calls.py W4 16
"""

import argparse
import time

import numpy as np

import py_peers
import xcorr


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workload", choices=py_peers.WORKLOADS)
    parser.add_argument("calls", type=int)
    parser.add_argument("--backend", default="cpu", choices=["cpu", "gpu"])
    args = parser.parse_args()
    if args.calls < 1:
        parser.error("calls must be at least 1")
    engine = xcorr.Engine(args.backend, precision="single")
    data = py_peers.inputs(np.random.default_rng(0))
    (fn,) = [fn for w, _, fn in py_peers.xcorr_cases(data, engine) if w == args.workload]
    fn()  # warm-up: plans, like xcorr bench
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(args.calls):
        fn()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{args.workload} on {engine.backend}: {args.calls} calls, "
          f"{cpu / args.calls * 1e3:.2f} ms CPU and {wall / args.calls * 1e3:.2f} ms wall per call")


if __name__ == "__main__":
    main()
