// A converted model's forward pass in LibTorch tensors, on the CPU or a CUDA
// device: the same integer arithmetic as the kernels (hf/hf_session.h), so the
// logits are equal bit for bit and a frame made on one decodes on the other.
//
// Exactness: every value is an int64 tensor, and the roundings are integer
// floor divisions. Matrix products run in float64, where they are exact: the
// operands are integers (int8 activations and weights, rotated keys of at most
// 255, exponential weights of at most 2^24 times int8 values) and every partial
// sum stays below 2^53, so each addition is exact whatever order, blocking or
// fused multiply-add the library picks. docs/pretrained.md ("Running on a
// device") gives the bounds.
//
// On CUDA (a build with LMC_WITH_CUDA against a CUDA LibTorch) each ChunkGroup
// runs on its own stream from the pool, and logits come back through a pinned
// host buffer.
//
//   LMC_ASSIGN_OR_RETURN(auto gpu, TorchBackend::Create(model, "cuda"));
//   opt.backend = gpu.get();  opt.cache_budget_bytes = gpu->MemoryBudget();
#ifndef LMC_HF_TORCH_BACKEND_H_
#define LMC_HF_TORCH_BACKEND_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "hf/hf_backend.h"
#include "hf/hf_int_model.h"

namespace lmc::hf {

class TorchBackend : public HfBackend {
 public:
  // `device` is a LibTorch device string: "cpu", "cuda", "cuda:1".
  // INVALID_ARGUMENT for a malformed one, FAILED_PRECONDITION for a device this
  // build or machine lacks (no CUDA). The model must outlive the backend.
  static absl::StatusOr<std::unique_ptr<TorchBackend>> Create(
      const HfIntModel& model, const std::string& device);
  ~TorchBackend() override;

  std::string name() const override;
  size_t CacheBytes(int positions) const override;
  bool WideGroups() const override { return true; }
  absl::StatusOr<std::unique_ptr<ChunkGroup>> Start(
      std::span<const int> rooms) const override;

  // Bytes of key/value cache the chunks in flight may hold: on CUDA, 80% of
  // the device memory free after the weights were loaded (measured once, at
  // Create); 0 on the CPU (no limit of its own).
  size_t MemoryBudget() const;
  // Whether this build can run CUDA devices at all.
  static bool BuiltWithCuda();

  struct Weights;  // tensors on the device (torch_backend.cc)

 private:
  TorchBackend() = default;
  const HfIntModel* model_ = nullptr;
  std::unique_ptr<Weights> w_;
  size_t memory_budget_ = 0;
};

}  // namespace lmc::hf

#endif  // LMC_HF_TORCH_BACKEND_H_
