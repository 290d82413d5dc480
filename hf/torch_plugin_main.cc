// liblmc_torch.so: the LibTorch backend behind hf/torch_plugin.h's loader.
#include "hf/torch_backend.h"
#include "hf/torch_plugin.h"

extern "C" __attribute__((visibility("default"))) void lmc_create_torch_backend(
    const lmc::hf::HfIntModel* model, const char* device,
    absl::StatusOr<std::unique_ptr<lmc::hf::HfBackend>>* out,
    size_t* memory_budget) {
  absl::StatusOr<std::unique_ptr<lmc::hf::TorchBackend>> b =
      lmc::hf::TorchBackend::Create(*model, device);
  if (!b.ok()) {
    *out = b.status();
    return;
  }
  *memory_budget = (*b)->MemoryBudget();
  *out = std::unique_ptr<lmc::hf::HfBackend>(*std::move(b));
}

// The loader's signature, checked here where both are seen.
static_assert(std::is_same_v<decltype(&lmc_create_torch_backend),
                             lmc::hf::CreateTorchBackendFn>);
