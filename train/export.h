// Turns a trained float model into lmc's integer model: int8 weights with
// per-output-channel scales, integer multipliers, shifts and biases for every
// requantisation, activation scales calibrated on real data, and the exp table.
// The result is a safetensors file whose "__metadata__" carries the config; the
// integer inference (model/int_model) reads nothing else.
#ifndef LMC_TRAIN_EXPORT_H_
#define LMC_TRAIN_EXPORT_H_

#include <string>

#include "absl/status/statusor.h"
#include "train/corpus.h"
#include "train/float_model.h"

namespace lmc::train {

// Returns the bytes of model.safetensors. Calibration samples `calib_batches`
// batches of 16 x 512 tokens from `calib`.
absl::StatusOr<std::string> ExportIntModel(FloatModel& model, const Corpus& calib,
                                           int calib_batches = 2);

}  // namespace lmc::train

#endif  // LMC_TRAIN_EXPORT_H_
