#include "server/model_registry.h"

#include "absl/strings/str_cat.h"

namespace lmc {

absl::Status ModelRegistry::Add(std::string name, std::unique_ptr<IntModel> model,
                                const SchedulerOptions& options,
                                std::unique_ptr<SchedulerObserver> observer) {
  for (const auto& m : models_) {
    if (m->name == name) return absl::InvalidArgumentError(absl::StrCat("model name '", name, "' given twice"));
  }
  auto served = std::make_unique<ServedModel>();
  served->name = std::move(name);
  served->model = std::move(model);
  served->observer = std::move(observer);
  served->scheduler =
      std::make_unique<Scheduler>(*served->model, options, served->observer.get());
  models_.push_back(std::move(served));
  return absl::OkStatus();
}

absl::Status ModelRegistry::AddConverted(std::string name, std::unique_ptr<hf::HfIntModel> model,
                                         int threads, size_t max_queue) {
  for (const auto& m : models_) {
    if (m->name == name) return absl::InvalidArgumentError(absl::StrCat("model name '", name, "' given twice"));
  }
  auto served = std::make_unique<ServedModel>();
  served->name = std::move(name);
  served->converted = std::move(model);
  served->runner = std::make_unique<ConvertedRunner>(threads, max_queue);
  models_.push_back(std::move(served));
  return absl::OkStatus();
}

absl::StatusOr<ServedModel*> ModelRegistry::ByName(const std::string& name) {
  if (models_.empty()) return absl::UnavailableError("no model loaded");
  if (name.empty()) return models_.front().get();
  for (const auto& m : models_) {
    if (m->name == name) return m.get();
  }
  return absl::NotFoundError(absl::StrCat("model '", name, "' is not served here"));
}

absl::StatusOr<ServedModel*> ModelRegistry::ByFrame(const FrameHeader& header) {
  for (const auto& m : models_) {
    if (FrameModelIs(header, m->fingerprint())) return m.get();
  }
  const std::string hex = ToHex(header.model);
  return absl::FailedPreconditionError(
      absl::StrCat("frame was made by model ",
                   header.compact ? hex.substr(0, 2 * kCompactModelBytes) + "..." : hex,
                   ", which this server does not serve (see ListModels)"));
}

}  // namespace lmc
