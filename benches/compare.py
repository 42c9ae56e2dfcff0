#!/usr/bin/env python3
"""Run `xcorr bench --json` and benches/peers.py back to back and print one table:
per workload, each xcorr backend and each peer, with the ratio of the fastest peer's time to
xcorr's (above 1 means xcorr is faster).

    python3 benches/compare.py [--xcorr target/release/xcorr] [--backend cpu|gpu|all]
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xcorr", default=os.path.join(HERE, "..", "target", "release", "xcorr"))
    parser.add_argument("--backend", default="cpu")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()

    ours = json.loads(subprocess.run([args.xcorr, "bench", "--json", "--backend", args.backend],
                                     check=True, capture_output=True, text=True).stdout)
    peers = json.loads(subprocess.run([sys.executable, os.path.join(HERE, "peers.py")],
                                      check=True, capture_output=True, text=True).stdout)
    print(f"xcorr: {ours['device']}")
    print(f"peers: {peers['device']}")
    workloads = []
    for r in ours["results"] + peers["results"]:
        if r["workload"] not in workloads:
            workloads.append(r["workload"])
    rows = []
    for w in workloads:
        mine = [r for r in ours["results"] if r["workload"] == w]
        theirs = [r for r in peers["results"] if r["workload"] == w]
        best_peer = min(theirs, key=lambda r: r["median_ms"]) if theirs else None
        for r in mine + theirs:
            ratio = ""
            if r in mine and best_peer:
                ratio = f"{best_peer['median_ms'] / r['median_ms']:.2f}x vs {best_peer['backend']}"
            rows.append((w, ("xcorr " if r in mine else "") + r["backend"], r["median_ms"], r["runs"], ratio))
    if args.markdown:
        print("| workload | implementation | median ms | runs | fastest peer / xcorr |")
        print("| --- | --- | ---: | ---: | --- |")
        for w, who, ms, n, ratio in rows:
            print(f"| {w} | {who} | {ms:.2f} | {n} | {ratio} |")
    else:
        print(f"{'workload':<9} {'implementation':<20} {'median ms':>10} {'runs':>5}  fastest peer / xcorr")
        for w, who, ms, n, ratio in rows:
            print(f"{w:<9} {who:<20} {ms:>10.2f} {n:>5}  {ratio}")


if __name__ == "__main__":
    main()
