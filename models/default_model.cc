#include "models/default_model.h"

#include <cstdlib>
#include <string>

extern "C" const char lmc_default_model_start[];
extern "C" const char lmc_default_model_end[];

namespace lmc {

std::string_view DefaultModelBytes() {
  return std::string_view(lmc_default_model_start,
                          lmc_default_model_end - lmc_default_model_start);
}

absl::StatusOr<std::unique_ptr<IntModel>> LoadDefaultModel() {
  return IntModel::FromBytes(std::string(DefaultModelBytes()));
}

absl::StatusOr<std::unique_ptr<IntModel>> LoadModelOrDefault(const std::string& path) {
  if (!path.empty()) return IntModel::Load(path);
  if (const char* env = std::getenv("LMC_MODEL"); env && *env) return IntModel::Load(env);
  return LoadDefaultModel();
}

}  // namespace lmc
