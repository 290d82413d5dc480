// A training corpus: every file under a directory, concatenated, with the offset
// where each file starts. Files are split into train and validation by a hash of
// their relative path, so the split is stable as the corpus grows.
#ifndef LMC_TRAIN_CORPUS_H_
#define LMC_TRAIN_CORPUS_H_

#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace lmc::train {

class Corpus {
 public:
  // Reads files under `dir`; those whose path hash % 100 < validation_percent
  // go to the validation half when `validation` is true, the rest otherwise.
  static absl::StatusOr<Corpus> Load(const std::string& dir, bool validation,
                                     int validation_percent = 2);

  // A batch of `batch` sequences of `seq` tokens: inputs start with BOS and are
  // followed by the bytes that the targets hold one step later. Half the
  // sequences begin at a file start (so chunk and message starts are learnt),
  // half at a uniformly random offset.
  std::pair<torch::Tensor, torch::Tensor> Sample(int batch, int seq,
                                                 std::mt19937_64& rng) const;

  size_t bytes() const { return data_.size(); }
  size_t files() const { return starts_.size(); }

 private:
  std::string data_;
  std::vector<size_t> starts_;
};

}  // namespace lmc::train

#endif  // LMC_TRAIN_CORPUS_H_
