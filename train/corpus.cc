#include "train/corpus.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace lmc::train {

absl::StatusOr<Corpus> Corpus::Load(const std::string& dir, bool validation,
                                    int validation_percent) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat("corpus: no directory ", dir));
  }
  std::vector<fs::path> paths;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    // Hidden entries (the gatherer's .cache of packages) are not training data.
    if (it->path().filename().string().starts_with(".")) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) paths.push_back(it->path());
  }
  std::sort(paths.begin(), paths.end());
  Corpus c;
  for (auto& p : paths) {
    std::string rel = fs::relative(p, dir).string();
    bool is_val = std::hash<std::string>{}(rel) % 100 <
                  static_cast<size_t>(validation_percent);
    if (is_val != validation) continue;
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    if (s.empty()) continue;
    c.starts_.push_back(c.data_.size());
    c.data_ += s;
  }
  if (c.data_.size() < 4096) {
    return absl::FailedPreconditionError(
        absl::StrCat("corpus: ", dir, " holds too little data (",
                     c.data_.size(), " bytes)"));
  }
  return c;
}

std::pair<torch::Tensor, torch::Tensor> Corpus::Sample(
    int batch, int seq, std::mt19937_64& rng) const {
  auto inputs = torch::empty({batch, seq}, torch::kInt64);
  auto targets = torch::empty({batch, seq}, torch::kInt64);
  auto in = inputs.accessor<int64_t, 2>();
  auto tg = targets.accessor<int64_t, 2>();
  const size_t max_start = data_.size() - seq;
  for (int b = 0; b < batch; ++b) {
    size_t start;
    if (rng() % 2 == 0) {
      start = std::min(starts_[rng() % starts_.size()], max_start);
    } else {
      start = rng() % (max_start + 1);
    }
    in[b][0] = 256;  // BOS
    for (int t = 0; t < seq; ++t) {
      int64_t byte = static_cast<uint8_t>(data_[start + t]);
      tg[b][t] = byte;
      if (t + 1 < seq) in[b][t + 1] = byte;
    }
  }
  return {inputs, targets};
}

}  // namespace lmc::train
