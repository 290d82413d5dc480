#!/usr/bin/env bash
# build.sh [BUILD_DIR]: configures and builds lmc (Release) into BUILD_DIR
# (default ./build). Extra CMake arguments come from $LMC_CMAKE_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release ${LMC_CMAKE_ARGS:-} >/dev/null
cmake --build "$B" -j "$(nproc)"
