// The LibTorch backend (hf/torch_backend.h) lives in a plugin, liblmc_torch.so,
// loaded on first use: linking LibTorch into lmc itself made every run start
// 0.85 s slower on this machine, devices or not.
//
//   size_t budget = 0;
//   LMC_ASSIGN_OR_RETURN(auto gpu, LoadTorchBackend(model, "cuda", &budget));
#ifndef LMC_HF_TORCH_PLUGIN_H_
#define LMC_HF_TORCH_PLUGIN_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "hf/hf_backend.h"
#include "hf/hf_int_model.h"

namespace lmc::hf {

// The plugin's entry point, exported as "lmc_create_torch_backend".
using CreateTorchBackendFn = void (*)(
    const HfIntModel* model, const char* device,
    absl::StatusOr<std::unique_ptr<HfBackend>>* out, size_t* memory_budget);
inline constexpr char kCreateTorchBackendSymbol[] = "lmc_create_torch_backend";

// TorchBackend::Create through the plugin, for `device` as LibTorch spells it
// or prefixed "torch:" ("torch:cpu"), found at $LMC_TORCH_PLUGIN, beside
// the program, in ../lib/lmc/ from it, or in the build tree. `memory_budget`
// gets TorchBackend::MemoryBudget(). UNIMPLEMENTED when no plugin is found
// (a build without LMC_WITH_TORCH), else TorchBackend::Create's errors.
absl::StatusOr<std::unique_ptr<HfBackend>> LoadTorchBackend(
    const HfIntModel& model, const std::string& device, size_t* memory_budget);

}  // namespace lmc::hf

#endif  // LMC_HF_TORCH_PLUGIN_H_
