// The default model, embedded in the binary so that `lmc` works with no files
// beside it. models/default/ holds its safetensors, config and model card.
#ifndef LMC_MODELS_DEFAULT_MODEL_H_
#define LMC_MODELS_DEFAULT_MODEL_H_

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "model/int_model.h"

namespace lmc {

std::string_view DefaultModelBytes();
absl::StatusOr<std::unique_ptr<IntModel>> LoadDefaultModel();

// `path` if not empty, else $LMC_MODEL if set, else the embedded default.
absl::StatusOr<std::unique_ptr<IntModel>> LoadModelOrDefault(const std::string& path);

}  // namespace lmc

#endif  // LMC_MODELS_DEFAULT_MODEL_H_
