# Sourced by scripts/device-check.sh and scripts/device-bench.sh: `step`
# prints a step's heading, `describe_machine` what the GPU machine has (the
# GPU, the OS, the cores, the tools, torch and its CUDA), with $PY the Python
# that has torch.
step() { echo; echo "=== $*"; }

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
