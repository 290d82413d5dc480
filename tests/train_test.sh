#!/usr/bin/env bash
# The trainer as a user fine-tunes with it: lmc-train trains a tiny model from
# scratch, `lmc train --init` fine-tunes it (and the shipped default) on other
# files, the new model compresses exactly, a second run resumes, bad --init
# values fail with a message.
# Usage: train_test.sh LMC_BINARY LMC_TRAIN_BINARY
set -uo pipefail
LMC=$1
TRAIN=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
source "$(dirname "$0")/lib.sh"

# Two corpora of 60 small files each: prose-like lines, and JSON messages.
mkdir -p "$T/prose" "$T/json"
words=(the whale ship sea Ahab captain white boat harpoon deck night storm)
for i in $(seq 1 60); do
  for j in $(seq 1 100); do echo "${words[$(((i * j) % 12))]} ${words[$(((i + j) % 12))]} ${words[$((j % 12))]}."; done >"$T/prose/$i.txt"
  for j in $(seq 1 40); do printf '{"id": %d, "user": "u%d", "action": "%s", "ok": true}\n' $((i * 100 + j)) $((j % 7)) "${words[$((j % 12))]}"; done >"$T/json/$i.json"
done
tiny=(--d_model 32 --n_layers 1 --n_heads 2 --d_ff 64 --window 16 --batch 2 --seq 64
      --threads 1 --validation_percent 10)

# From scratch: a finished schedule exports the integer model.
"$TRAIN" --data "$T/prose" --run "$T/base" --steps 3 "${tiny[@]}" 2>"$T/log"
check "fresh run exports" test -s "$T/base/export/model.safetensors"
check "progress shows bits/byte" grep -q "validation [0-9.]* bits/byte" "$T/log"

# Fine-tuning from it.
"$LMC" train --init "$T/base" --corpus "$T/json" -o "$T/ft" --steps 2 --batch 2 --seq 64 \
  --threads 1 2>"$T/log"
check "fine-tune exit" test $? -eq 0
check "fine-tuned model" test -s "$T/ft/model.safetensors"
check "fine-tuned config" test -s "$T/ft/config.json"
check "checkpoint records init" grep -q "\"init\"" "$T/ft/checkpoint/state.json"
check "log says fine-tuning" grep -q "fine-tuning at step 0" "$T/log"
base_fp=$("$LMC" -m "$T/base/export" models | cut -c1-64)
ft_fp=$("$LMC" -m "$T/ft" models | cut -c1-64)
check "new fingerprint" test "$base_fp" != "$ft_fp"
"$LMC" -m "$T/ft" compress -c "$T/json/7.json" >"$T/m.lmc"
check "round trip with the fine-tuned model" cmp -s <("$LMC" -m "$T/ft" decompress -c "$T/m.lmc") "$T/json/7.json"
check "base model refuses its frames" test "$("$LMC" -m "$T/base/export" decompress -c "$T/m.lmc" >/dev/null 2>&1; echo $?)" -eq 3

# The same command again resumes the finished run: no new steps, same model.
before=$(sha256sum <"$T/ft/model.safetensors")
"$LMC" train --init "$T/base" --corpus "$T/json" -o "$T/ft" --steps 2 --batch 2 --seq 64 \
  --threads 1 2>"$T/log"
check "resume exit" test $? -eq 0
check "resume says resuming" grep -q "resuming at step 2" "$T/log"
check "resume keeps the model" test "$before" = "$(sha256sum <"$T/ft/model.safetensors")"

# The shipped default, by name.
"$LMC" train --corpus "$T/json" -o "$T/ftd" --steps 1 --batch 1 --seq 32 --threads 1 2>"$T/log"
check "fine-tune the default" test -s "$T/ftd/model.safetensors"
check "default's config" grep -q '"d_model": 192' "$T/ftd/config.json"

# Mistakes.
"$LMC" train --init "$T/nowhere" --corpus "$T/json" -o "$T/bad" --steps 1 2>"$T/err"
check "missing init fails" test $? -ne 0
check "missing init says why" grep -q "no float checkpoint" "$T/err"
"$LMC" train --init "$T/ft" --corpus "$T/json" -o "$T/bad" --steps 1 --batch 2 --seq 64 \
  --threads 1 2>/dev/null  # a model made by lmc train holds checkpoint/: it fine-tunes further
check "fine-tune a fine-tuned model" test -s "$T/bad/model.safetensors"
"$LMC" train --corpus "$T/json" 2>/dev/null
check "usage without -o" test $? -eq 1

finish train_test
