#!/usr/bin/env bash
# test.sh: installs what lmc needs, builds it, fetches the public corpus and runs
# every test: the unit and integration tests (ctest), and the decoder fuzz target
# for a bounded time. This is what .ci/run calls. Exit status 0 only if all pass.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash scripts/install-deps.sh
echo "== build" >&2
bash scripts/build.sh build
echo "== public corpus" >&2
export LMC_CORPUS_DIR=$(bash benchmarks/fetch-data.sh "$ROOT/bench-data")
echo "== fuzz (decoder, ${LMC_FUZZ_SECONDS:-60} s)" >&2
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14 \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" \
  -DLMC_BUILD_FUZZERS=ON -DLMC_BUILD_TESTS=OFF -DLMC_BUILD_TRAINER=OFF >/dev/null
cmake --build build-fuzz --target decode_fuzzer -j "$(nproc)"
mkdir -p build-fuzz/corpus
build-fuzz/tests/fuzz/decode_fuzzer -max_total_time="${LMC_FUZZ_SECONDS:-60}" \
  -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 build-fuzz/corpus 2>build-fuzz/fuzz.log ||
  { tail -50 build-fuzz/fuzz.log; echo "fuzzer found a failure" >&2; exit 1; }
grep -E "^stat::number_of_executed_units|^Done" build-fuzz/fuzz.log >&2 || true
echo "== tests" >&2
ctest --test-dir build --output-on-failure -j 2 --timeout 1800
