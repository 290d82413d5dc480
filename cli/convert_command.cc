#include "cli/convert_command.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "core/file.h"
#include "hf/checkpoint.h"
#include "hf/convert.h"
#include "hf/hf_int_model.h"

namespace lmc {
namespace {

int ConvertUsage(int code) {
  std::fprintf(code ? stderr : stdout,
      "usage: lmc convert HF_DIR -o OUT [--context N] [--calibration FILE]\n"
      "  HF_DIR            config.json, model.safetensors (or an index and shards)\n"
      "                    and tokenizer.json of a GPT-2 or Llama-family model\n"
      "  -o, --output OUT  the converted model file (a directory: OUT/model.safetensors)\n"
      "  --context N       positions per chunk (default 1024; GPT-2: at most its table)\n"
      "  --calibration FILE  sample text for the activation ranges (default: a short\n"
      "                    built-in English text; text like the data to compress is better)\n"
      "  --calibration-tokens N  at most this many of its tokens (default 512)\n"
      "  --no-smoothing    one int8 step per activation tensor (default: per-channel\n"
      "                    smoothing of the norms' outputs, for outlier channels)\n");
  return code;
}

int Fail(const std::string& what, const absl::Status& s) {
  std::fprintf(stderr, "lmc convert: %s: %s\n", what.c_str(), std::string(s.message()).c_str());
  return absl::IsInvalidArgument(s) || absl::IsOutOfRange(s) || absl::IsUnimplemented(s) ? 2 : 1;
}

}  // namespace

int RunConvertCommand(int argc, char** argv) {
  std::string dir, out, calibration_file;
  hf::ConvertOptions opt;
  for (int i = 2; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "-h" || f == "--help") return ConvertUsage(0);
    if (f == "--no-smoothing") {
      opt.smooth = false;
      continue;
    }
    if (f.empty() || f[0] != '-') {
      if (!dir.empty()) return ConvertUsage(1);
      dir = f;
      continue;
    }
    if (i + 1 >= argc) return ConvertUsage(1);
    const std::string v = argv[++i];
    if (f == "-o" || f == "--output") out = v;
    else if (f == "--calibration") calibration_file = v;
    else if (f == "--context") { if (!absl::SimpleAtoi(v, &opt.context)) return ConvertUsage(1); }
    else if (f == "--calibration-tokens") {
      if (!absl::SimpleAtoi(v, &opt.calibration_tokens) || opt.calibration_tokens < 1) return ConvertUsage(1);
    } else {
      return ConvertUsage(1);
    }
  }
  if (dir.empty() || out.empty()) return ConvertUsage(1);
  absl::StatusOr<hf::Checkpoint> ck = hf::Checkpoint::Load(dir);
  if (!ck.ok()) return Fail(dir, ck.status());
  absl::StatusOr<std::string> tok = ReadFile(dir + "/tokenizer.json");
  if (!tok.ok()) return Fail(dir, tok.status());
  if (!calibration_file.empty()) {
    absl::StatusOr<std::string> text = ReadFile(calibration_file);
    if (!text.ok()) return Fail(calibration_file, text.status());
    opt.calibration = *std::move(text);
  }
  hf::FloatRun calibration;
  absl::StatusOr<std::string> file = hf::Convert(*ck, *tok, opt, &calibration);
  if (!file.ok()) return Fail(dir, file.status());
  std::error_code ec;
  std::string path = out;
  if (std::filesystem::is_directory(out, ec)) path = out + "/model.safetensors";
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(file->data(), static_cast<std::streamsize>(file->size()));
    if (!f.flush()) return Fail(path, absl::UnavailableError("cannot write the file"));
  }
  absl::StatusOr<std::unique_ptr<hf::HfIntModel>> m = hf::HfIntModel::FromBytes(*std::move(file));
  if (!m.ok()) return Fail(path, m.status());
  const hf::HfIntConfig& c = (*m)->config();
  std::printf("%s  %s  %s, %lld parameters, vocabulary %d, context %d%s\n",
              (*m)->fingerprint_hex().c_str(), path.c_str(), c.source.c_str(),
              static_cast<long long>((*m)->parameters()), c.vocab_size, c.context,
              (*m)->tokenizer().ignores_normalizer() ? " (tokenizer normalizer left out)" : "");
  // What the conversion costs, on the calibration text (the float model's run
  // that calibrated it).
  const hf::ConversionQuality q = hf::MeasureConversion(**m, calibration);
  if (q.tokens > 0) {
    std::printf("calibration text, %lld tokens: float %.4f bits/token, integer %.4f bits/token (%+.2f%%), "
                "KL(float || integer) %.5f bits/token\n",
                static_cast<long long>(q.tokens), q.float_bits / q.tokens,
                q.integer_bits / q.tokens, 100 * (q.integer_bits / q.float_bits - 1),
                q.kl_bits / q.tokens);
  }
  return 0;
}

}  // namespace lmc
