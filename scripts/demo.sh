#!/usr/bin/env bash
# demo.sh [FILE]: installs, builds, then compresses and decompresses a real file
# (default: the GPL-3 text that every Debian system ships) with the embedded
# default model, checks the round trip, and prints lmc's size beside gzip, xz
# and zstd.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh build >/dev/null
F=${1:-/usr/share/common-licenses/GPL-3}
LMC=build/cli/lmc
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
t0=$(date +%s.%N)
"$LMC" compress -q -c "$F" >"$T/x.lmc"
t1=$(date +%s.%N)
"$LMC" decompress -q -c "$T/x.lmc" >"$T/x.out"
t2=$(date +%s.%N)
cmp "$F" "$T/x.out" && echo "round trip: exact"
"$LMC" info "$T/x.lmc"
n=$(stat -c %s "$F")
row() { printf '%-12s %9d bytes  %6.3f bits/byte  rate %.3f\n' "$1" "$2" "$(echo "8*$2/$n" | bc -l)" "$(echo "$2/$n" | bc -l)"; }
echo
echo "$F: $n bytes"
row "gzip -9" "$(gzip -9 -c "$F" | wc -c)"
row "xz -9e" "$(xz -9e -c "$F" | wc -c)"
row "zstd -19" "$(zstd -19 -q -c "$F" | wc -c)"
row "lmc" "$(stat -c %s "$T/x.lmc")"
printf 'lmc speed: compress %.1f KB/s, decompress %.1f KB/s (%d cores)\n' \
  "$(echo "$n/1000/($t1-$t0)" | bc -l)" "$(echo "$n/1000/($t2-$t1)" | bc -l)" "$(nproc)"
