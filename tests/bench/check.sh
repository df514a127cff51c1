#!/bin/sh
# Description: gvm-bench runs every subcommand (briefly), prints its tables
# with ratios that name what they divide by, and writes JSON that matches
# bench/results.schema.json (each required key, its type, the test names;
# every ratio row carries its baseline's own figure), CSV with one row per
# result, the latency CDF file and a markdown summary whose columns are
# empty where they do not apply. Over cxl the baselines are raw shared
# memory, never a socket. --cpu with one CPU is refused for a ping-pong.
# --breakdown gives the phases of the median fault, matched with the
# owner's trace, adding up to the fault; DSM rows carry CPU per fault.
# Skips (77) without python3 to read the JSON.
set -eu
BUILD=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
command -v python3 >/dev/null || { echo "python3 missing: cannot check the JSON"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BUILD/gvm-bench" all --iters 100 --warmup 10 --sizes 64,4096 --duration-ms 200 \
	--json "$tmp/r.json" --csv "$tmp/r.csv" --markdown "$tmp/r.md" --cdf "$tmp/cdf.csv" > "$tmp/out.txt"
grep -q '^tcp  .* x raw socket ([0-9.]*)$' "$tmp/out.txt"
# Memory: mapped frames are the mapping (one copy of each page held, and
# the engine's page table); copied frames make two copies. (The frames once
# took 4 KiB-aligned heap blocks of their own: 3.05x.)
awk '/^tcp node [01], frames / {n++; lim = /frames mapped/ ? 1.1 : 2.2
	if ($(NF - 3) + 0 > lim) bad = 1} END {exit bad || n != 2}' "$tmp/out.txt"
grep -q '^tcp/thread .* x raw uffd fault + raw socket round trip ([0-9.]*)$' "$tmp/out.txt"
grep -q '^tcp yardstick/thread ' "$tmp/out.txt"
grep -q '^tcp/sigbus .* x raw uffd fault (SIGBUS) + raw socket round trip' "$tmp/out.txt"
grep -q 'promoted .* x IVY handoff' "$tmp/out.txt"
grep -q '^hotpage .* x IVY' "$tmp/out.txt"
grep -q '^tcp .* x raw stream ([0-9.]* MB/s)$' "$tmp/out.txt"
# Over cxl, every baseline is shared memory.
"$BUILD/gvm-bench" tp-lat --transport cxl --iters 100 --warmup 10 --sizes 64 > "$tmp/cxl.txt"
"$BUILD/gvm-bench" dsm-read --transport cxl --fault-mode thread --iters 100 --warmup 10 >> "$tmp/cxl.txt"
grep -q '^cxl .* x raw shared memory ([0-9.]*)$' "$tmp/cxl.txt"
grep -q '^cxl/thread .* x raw uffd fault + raw shared-memory round trip' "$tmp/cxl.txt"
! grep -q 'socket' "$tmp/cxl.txt"
# The breakdown: every phase of the median fault, matched with the owner's
# records, summing to about the fault's own median; CPU per fault is there.
"$BUILD/gvm-bench" dsm-read --fault-mode thread --iters 200 --warmup 20 \
	--breakdown="$tmp/bd.csv" > "$tmp/bd.txt"
grep -q '^tcp/thread: owner served ' "$tmp/bd.txt"
grep -q ' of 200 faults matched' "$tmp/bd.txt"
grep -Eq '^ +cpu [0-9.]+ us and [0-9.]+ context switches per fault' "$tmp/bd.txt"
awk -F, 'NR > 1 && $1 == "dsm-read" && $2 == "tcp/thread" {n++; sum += $4}
	 END {exit n != 7 || sum <= 0}' "$tmp/bd.csv"
python3 - "$tmp/bd.txt" <<'PY'
import re, sys
out = open(sys.argv[1]).read()
total = float(re.search(r"the median fault \(([0-9.]+) us", out).group(1))
phases = [float(x) for x in re.findall(r" ([0-9.]+)(?:,| us$)", out.split("the median fault")[1].splitlines()[0])]
# The mean phases of the faults in the middle tenth add up to about the median.
if len(phases) != 7 or abs(sum(phases) - total) > 0.25 * total:
    sys.exit(f"median fault {total} us, phases {phases} add up to {sum(phases):.2f}")
PY
matched=$(sed -n 's/.* \([0-9]*\) of 200 faults matched.*/\1/p' "$tmp/bd.txt")
[ "$matched" -ge 180 ] || { echo "only $matched of 200 faults matched their owner's record"; exit 1; }
# One CPU for a ping-pong is refused, in one line.
if "$BUILD/gvm-bench" tp-lat --cpu 0 --iters 10 > "$tmp/cpu.txt" 2>&1; then
	echo "--cpu 0 accepted for tp-lat"; exit 1
fi
[ "$(wc -l < "$tmp/cpu.txt")" = 1 ] && grep -q 'one CPU' "$tmp/cpu.txt"
python3 - "$top/bench/results.schema.json" "$tmp/r.json" "$tmp/r.csv" <<'PY'
import json, sys
schema, doc = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
kinds = {"integer": int, "number": (int, float), "string": str, "object": dict, "array": list, "boolean": bool}
def check(s, v, where):
    if "const" in s and v != s["const"]:
        sys.exit(f"{where}: {v!r} is not {s['const']!r}")
    if "enum" in s and v not in s["enum"]:
        sys.exit(f"{where}: {v!r} not one of {s['enum']}")
    t = s.get("type")
    if t and not (isinstance(v, kinds[t]) and not (t in ("integer", "number") and isinstance(v, bool))):
        sys.exit(f"{where}: {v!r} is not {t}")
    for k in s.get("required", []):
        if k not in v:
            sys.exit(f"{where}: missing {k}")
    for k, sub in s.get("properties", {}).items():
        if isinstance(v, dict) and k in v:
            check(sub, v[k], f"{where}.{k}")
    if t == "array":
        for i, item in enumerate(v):
            check(s["items"], item, f"{where}[{i}]")
check(schema, doc, "$")
tests = {r["test"] for r in doc["results"]}
want = {"tp-lat", "tp-bw", "dsm-read", "dsm-write", "dsm-pingpong", "dsm-mix", "dsm-scale", "dsm-boot", "dsm-mem", "dsm-scan"}
if tests != want:
    sys.exit(f"results cover {sorted(tests)}, not {sorted(want)}")
rows = open(sys.argv[3]).read().splitlines()
if len(rows) != 1 + len(doc["results"]):
    sys.exit(f"csv has {len(rows) - 1} rows for {len(doc['results'])} results")
for r in doc["results"]:
    if r["baseline"]:
        own = {"latency": "baseline_median_ns", "bandwidth": "baseline_mbps", "throughput": "baseline_rate",
               "memory": "bytes"}[r["kind"]]
        if not r[own] > 0 or not r["ratio"] > 0:
            sys.exit(f"{r['test']} {r['label']}: ratio over {r['baseline']!r} without its {own}")
cpu = [r for r in doc["results"] if r["test"] == "dsm-read" and r["baseline"]]
if not cpu or not all(r["cpu_ns_per_op"] > 0 for r in cpu):
    sys.exit("dsm-read rows without their CPU per fault")
print(f"gvm-bench: {len(doc['results'])} results, JSON matches the schema, CSV agrees")
PY
grep -q '^| dsm-read |' "$tmp/r.md"
# Latency rows leave MB/s and per second empty; bandwidth rows median and
# p99 (and there are such rows to look at).
awk -F'|' '$2 == " tp-lat " && $3 == " tcp " {n++; if ($7 != "  " || $8 != "  ") bad = 1}
	   $2 == " tp-bw " && $3 == " tcp " {m++; if ($5 != "  " || $6 != "  ") bad = 1}
	   END {exit bad || !n || !m}' "$tmp/r.md"
grep -q '^tp-lat,tcp,64,500,[1-9]' "$tmp/cdf.csv"
