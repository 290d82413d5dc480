// The models a server serves, by name and by fingerprint, each with its own
// batching scheduler. Frames name their model by fingerprint, so decompression
// finds the model by itself.
#ifndef LMC_SERVER_MODEL_REGISTRY_H_
#define LMC_SERVER_MODEL_REGISTRY_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/frame.h"
#include "core/hashing.h"
#include "engine/scheduler.h"
#include "hf/hf_backend.h"
#include "hf/hf_int_model.h"
#include "model/int_model.h"
#include "server/converted_runner.h"

namespace lmc {

// An lmc byte model (model, observer, scheduler) or a converted Hugging Face
// model (converted, runner): exactly one of model and converted is set.
struct ServedModel {
  std::string name;
  std::unique_ptr<IntModel> model;
  std::unique_ptr<SchedulerObserver> observer;  // may be null; outlives the scheduler
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<hf::HfIntModel> converted;
  std::unique_ptr<ConvertedRunner> runner;
  // Where the converted model runs; null: the CPU kernels. cache_budget: the
  // backend's key/value budget (0: the codec's default).
  std::unique_ptr<hf::HfBackend> backend;
  size_t cache_budget = 0;
  int lockstep = 16;  // chunks a call steps together (64 on CUDA)

  const Sha256Digest& fingerprint() const {
    return model ? model->fingerprint() : converted->fingerprint();
  }
  std::string fingerprint_hex() const { return ToHex(fingerprint()); }
  int64_t parameters() const { return model ? model->parameters() : converted->parameters(); }
  std::string architecture() const {
    return model ? ModelConfig::kArchitecture : hf::kHfIntArchitecture;
  }
};

class ModelRegistry {
 public:
  // The first model added is the default.
  absl::Status Add(std::string name, std::unique_ptr<IntModel> model,
                   const SchedulerOptions& options,
                   std::unique_ptr<SchedulerObserver> observer = nullptr);
  // A converted model, its calls run by `threads` threads from a queue of at
  // most `max_queue` calls.
  absl::Status AddConverted(std::string name, std::unique_ptr<hf::HfIntModel> model, int threads,
                            size_t max_queue);
  // Empty name: the default. NOT_FOUND otherwise.
  absl::StatusOr<ServedModel*> ByName(const std::string& name);
  // FAILED_PRECONDITION, naming the fingerprint, when no served model has it.
  // The model a frame names (compact frames name it by a prefix).
  absl::StatusOr<ServedModel*> ByFrame(const FrameHeader& header);
  const std::vector<std::unique_ptr<ServedModel>>& models() const { return models_; }

 private:
  std::vector<std::unique_ptr<ServedModel>> models_;
};

}  // namespace lmc

#endif  // LMC_SERVER_MODEL_REGISTRY_H_
