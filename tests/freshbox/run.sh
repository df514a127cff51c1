#!/usr/bin/env bash
# Description: the README's quick start as a new user meets it. A fresh
# Debian 12 root (debootstrap minbase plus gcc and make, nothing else) gets
# a copy of this tree; inside it, as root in a chroot, `make check` must
# install what it needs and pass on its first run. With `bench`, `make
# bench` then runs twice and the baselines of both runs are printed side by
# side (tests/freshbox/baselines.py), with the most any moved; that is a
# report, not a verdict: the host can move our vCPUs between cache domains
# from one run to the next, and every figure with them.
#
#   tests/freshbox/run.sh [check] [bench]      (default: check)
#
# Needs root, debootstrap and a Debian mirror in the host's apt sources;
# skips (77) without them. The minbase root is made once and kept as a
# tarball in $FRESHBOX_CACHE (default /var/cache/gvm-freshbox); each run
# unpacks a new copy, so nothing one run installed is seen by the next.
# The chroot runs in its own mount namespace: its root is a mount point,
# /proc, /sys and /dev are bound in, /dev/shm, /run and /tmp are its own,
# all gone when it exits.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
steps=${*:-check}
cache=${FRESHBOX_CACHE:-/var/cache/gvm-freshbox}
suite=bookworm

[ "$(id -u)" -eq 0 ] || { echo "freshbox: needs root (chroot, mounts)"; exit 77; }
command -v debootstrap >/dev/null || { echo "freshbox: needs debootstrap (Debian: debootstrap)"; exit 77; }

# The mirror the host's apt uses (deb822 .sources or a sources.list line).
mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && awk -v s=$suite '
			/^URIs:/ {u = $2} /^Suites:/ {for (i = 2; i <= NF; i++) if ($i == s) {print u; exit}}
			/^$/ {u = ""}' "$f"
	done
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk -v s=$suite '$1 == "deb" && $3 == s {print $2}' || true
}
url=$(mirror | sed -n 1p)
[ -n "$url" ] || { echo "freshbox: no $suite mirror in the host's apt sources"; exit 77; }

base=$cache/$suite-minbase-gcc-make.tar
if [ ! -s "$base" ]; then
	echo "freshbox: debootstrap $suite (minbase, gcc, make) once, into $base"
	mkdir -p "$cache"
	made=$(mktemp -d "$cache/root.XXXXXX")
	debootstrap --variant=minbase --include=gcc,make $suite "$made" "$url" > "$cache/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$cache/debootstrap.log"; rm -rf "$made"; exit 1; }
	rm -rf "$made"/var/cache/apt/archives/*.deb "$made"/var/lib/apt/lists/*
	tar -C "$made" -cf "$base.tmp" . && mv "$base.tmp" "$base"
	rm -rf "$made"
fi

root=$(mktemp -d /var/tmp/gvm-freshbox.XXXXXX)
trap 'rm -rf --one-file-system "$root"' EXIT
tar -C "$root" -xf "$base"
# The host's apt settings (its mirror and how it checks it) and resolver.
rm -f "$root"/etc/apt/sources.list
cp -a /etc/apt/sources.list* "$root"/etc/apt/ 2>/dev/null || true
cp -a /etc/apt/apt.conf.d/. "$root"/etc/apt/apt.conf.d/
cp /etc/resolv.conf "$root"/etc/resolv.conf
# The tree as git knows it (tracked and new files, as they are on disk).
mkdir "$root/src"
git -C "$top" ls-files -z --cached --others --exclude-standard |
	(cd "$top" && tar --null -T - -cf -) | tar -C "$root/src" -xf -
echo "freshbox: $(chroot "$root" sh -c 'dpkg-query -W -f="\${Package}\n" | wc -l') packages installed;" \
	"pkg-config: $(chroot "$root" sh -c 'command -v pkg-config || echo none')"

# What runs inside: each step's output goes to our stdout.
cat > "$root/freshbox-steps.sh" <<'SH'
set -eu
cd /src
for step in "$@"; do
	case $step in
	check) echo "freshbox: make check (first run)"; make check ;;
	bench)
		for n in 1 2; do
			# Let the writeback of what was just installed and built
			# settle: it shifted a whole run's figures by 1.5x here.
			sync
			sleep 10
			echo "freshbox: make bench (run $n)"
			make bench > /tmp/bench-$n.txt
			cp -r build/bench /tmp/bench-$n
		done
		# Reported, not a verdict: the host may move our vCPUs between
		# cache domains between two runs (the handoff lines say so).
		python3 tests/freshbox/baselines.py /tmp/bench-1 /tmp/bench-2 ||
			echo "freshbox: a baseline moved 1.5x or more between the two runs" ;;
	*) echo "freshbox: unknown step $step"; exit 2 ;;
	esac
done
SH
unshare --mount --fork sh -c '
	set -e
	r=$1; shift
	mount --bind "$r" "$r" # its / a mount point, as ip netns exec needs
	mount -t proc proc "$r/proc"
	mount --rbind /sys "$r/sys"
	mount --rbind /dev "$r/dev"
	mount -t tmpfs tmpfs "$r/dev/shm"
	mount -t tmpfs tmpfs "$r/run"
	mount -t tmpfs tmpfs "$r/tmp"
	exec chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		sh /freshbox-steps.sh "$@"' freshbox "$root" $steps
