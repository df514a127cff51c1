#!/bin/sh
# Description: a seed replays exactly: the same seed gives the same run
# (events, deliveries and a digest of every delivered message), whether
# run alone with --seed or as a batch of one.
set -eu
SIM=${1:-build/gvm-sim}
args="--nodes 8 --pages 8 --ops 100 --delay 5 --hold 4 --manager dynamic"
a=$($SIM $args --seed 7 | tail -n 2 | tr "\n" " ")
b=$($SIM $args --seed 7 | tail -n 2 | tr "\n" " ")
c=$($SIM $args --first-seed 7 --seeds 1 | tail -n 2 | tr "\n" " ")
d=$($SIM $args --seed 8 | tail -n 2 | tr "\n" " ")
echo "seed 7: $a / $b / batch: $c; seed 8: $d"
[ "$a" = "$b" ] && [ "$a" = "$c" ] || { echo "replay differs"; exit 1; }
[ "$a" != "$d" ] || { echo "different seeds gave identical runs: is the seed used?"; exit 1; }
