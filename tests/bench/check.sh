#!/bin/sh
# Description: gvm-bench runs every subcommand (briefly), prints its tables
# with ratios, and writes JSON that matches bench/results.schema.json (each
# required key, its type, the test names), CSV with one row per result and
# a markdown summary. Skips (77) without python3 to read the JSON.
set -eu
BUILD=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
command -v python3 >/dev/null || { echo "python3 missing: cannot check the JSON"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BUILD/gvm-bench" all --iters 100 --warmup 10 --sizes 64,4096 --duration-ms 200 \
	--json "$tmp/r.json" --csv "$tmp/r.csv" --markdown "$tmp/r.md" > "$tmp/out.txt"
grep -q 'x raw socket' "$tmp/out.txt"
grep -q 'x (fault + RTT)' "$tmp/out.txt"
grep -q 'promoted .* x IVY handoff' "$tmp/out.txt"
grep -q '^hotpage .* x IVY' "$tmp/out.txt"
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
want = {"tp-lat", "tp-bw", "dsm-read", "dsm-write", "dsm-pingpong", "dsm-mix", "dsm-scale", "dsm-boot"}
if tests != want:
    sys.exit(f"results cover {sorted(tests)}, not {sorted(want)}")
rows = open(sys.argv[3]).read().splitlines()
if len(rows) != 1 + len(doc["results"]):
    sys.exit(f"csv has {len(rows) - 1} rows for {len(doc['results'])} results")
print(f"gvm-bench: {len(doc['results'])} results, JSON matches the schema, CSV agrees")
PY
grep -q '^| dsm-read |' "$tmp/r.md"
