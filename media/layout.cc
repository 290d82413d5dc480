#include "media/layout.h"

#include "absl/status/status.h"
#include "core/varint.h"

namespace lmc::media {

void ContainerWriter::Samples(size_t pos, size_t n) {
  if (n == 0) return;
  regions_.emplace_back(pos, n);
}

std::string ContainerWriter::Finish(std::string* raw_samples) {
  std::string c;
  raw_samples->clear();
  PutVarint(&c, regions_.size());
  size_t at = 0;
  for (const auto& [pos, n] : regions_) {
    PutVarint(&c, pos - at);
    c.append(file_.substr(at, pos - at));
    PutVarint(&c, n);
    raw_samples->append(file_.substr(pos, n));
    at = pos + n;
  }
  PutVarint(&c, file_.size() - at);
  c.append(file_.substr(at));
  return c;
}

absl::StatusOr<std::string> Join(std::string_view container,
                                 std::string_view raw_samples) {
  const auto corrupt = [] {
    return absl::InvalidArgumentError("media container is corrupt");
  };
  uint64_t regions;
  if (!GetVarint(&container, &regions) || regions > container.size())
    return corrupt();
  std::string out;
  out.reserve(container.size() + raw_samples.size());
  for (uint64_t i = 0; i <= regions; ++i) {
    uint64_t verbatim, samples = 0;
    if (!GetVarint(&container, &verbatim) || verbatim > container.size())
      return corrupt();
    out.append(container.substr(0, verbatim));
    container.remove_prefix(verbatim);
    if (i == regions) break;
    if (!GetVarint(&container, &samples) || samples > raw_samples.size())
      return corrupt();
    out.append(raw_samples.substr(0, samples));
    raw_samples.remove_prefix(samples);
  }
  if (!container.empty() || !raw_samples.empty()) return corrupt();
  return out;
}

}  // namespace lmc::media
