#!/usr/bin/env python3
# Description: two `make bench` runs' baselines side by side. For every row
# with a ratio, its baseline's own figure (median ns, or MB/s for tp-bw)
# in run A and run B, matched by test, label and size; fails (exit 1) when
# any moved by 1.5x or more between the runs. It prints each run's cache-line
# handoff too (machine.line_handoff_ns, start and end): when the host runs
# the two vCPUs in separate cache domains that figure moves 4x, and every
# figure and baseline with it.
#   baselines.py DIR_A DIR_B      (build/bench of each run)
import json, os, sys

LIMIT = 1.5

def rows(d):
    out = {}
    for name in ("results.json", "cxl.json"):
        path = os.path.join(d, name)
        if not os.path.exists(path):
            continue
        for r in json.load(open(path))["results"]:
            if not r["baseline"].startswith("raw"):
                continue  # promoted runs, dsm-scale and dsm-boot divide by figures of ours
            fig = r["baseline_median_ns"] / 1000 if r["kind"] == "latency" else r["baseline_mbps"]
            out[(name, r["test"], r["label"], r["bytes"])] = (r["baseline"], fig, r["kind"])
    return out

a, b = rows(sys.argv[1]), rows(sys.argv[2])
for run, d in (("A", sys.argv[1]), ("B", sys.argv[2])):
    for name in ("results.json", "cxl.json"):
        path = os.path.join(d, name)
        if os.path.exists(path):
            h = json.load(open(path))["machine"].get("line_handoff_ns", [0, 0])
            print(f"run {run} {name:12}: a cache line handed between two CPUs in "
                  f"{h[0] / 1000:.2f} us at the start, {h[1] / 1000:.2f} us at the end")
worst = 0.0
print(f"{'test':13} {'row':24} {'bytes':>6}  {'baseline':48} {'run A':>10} {'run B':>10} {'B/A':>5}")
for key in sorted(a.keys() & b.keys()):
    name, fa, kind = a[key]
    fb = b[key][1]
    unit = "us" if kind == "latency" else "MB/s"
    moved = max(fa, fb) / min(fa, fb) if min(fa, fb) > 0 else float("inf")
    worst = max(worst, moved)
    print(f"{key[1]:13} {key[2]:24} {key[3]:>6}  {name:48} {fa:>8.2f}{unit[:2]:>2} {fb:>8.2f}{unit[:2]:>2} {fb / fa if fa else 0:>5.2f}")
if not a.keys() & b.keys():
    sys.exit("no baselines in common")
print(f"baselines: {len(a.keys() & b.keys())} compared, the most any moved: {worst:.2f}x (limit {LIMIT}x)")
sys.exit(0 if worst < LIMIT else 1)
