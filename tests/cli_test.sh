#!/usr/bin/env bash
# The lmc CLI as a person at a terminal uses it: gzip-style file handling, stdin
# and stdout, info, and the exit codes for damaged or foreign input.
# Usage: cli_test.sh LMC_BINARY RANDOM_MODEL_TOOL
set -uo pipefail
LMC=$1
MKMODEL=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
source "$(dirname "$0")/lib.sh"
expect_rc() { # expect_rc WANT CMD...
  local want=$1; shift
  "$@" >/dev/null 2>"$T/err"; local rc=$?
  [[ $rc == "$want" ]] || { echo "  exit $rc, wanted $want: $(cat "$T/err")" >&2; return 1; }
}

"$MKMODEL" "$T/tiny.safetensors" 1 tiny
"$MKMODEL" "$T/other.safetensors" 2 tiny
export LMC_MODEL=$T/tiny.safetensors
printf 'The quick brown fox jumps over the lazy dog.\n%.0s' {1..200} >"$T/a.txt"
cp "$T/a.txt" "$T/orig.txt"

# gzip-style: FILE -> FILE.lmc, input removed; -k keeps it; decompress restores.
check "compress file" expect_rc 0 "$LMC" compress "$T/a.txt"
check "input removed" test ! -e "$T/a.txt"
check "output exists" test -s "$T/a.txt.lmc"
check "decompress file" expect_rc 0 "$LMC" decompress "$T/a.txt.lmc"
check "round trip" cmp -s "$T/a.txt" "$T/orig.txt"
check "compress -k" expect_rc 0 "$LMC" compress -k "$T/a.txt"
check "input kept" test -e "$T/a.txt"
check "refuses to overwrite" expect_rc 1 "$LMC" compress -k "$T/a.txt"
check "-f overwrites" expect_rc 0 "$LMC" compress -kf "$T/a.txt"
check "decompress refuses to overwrite" expect_rc 1 "$LMC" decompress "$T/a.txt.lmc"
check "-o" expect_rc 0 "$LMC" decompress -o "$T/b.txt" "$T/a.txt.lmc"
check "-o round trip" cmp -s "$T/b.txt" "$T/orig.txt"
check "unknown suffix" expect_rc 1 "$LMC" decompress "$T/b.txt"

# Pipes: stdin to stdout, and -c.
"$LMC" compress <"$T/orig.txt" >"$T/p.lmc"
check "pipe compress" test -s "$T/p.lmc"
"$LMC" decompress <"$T/p.lmc" >"$T/p.txt"
check "pipe round trip" cmp -s "$T/p.txt" "$T/orig.txt"
"$LMC" decompress -c "$T/p.lmc" >"$T/c.txt"
check "-c round trip" cmp -s "$T/c.txt" "$T/orig.txt"
check "-c keeps input" test -e "$T/p.lmc"
: >"$T/empty"
"$LMC" compress -c "$T/empty" | "$LMC" decompress >"$T/empty.out"
check "empty input" cmp -s "$T/empty" "$T/empty.out"

# info shows the header.
"$LMC" info "$T/p.lmc" >"$T/info"
# Up to 64 KB the compact header names the model by 8 bytes of its fingerprint.
check "info model" grep -q "model         $(sha256sum "$T/tiny.safetensors" | cut -c1-16)\.\.\. (the loaded model)" "$T/info"
check "info compact" grep -q "compact header" "$T/info"
# Beyond 64 KB, the full header: the whole fingerprint, 64-bit checksum.
printf 'The quick brown fox jumps over the lazy dog.\n%.0s' {1..1600} >"$T/big.txt"
"$LMC" compress -c "$T/big.txt" >"$T/big.lmc"
"$LMC" info "$T/big.lmc" >"$T/info.big"
check "info full model" grep -q "$(sha256sum "$T/tiny.safetensors" | cut -c1-64) (the loaded model)" "$T/info.big"
check "info full header" expect_rc 1 grep -q "compact header" "$T/info.big"
check "big round trip" cmp -s <("$LMC" decompress -c "$T/big.lmc") "$T/big.txt"
check "info sizes" grep -q "original      9000 bytes" "$T/info"
check "models" expect_rc 0 "$LMC" models

# Damage: exit 2 for corrupt or truncated data, 3 for another model's frame,
# 4 for a newer format version.
head -c 60 "$T/p.lmc" >"$T/trunc.lmc"
check "truncated" expect_rc 2 "$LMC" decompress -c "$T/trunc.lmc"
cp "$T/p.lmc" "$T/flip.lmc"
printf '\x55' | dd of="$T/flip.lmc" bs=1 seek=$(( $(stat -c %s "$T/p.lmc") - 20 )) conv=notrunc 2>/dev/null
check "corrupt payload" expect_rc 2 "$LMC" decompress -c "$T/flip.lmc"
check "not a frame" expect_rc 2 "$LMC" decompress -c "$T/orig.txt"
check "other model" expect_rc 3 "$LMC" decompress -m "$T/other.safetensors" -c "$T/p.lmc"
cp "$T/p.lmc" "$T/v9.lmc"
printf '\x09' | dd of="$T/v9.lmc" bs=1 seek=4 conv=notrunc 2>/dev/null
check "newer version" expect_rc 4 "$LMC" decompress -c "$T/v9.lmc"
check "missing file" expect_rc 1 "$LMC" compress -c "$T/nope"
check "bad usage" expect_rc 1 "$LMC" frobnicate
check "broken model file" expect_rc 1 "$LMC" compress -m "$T/orig.txt" -c "$T/orig.txt"

# The embedded default model works with no model files around.
unset LMC_MODEL
printf 'hello, default model\n' | "$LMC" compress | "$LMC" decompress >"$T/d.txt"
check "default model round trip" grep -qx 'hello, default model' "$T/d.txt"

# Media: the front-end is chosen by itself, shown by info, overridable.
{ printf 'P5\n# lmc\n16 8\n255\n'; head -c 128 /dev/urandom; } >"$T/img.pgm"
"$LMC" compress -m "$T/tiny.safetensors" -c "$T/img.pgm" >"$T/img.lmc"
"$LMC" info -m "$T/tiny.safetensors" "$T/img.lmc" >"$T/img.info"
check "media: image front-end chosen" grep -q "front-end     image: image 16x8x1, maxval 255" "$T/img.info"
check "media: round trip" cmp -s <("$LMC" decompress -m "$T/tiny.safetensors" -c "$T/img.lmc") "$T/img.pgm"
"$LMC" compress -m "$T/tiny.safetensors" --modality bytes -c "$T/img.pgm" >"$T/imgb.lmc"
check "media: --modality bytes" bash -c "'$LMC' info '$T/imgb.lmc' | grep -q 'front-end     bytes'"
"$LMC" compress -m "$T/tiny.safetensors" --modality audio -c "$T/img.pgm" >"$T/imga.lmc"
check "media: not audio, so bytes" bash -c "'$LMC' info '$T/imga.lmc' | grep -q 'front-end     bytes'"
check "media: unknown modality" expect_rc 1 "$LMC" compress --modality smell -c "$T/img.pgm"
"$LMC" compress -m "$T/tiny.safetensors" --chunk 40 -c "$T/img.pgm" >"$T/imgc.lmc"
check "media: --chunk applies to samples" bash -c "'$LMC' info -m '$T/tiny.safetensors' '$T/imgc.lmc' | grep -q 'chunks        4 of up to 38 tokens'"
check "chunk size over 2^24 is a usage error" expect_rc 1 "$LMC" compress --chunk 16777217 -c "$T/img.pgm"

finish cli_test
