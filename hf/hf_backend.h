// What runs a converted model's forward pass for the token codec: the integer
// kernels on this CPU (KernelBackend, hf/hf_session.h) or LibTorch on a device
// (hf/torch_backend.h). Every backend computes the same logits bit for bit
// (docs/pretrained.md, "The converted model"), so a frame made by one decodes
// with any other.
//
//   std::unique_ptr<HfBackend> cpu = KernelBackend(model);
//   LMC_ASSIGN_OR_RETURN(auto group, cpu->Start({25, 25, 9}));
//   LMC_RETURN_IF_ERROR(group->Feed({0, 1, 2}, {bos, bos, bos}, outs));
#ifndef LMC_HF_HF_BACKEND_H_
#define LMC_HF_HF_BACKEND_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "hf/hf_int_model.h"

namespace lmc::hf {

// Chunks that step together, each with its own key/value cache.
class ChunkGroup {
 public:
  virtual ~ChunkGroup() = default;
  // Feeds tokens[r] to chunk chunks[r] (an index into the group) and writes
  // the vocab_size logits of the next token to logits[r]. A chunk's rows are
  // adjacent and take its next positions in order (a compressor knows all its
  // tokens); each chunk must stay within its room.
  virtual absl::Status Feed(std::span<const uint32_t> chunks,
                            std::span<const uint32_t> tokens,
                            std::span<int32_t* const> logits) = 0;
};

class HfBackend {
 public:
  virtual ~HfBackend() = default;
  // "cpu" for the kernels, "torch:<device>" for LibTorch.
  virtual std::string name() const = 0;
  // Whether decoding chunks are better stepped in one wide group than spread
  // over threads in narrow ones: true for a LibTorch device, whose steps cost
  // kernel launches more than arithmetic; false for the kernels, which run
  // one group a core.
  virtual bool WideGroups() const { return false; }
  // Key/value cache bytes of one chunk with room for `positions`.
  virtual size_t CacheBytes(int positions) const = 0;
  // A group of rooms.size() chunks, chunk i with room for rooms[i] positions.
  virtual absl::StatusOr<std::unique_ptr<ChunkGroup>> Start(
      std::span<const int> rooms) const = 0;
};

// The integer kernels of hf/hf_session.h on this CPU.
std::unique_ptr<HfBackend> KernelBackend(const HfIntModel& model);

// Chunks a codec thread steps together on `backend` unless told otherwise:
// 64 on a CUDA device, 16 elsewhere (nullptr: the kernels).
int DefaultLockstep(const HfBackend* backend);

}  // namespace lmc::hf

#endif  // LMC_HF_HF_BACKEND_H_
