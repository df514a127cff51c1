#!/bin/sh
# plot.sh DIR - SVG plots of gvm-bench's result files in DIR, with gnuplot
# (Debian: gnuplot-nox); without gnuplot it says so and exits 0. It reads
# results.csv and cdf.csv (gvm-bench --csv, --cdf) and, when present,
# cxl.csv and cxl-cdf.csv (the same over --transport cxl). One colour per
# series, each baseline its own (lighter, dashed) series, p99 as error bars:
#   tp-lat.svg        median half round trip vs message size (bar to p99)
#   tp-bw.svg         bandwidth vs message size
#   dsm-fault.svg     each DSM fault row beside the yardstick measured in
#                     the same blocks (medians, bars to p99)
#   tp-lat-cdf.svg    latency CDF at 4096 bytes (log x)
#   dsm-read-cdf.svg  remote read fault CDF, each fault mode and yardstick (log x)
#   dsm-breakdown.svg the median fault's phases stacked, per fault mode and
#                     transport (breakdown.csv, cxl-breakdown.csv: gvm-bench
#                     --breakdown=FILE), when present
set -eu
dir=${1:-build/bench}
[ -s "$dir/results.csv" ] || { echo "plot: no $dir/results.csv (run gvm-bench --csv first)"; exit 1; }
command -v gnuplot >/dev/null 2>&1 ||
	{ echo "plot: gnuplot not installed (Debian: gnuplot-nox): no plots"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# All rows of every result file, without their headers.
for f in results cxl; do
	[ -s "$dir/$f.csv" ] && tail -n +2 "$dir/$f.csv"
done > "$tmp/rows"
for f in cdf cxl-cdf; do
	[ -s "$dir/$f.csv" ] && tail -n +2 "$dir/$f.csv"
done > "$tmp/cdf"

# series TEST LABEL FILE: bytes, median, p99 (us) or MB/s of one label.
series() {
	awk -F, -v t="$1" -v l="$2" '$1 == t && $2 == l {
		print $4, $7 / 1000, $9 / 1000, $12 }' "$tmp/rows" > "$3"
}
# cdf TEST LABEL BYTES FILE: latency (us) and fraction of samples at or below.
cdf() {
	awk -F, -v t="$1" -v l="$2" -v b="$3" '$1 == t && $2 == l && $3 == b {
		print $5 / 1000, $4 / 1000 }' "$tmp/cdf" | sort -n > "$4"
}

series tp-lat tcp "$tmp/lat-tcp"
series tp-lat "raw socket" "$tmp/lat-rawsock"
series tp-lat cxl "$tmp/lat-cxl"
series tp-lat "raw shared memory" "$tmp/lat-rawshm"
series tp-bw tcp "$tmp/bw-tcp"
series tp-bw cxl "$tmp/bw-cxl"
awk -F, '$1 == "tp-bw" && $2 == "raw stream" {print $4, $12}' "$dir/results.csv" > "$tmp/bw-rawsock"
[ -s "$dir/cxl.csv" ] && awk -F, '$1 == "tp-bw" && $2 == "raw stream" {print $4, $12}' "$dir/cxl.csv" > "$tmp/bw-rawshm"
touch "$tmp/bw-rawshm"

# Each DSM row that divides by a yardstick, beside the yardstick row that
# follows it in the same test: name, ours (median, p99), yardstick (median, p99).
awk -F, '
	$1 ~ /^dsm-(read|write|pingpong)$/ && $15 ~ /^raw uffd fault/ {
		name = $1 " " $2; sub(/^dsm-/, "", name); med = $7 / 1000; p99 = $9 / 1000; next }
	$1 ~ /^dsm-/ && $2 ~ /yardstick/ && name != "" {
		printf "\"%s\"\t%.2f\t%.2f\t%.2f\t%.2f\n", name, med, p99, $7 / 1000, $9 / 1000; name = "" }
' "$tmp/rows" > "$tmp/dsm"

# The median fault's phases: one row per test and label, phases across,
# in microseconds, with a header row naming them.
for f in breakdown cxl-breakdown; do
	[ -s "$dir/$f.csv" ] && tail -n +2 "$dir/$f.csv"
done | awk -F, '
	{ key = $1 " " $2; if (!(key in seen)) { seen[key] = 1; order[++n] = key }
	  if (!($3 in ph)) { ph[$3] = 1; phases[++m] = $3 }
	  v[key, $3] = $4 / 1000 }
	END { if (!n) exit
	      printf "what"; for (j = 1; j <= m; j++) printf "\t%s", phases[j]; printf "\n"
	      for (i = 1; i <= n; i++) { printf "%s", order[i]
		for (j = 1; j <= m; j++) printf "\t%.2f", v[order[i], phases[j]]; printf "\n" } }
' > "$tmp/bd"

cdf tp-lat tcp 4096 "$tmp/cdf-tcp"
cdf tp-lat "raw socket" 4096 "$tmp/cdf-rawsock"
cdf tp-lat cxl 4096 "$tmp/cdf-cxl"
cdf tp-lat "raw shared memory" 4096 "$tmp/cdf-rawshm"
i=0
for label in tcp/thread tcp/sigbus tcp/mprotect "tcp yardstick/thread" \
	cxl/thread cxl/sigbus cxl/mprotect "cxl yardstick/thread"; do
	i=$((i + 1))
	cdf dsm-read "$label" 4096 "$tmp/read-$i"
done

# plot FILE SPEC [FILE SPEC ...]: a plot command of the series that have
# points (the cxl ones may be missing).
plot() {
	out=""
	while [ $# -gt 1 ]; do
		[ -s "$1" ] && out="${out:+$out, }\"$1\" $2"
		shift 2
	done
	echo "plot $out"
}

gnuplot <<GP
set terminal svg size 900,540 dynamic font "sans,12" background "white"
set termoption noenhanced
set grid
set key top left box opaque
tcp = "#1f4e9c"; rawsock = "#7fa6e0"; cxl = "#c25400"; rawshm = "#f2a66a"
set style line 1 lc rgb tcp lw 2 pt 7
set style line 2 lc rgb rawsock lw 2 pt 6 dt 2
set style line 3 lc rgb cxl lw 2 pt 5
set style line 4 lc rgb rawshm lw 2 pt 4 dt 2

set output "$dir/tp-lat.svg"
set title "tp-lat: half round trip, median (bars to p99)"
set xlabel "message size (bytes)"
set ylabel "microseconds"
set logscale xy
$(plot \
	"$tmp/lat-tcp" 'using 1:2:2:3 with yerrorlines ls 1 title "gvm-dsm tcp"' \
	"$tmp/lat-rawsock" 'using 1:2:2:3 with yerrorlines ls 2 title "raw socket (baseline)"' \
	"$tmp/lat-cxl" 'using 1:2:2:3 with yerrorlines ls 3 title "gvm-dsm cxl"' \
	"$tmp/lat-rawshm" 'using 1:2:2:3 with yerrorlines ls 4 title "raw shared memory (baseline)"')

set output "$dir/tp-bw.svg"
set title "tp-bw: streaming bandwidth (window of messages in flight)"
set ylabel "MB/s (10^6 bytes)"
$(plot \
	"$tmp/bw-tcp" 'using 1:4 with linespoints ls 1 title "gvm-dsm tcp"' \
	"$tmp/bw-rawsock" 'using 1:2 with linespoints ls 2 title "raw socket stream (baseline)"' \
	"$tmp/bw-cxl" 'using 1:4 with linespoints ls 3 title "gvm-dsm cxl"' \
	"$tmp/bw-rawshm" 'using 1:2 with linespoints ls 4 title "raw shared-memory stream (baseline)"')

set output "$dir/tp-lat-cdf.svg"
set title "tp-lat at 4096 bytes: distribution of half round trips"
set xlabel "microseconds (log)"
set ylabel "fraction of samples at or below"
unset logscale
set logscale x
set yrange [0:1]
set key outside right top
$(plot \
	"$tmp/cdf-tcp" 'using 1:2 with lines ls 1 title "gvm-dsm tcp"' \
	"$tmp/cdf-rawsock" 'using 1:2 with lines ls 2 title "raw socket (baseline)"' \
	"$tmp/cdf-cxl" 'using 1:2 with lines ls 3 title "gvm-dsm cxl"' \
	"$tmp/cdf-rawshm" 'using 1:2 with lines ls 4 title "raw shared memory (baseline)"')

set output "$dir/dsm-read-cdf.svg"
set title "dsm-read: distribution of remote read faults, 4 KiB"
set style line 11 lc rgb tcp lw 2
set style line 12 lc rgb "#3a9a3a" lw 2
set style line 13 lc rgb "#8e3a9a" lw 2
set style line 14 lc rgb rawsock lw 2 dt 2
set style line 15 lc rgb cxl lw 2
set style line 16 lc rgb "#9a7a00" lw 2
set style line 17 lc rgb "#c2186b" lw 2
set style line 18 lc rgb rawshm lw 2 dt 2
$(plot \
	"$tmp/read-1" 'using 1:2 with lines ls 11 title "tcp/thread"' \
	"$tmp/read-2" 'using 1:2 with lines ls 12 title "tcp/sigbus"' \
	"$tmp/read-3" 'using 1:2 with lines ls 13 title "tcp/mprotect"' \
	"$tmp/read-4" 'using 1:2 with lines ls 14 title "yardstick, raw socket"' \
	"$tmp/read-5" 'using 1:2 with lines ls 15 title "cxl/thread"' \
	"$tmp/read-6" 'using 1:2 with lines ls 16 title "cxl/sigbus"' \
	"$tmp/read-7" 'using 1:2 with lines ls 17 title "cxl/mprotect"' \
	"$tmp/read-8" 'using 1:2 with lines ls 18 title "yardstick, raw shared memory"')

set output "$dir/dsm-fault.svg"
set title "DSM faults, 4 KiB pages: median (bars to p99), each beside its yardstick"
unset logscale
set logscale y
set yrange [1:*]
set key inside top left
set xlabel ""
set ylabel "microseconds (log)"
set datafile separator "\t"
set style data histograms
set style histogram errorbars gap 1.5 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -30 left font ",10" nomirror
set key top left
plot "$tmp/dsm" using 2:2:3:xtic(1) lc rgb tcp title "gvm-dsm", \
     "" using 4:4:5 lc rgb rawsock title "yardstick: raw uffd fault + raw round trip on the same medium"
$(if [ -s "$tmp/bd" ]; then cat <<BD
set output "$dir/dsm-breakdown.svg"
set title "Where a DSM fault's time goes: the median fault, phase by phase"
unset logscale
set yrange [0:*]
set ylabel "microseconds"
set style histogram rowstacked
set style fill solid 0.85 border -1
set boxwidth 0.6
set key outside right top
plot for [i=2:8] "$tmp/bd" using i:xtic(1) title columnheader(i)
BD
fi)
GP
echo "plot: $dir/tp-lat.svg $dir/tp-bw.svg $dir/dsm-fault.svg $dir/tp-lat-cdf.svg $dir/dsm-read-cdf.svg${tmp:+$([ -s "$tmp/bd" ] && echo " $dir/dsm-breakdown.svg")}"
