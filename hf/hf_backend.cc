#include "hf/hf_backend.h"

#include <algorithm>
#include <vector>

#include "hf/hf_session.h"

namespace lmc::hf {
namespace {

class KernelGroup : public ChunkGroup {
 public:
  KernelGroup(const HfIntModel& m, std::span<const int> rooms) {
    for (int room : rooms)
      sessions_.push_back(std::make_unique<HfSession>(m, std::max(1, room)));
  }

  absl::Status Feed(std::span<const uint32_t> chunks,
                    std::span<const uint32_t> tokens,
                    std::span<int32_t* const> logits) override {
    feed_.clear();
    for (uint32_t c : chunks) feed_.push_back(sessions_[c].get());
    HfSession::FeedBatch(feed_, tokens, logits);
    return absl::OkStatus();
  }

 private:
  std::vector<std::unique_ptr<HfSession>> sessions_;
  std::vector<HfSession*> feed_;
};

class Kernels : public HfBackend {
 public:
  explicit Kernels(const HfIntModel& m) : m_(m) {}
  std::string name() const override { return "cpu"; }
  size_t CacheBytes(int positions) const override {
    return HfSession::CacheBytes(m_.config(), positions);
  }
  absl::StatusOr<std::unique_ptr<ChunkGroup>> Start(
      std::span<const int> rooms) const override {
    return std::make_unique<KernelGroup>(m_, rooms);
  }

 private:
  const HfIntModel& m_;
};

}  // namespace

int DefaultLockstep(const HfBackend* backend) {
  return backend != nullptr && backend->name().starts_with("torch:cuda") ? 64 : 16;
}

std::unique_ptr<HfBackend> KernelBackend(const HfIntModel& model) {
  return std::make_unique<Kernels>(model);
}

}  // namespace lmc::hf
