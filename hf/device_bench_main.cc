// lmc-device-bench: a converted model on the CPU kernels and on a LibTorch
// device, side by side. Compresses the input on both (the frames must be
// equal), decompresses each frame on the other, and prints compress and
// decompress speed against the batch size (chunks stepped together). Exits 1
// on any difference. scripts/device-check.sh runs it on a GPU machine.
//
//   lmc-device-bench (--model FILE | --convert HF_DIR [--context N]) --input
//   FILE
//                    [--bytes N] [--device cuda] [--batches 1,4,16,64] [--chunk
//                    N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "core/file.h"
#include "hf/checkpoint.h"
#include "hf/convert.h"
#include "hf/hf_int_model.h"
#include "hf/token_codec.h"
#include "hf/torch_backend.h"

namespace {

using Clock = std::chrono::steady_clock;

int Die(const std::string& what) {
  std::fprintf(stderr, "lmc-device-bench: %s\n", what.c_str());
  return 1;
}

double Seconds(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  // Each line as it comes: a run stopped by its time limit keeps its rows.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string model_path, convert_dir, input_path, device = "cuda",
                                                   batches = "1,4,16,64";
  int context = 1024, chunk = 0;
  size_t max_bytes = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string f = argv[i], v = argv[i + 1];
    if (f == "--model")
      model_path = v;
    else if (f == "--convert")
      convert_dir = v;
    else if (f == "--context")
      context = std::atoi(v.c_str());
    else if (f == "--input")
      input_path = v;
    else if (f == "--bytes")
      max_bytes = std::strtoull(v.c_str(), nullptr, 10);
    else if (f == "--device")
      device = v;
    else if (f == "--batches")
      batches = v;
    else if (f == "--chunk")
      chunk = std::atoi(v.c_str());
    else
      return Die("unknown flag " + f);
  }
  if ((model_path.empty() == convert_dir.empty()) || input_path.empty()) {
    return Die(
        "usage: (--model FILE | --convert HF_DIR [--context N]) --input FILE "
        "[--bytes N] "
        "[--device cuda] [--batches 1,4,16,64] [--chunk N]");
  }
  absl::StatusOr<std::string> input = lmc::ReadFile(input_path);
  if (!input.ok()) return Die(input.status().ToString());
  if (max_bytes > 0 && input->size() > max_bytes) input->resize(max_bytes);

  std::string file;
  if (!convert_dir.empty()) {
    const Clock::time_point t0 = Clock::now();
    absl::StatusOr<lmc::hf::Checkpoint> ck =
        lmc::hf::Checkpoint::Load(convert_dir);
    if (!ck.ok()) return Die(ck.status().ToString());
    absl::StatusOr<std::string> tok =
        lmc::ReadFile(convert_dir + "/tokenizer.json");
    if (!tok.ok()) return Die(tok.status().ToString());
    lmc::hf::ConvertOptions co;
    co.context = context;
    absl::StatusOr<std::string> made = lmc::hf::Convert(*ck, *tok, co);
    if (!made.ok()) return Die(made.status().ToString());
    file = *std::move(made);
    std::printf("converted %s in %.1f s\n", convert_dir.c_str(), Seconds(t0));
  } else {
    absl::StatusOr<std::string> read = lmc::ReadFile(model_path);
    if (!read.ok()) return Die(read.status().ToString());
    file = *std::move(read);
  }
  absl::StatusOr<std::unique_ptr<lmc::hf::HfIntModel>> loaded =
      lmc::hf::HfIntModel::FromBytes(std::move(file));
  if (!loaded.ok()) return Die(loaded.status().ToString());
  const lmc::hf::HfIntModel& m = **loaded;
  const size_t tokens = m.tokenizer().Encode(*input).size();

  Clock::time_point t0 = Clock::now();
  absl::StatusOr<std::unique_ptr<lmc::hf::TorchBackend>> dev =
      lmc::hf::TorchBackend::Create(m, device);
  if (!dev.ok()) return Die(dev.status().ToString());
  const double load_s = Seconds(t0);

  std::printf(
      "model %s  %s  %lld parameters  context %d  input %zu bytes, %zu "
      "tokens\n",
      m.fingerprint_hex().substr(0, 16).c_str(), m.config().source.c_str(),
      static_cast<long long>(m.parameters()), m.config().context, input->size(),
      tokens);
  std::printf(
      "%s: weights on the device in %.1f s, key/value budget %.1f GiB\n",
      (*dev)->name().c_str(), load_s, (*dev)->MemoryBudget() / double(1 << 30));

  lmc::hf::TokenCodecOptions cpu{.chunk_tokens = chunk};
  t0 = Clock::now();
  absl::StatusOr<std::string> want = lmc::hf::CompressTokens(m, *input, cpu);
  if (!want.ok()) return Die("cpu compress: " + want.status().ToString());
  const double cpu_c = Seconds(t0);
  t0 = Clock::now();
  absl::StatusOr<std::string> cpu_back =
      lmc::hf::DecompressTokens(m, *want, cpu);
  const double cpu_d = Seconds(t0);
  if (!cpu_back.ok() || *cpu_back != *input)
    return Die("cpu round trip failed");

  std::printf("%-14s %6s | %10s %10s | %10s %10s | %s\n", "where", "batch",
              "c tok/s", "c KB/s", "d tok/s", "d KB/s", "frame");
  const auto row = [&](const std::string& where, const std::string& batch,
                       double c, double d, const char* note) {
    std::printf("%-14s %6s | %10.0f %10.1f | %10.0f %10.1f | %s\n",
                where.c_str(), batch.c_str(), tokens / c,
                input->size() / c / 1000, tokens / d, input->size() / d / 1000,
                note);
  };
  row("cpu kernels", "16", cpu_c, cpu_d, "reference");
  int failures = 0;
  for (const absl::string_view b : absl::StrSplit(batches, ',')) {
    int batch = 0;
    if (!absl::SimpleAtoi(b, &batch) || batch < 1) return Die("bad --batches");
    lmc::hf::TokenCodecOptions o{.chunk_tokens = chunk,
                                 .lockstep = batch,
                                 .encode_rows = 8 * batch,
                                 .backend = dev->get()};
    if ((*dev)->MemoryBudget() > 0)
      o.cache_budget_bytes = (*dev)->MemoryBudget();
    t0 = Clock::now();
    absl::StatusOr<std::string> got = lmc::hf::CompressTokens(m, *input, o);
    const double c = Seconds(t0);
    if (!got.ok()) return Die(device + " compress: " + got.status().ToString());
    t0 = Clock::now();
    // The CPU's frame decoded on the device.
    absl::StatusOr<std::string> back = lmc::hf::DecompressTokens(m, *want, o);
    const double d = Seconds(t0);
    const bool same = *got == *want;
    const bool exact = back.ok() && *back == *input;
    // The device's frame decoded on the CPU kernels: when it equals the
    // CPU's frame, that decode was done above (cpu_back).
    bool cpu_exact = same;
    if (!same) {
      absl::StatusOr<std::string> on_cpu =
          lmc::hf::DecompressTokens(m, *got, cpu);
      cpu_exact = on_cpu.ok() && *on_cpu == *input;
    }
    failures += !same + !exact + !cpu_exact;
    row((*dev)->name(), std::string(b), c, d,
        !same        ? "DIFFERS from the CPU's"
        : !exact     ? "CPU frame: device decode FAILED"
        : !cpu_exact ? "device frame: CPU decode FAILED"
                     : "= CPU's; decodes both ways");
  }
  std::printf("compressed %zu -> %zu bytes (%.4f)\n", input->size(),
              want->size(), double(want->size()) / input->size());
  return failures == 0 ? 0 : 1;
}
