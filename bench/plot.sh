#!/bin/sh
# plot.sh DIR - SVG plots from DIR/results.csv (gvm-bench --csv), with
# gnuplot (Debian: gnuplot-nox). Without gnuplot it says so and exits 0.
#   tp-lat.svg     median half round trip vs message size, transport and raw
#   dsm-fault.svg  median remote fault latency: read per fault mode, write
#                  per sharer count, page ping-pong, next to the baselines
set -eu
dir=${1:-build/bench}
csv=$dir/results.csv
[ -s "$csv" ] || { echo "plot: no $csv (run gvm-bench --csv first)"; exit 1; }
command -v gnuplot >/dev/null 2>&1 ||
	{ echo "plot: gnuplot not installed (Debian: gnuplot-nox): no plots"; exit 0; }

# One file per series: bytes and median in microseconds.
grep '^tp-lat,' "$csv" | awk -F, '$2 !~ /^raw / {print $3, $6 / 1000}' > "$dir/.lat-tp"
grep '^tp-lat,raw socket,' "$csv" | awk -F, '{print $3, $6 / 1000}' > "$dir/.lat-raw"
grep '^tp-lat,raw shared memory,' "$csv" | awk -F, '{print $3, $6 / 1000}' > "$dir/.lat-shm"
grep -E '^dsm-(read|write|pingpong),' "$csv" |
	awk -F, '{gsub(/ /, "_", $2); print $1 ":" $2, $6 / 1000}' > "$dir/.dsm"

gnuplot <<GP
set terminal svg size 800,480 dynamic font "sans,12"
set termoption noenhanced
set output "$dir/tp-lat.svg"
set title "tp-lat: half round trip (median)"
set xlabel "message size (bytes)"
set ylabel "microseconds"
set logscale x 2
set key top left
set grid
plot "$dir/.lat-tp" using 1:2 with linespoints title "gvm-dsm transport", \
     "$dir/.lat-raw" using 1:2 with linespoints title "raw socket (same run)", \
     "$dir/.lat-shm" using 1:2 with linespoints title "raw shared memory (same run)"

set output "$dir/dsm-fault.svg"
unset logscale x
set title "DSM faults, 4 KiB pages (median)"
set xlabel ""
set ylabel "microseconds"
set style data histograms
set style fill solid 0.6
set boxwidth 0.8
set xtics rotate by -35 font ",9"
set key off
plot "$dir/.dsm" using 2:xtic(1)
GP
rm -f "$dir/.lat-tp" "$dir/.lat-raw" "$dir/.lat-shm" "$dir/.dsm"
echo "plot: $dir/tp-lat.svg $dir/dsm-fault.svg"
