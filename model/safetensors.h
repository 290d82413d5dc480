// Reading and writing the safetensors container (the Hugging Face format):
//   u64 little-endian N | N bytes of JSON header | tensor data
// The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin,
// end)} relative to the data section, plus an optional "__metadata__" object of
// string values. The parser trusts nothing: offsets, shapes and dtypes are checked
// against the buffer, so a damaged file is an error, never an out-of-bounds read.
//
//   LMC_ASSIGN_OR_RETURN(auto st, Safetensors::Parse(std::move(bytes)));
//   LMC_ASSIGN_OR_RETURN(auto w, st.Get("layers.0.qkv.w", "I8", {576, 192}));
#ifndef LMC_MODEL_SAFETENSORS_H_
#define LMC_MODEL_SAFETENSORS_H_

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace lmc {

struct TensorView {
  std::string dtype;            // "I8", "I32", "I64", "F32", ...
  std::vector<int64_t> shape;   // row-major
  std::span<const uint8_t> bytes;
};

class Safetensors {
 public:
  static absl::StatusOr<Safetensors> Parse(std::string bytes);

  // The tensor `name`; an error unless it exists with this dtype and shape.
  absl::StatusOr<TensorView> Get(const std::string& name,
                                 const std::string& dtype,
                                 const std::vector<int64_t>& shape) const;
  bool Has(const std::string& name) const { return tensors_.count(name) > 0; }
  const std::map<std::string, std::string>& metadata() const {
    return metadata_;
  }
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }

 private:
  std::string bytes_;  // the whole file; views point into it
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

// One tensor to write: raw little-endian element bytes.
struct TensorData {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

// Serialises tensors (sorted by name, as the reference writer does) and metadata.
std::string SerializeSafetensors(std::vector<TensorData> tensors,
                                 const std::map<std::string, std::string>& metadata);

// Bytes per element of a safetensors dtype, or 0 if unknown.
int DtypeSize(const std::string& dtype);

}  // namespace lmc

#endif  // LMC_MODEL_SAFETENSORS_H_
