# Sourced by scripts/device-check.sh and scripts/device-bench.sh, the GPU
# machine's scripts. $PY is the Python that has torch.

# A step's heading.
step() { echo; echo "=== $*"; }

# What the machine has: the GPU, the OS, the cores, the tools, torch and its CUDA.
describe_machine() {
  step "machine"
  nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"
  grep -m1 PRETTY_NAME /etc/os-release || true
  echo "$(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
  for t in nvcc g++ c++ cmake ninja "$PY"; do echo "$t: $(command -v "$t" || echo MISSING)"; done
  "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'
  nvcc --version 2>/dev/null | tail -1 || true
  g++ --version | head -1
}

# with_libraries LIBDIR PROGRAM WRAPPER: writes WRAPPER, which runs PROGRAM
# with LIBDIR as its library path, so that Debian's libraries serve that
# program alone (the compilers and Python keep the machine's).
with_libraries() {
  printf '#!/bin/sh\nLD_LIBRARY_PATH="%s" exec "%s" "$@"\n' "$1" "$2" >"$3"
  chmod +x "$3"
}

# build_failed LOG: the errors of a failed configure or build, its last
# lines, and the exit.
build_failed() {
  grep -n -i -B2 -A8 'error' "$1" | head -80
  tail -40 "$1"
  echo "FAILED: build"
  exit 1
}
