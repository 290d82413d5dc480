// Converts a Hugging Face checkpoint into lmc's exact integer inference
// (hf/hf_int_model.h): weights to int8 rows, activation scales calibrated by
// running the float model (hf/float_model.h) on sample text, every scale folded
// into integer multipliers and shifts, and the tokenizer.json stored inside.
// docs/pretrained.md, "The converted model", says what each tensor is.
//
//   LMC_ASSIGN_OR_RETURN(Checkpoint ck, Checkpoint::Load(dir));
//   LMC_ASSIGN_OR_RETURN(std::string file, Convert(ck, tokenizer_json, {.calibration = text}));
#ifndef LMC_HF_CONVERT_H_
#define LMC_HF_CONVERT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "hf/checkpoint.h"
#include "hf/hf_int_model.h"

namespace lmc::hf {

struct ConvertOptions {
  int context = 1024;            // positions per chunk (GPT-2: at most its table)
  std::string calibration;       // sample text; empty: a short built-in English text
  int calibration_tokens = 512;  // at most this many of its tokens are run
  // Per-channel smoothing of the norms' outputs (SmoothQuant, strength alpha)
  // and a step per value channel: keeps int8 precise where a few channels
  // are far larger than the rest. Off: one step per activation tensor.
  bool smooth = true;
  double smooth_alpha = 0.5;
};

// The float model's logits over token windows (each a chunk as the codec
// cuts it, after the BOS when there is one).
struct FloatRun {
  std::vector<std::vector<uint32_t>> windows;
  std::vector<std::vector<float>> logits;  // per window, [tokens][vocab]
};

// The converted model file (safetensors bytes). INVALID_ARGUMENT for a
// tokenizer that does not fit the checkpoint or a bad option, OUT_OF_RANGE for
// weights or scales outside what the integer format holds. `calibration`, when
// given, receives the float model's run on the calibration text, so that the
// conversion can be measured on it without running the float model again.
absl::StatusOr<std::string> Convert(const Checkpoint& ck, const std::string& tokenizer_json,
                                    const ConvertOptions& opt, FloatRun* calibration = nullptr);

// The text used when ConvertOptions::calibration is empty.
std::string_view DefaultCalibrationText();

// How well the integer model keeps its float self, in bits per token over the
// same tokens (each token predicted from the ones before it in its window).
struct ConversionQuality {
  int64_t tokens = 0;
  double float_bits = 0;    // -log2 softmax of the float logits
  double integer_bits = 0;  // -log2 of the coded frequencies, as the coder spends them
  double kl_bits = 0;       // sum of KL(float softmax || integer softmax), in bits
};
absl::StatusOr<ConversionQuality> MeasureConversion(const Checkpoint& ck, const HfIntModel& m,
                                                    const std::vector<uint32_t>& ids);
// The same against a float run already made (Convert's calibration run).
ConversionQuality MeasureConversion(const HfIntModel& m, const FloatRun& run);

}  // namespace lmc::hf

#endif  // LMC_HF_CONVERT_H_
