// A media file split into its samples and everything else, and joined back
// byte for byte. The front-ends (pnm.h, wav.h, y4m.h) find where the samples
// are; this module records it so that the join needs no parsing at all:
//
//   Split s = ...;                       // from a front-end
//   std::string back = Join(s.container, s.raw_samples);  // == the file
//
// The container is every byte of the file that is not a sample, in file order,
// with the sample regions marked by their lengths: a sequence of
//   varint(verbatim length) verbatim-bytes varint(sample-region length)
// ended by varint(verbatim length) verbatim-bytes, the region count first.
// Headers, comments, unknown chunks, pad bytes and trailing garbage all stay
// verbatim in it, so a file's oddities survive whatever the front-end
// understood of them.
#ifndef LMC_MEDIA_LAYOUT_H_
#define LMC_MEDIA_LAYOUT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "media/geometry.h"

namespace lmc::media {

// Builds a container while a front-end walks a file.
class ContainerWriter {
 public:
  explicit ContainerWriter(std::string_view file) : file_(file) {}
  // Bytes [pos, pos + n) of the file are samples; everything since the last
  // region is verbatim.
  void Samples(size_t pos, size_t n);
  // The container, the rest of the file verbatim; and the samples' raw bytes.
  std::string Finish(std::string* raw_samples);

 private:
  std::string_view file_;
  std::vector<std::pair<size_t, size_t>> regions_;
};

// The file from its container and the raw sample bytes; INVALID_ARGUMENT if
// they do not fit together (a corrupt container).
absl::StatusOr<std::string> Join(std::string_view container,
                                 std::string_view raw_samples);

// A file split by a front-end.
struct Split {
  Geometry geometry;
  std::string container;
  std::string raw_samples;  // the sample regions' bytes, concatenated
};

}  // namespace lmc::media

#endif  // LMC_MEDIA_LAYOUT_H_
