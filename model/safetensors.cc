#include "model/safetensors.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace lmc {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100 << 20;

}  // namespace

int DtypeSize(const std::string& dtype) {
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL") return 1;
  if (dtype == "I16" || dtype == "U16" || dtype == "F16" || dtype == "BF16")
    return 2;
  if (dtype == "I32" || dtype == "U32" || dtype == "F32") return 4;
  if (dtype == "I64" || dtype == "U64" || dtype == "F64") return 8;
  return 0;
}

absl::StatusOr<Safetensors> Safetensors::Parse(std::string bytes) {
  Safetensors st;
  st.bytes_ = std::move(bytes);
  const std::string& b = st.bytes_;
  if (b.size() < 8) {
    return absl::InvalidArgumentError("safetensors: file shorter than 8 bytes");
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(b[i]);
  if (n > kMaxHeaderBytes || n > b.size() - 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("safetensors: header length ", n, " exceeds the file"));
  }
  nlohmann::json header = nlohmann::json::parse(
      b.begin() + 8, b.begin() + 8 + static_cast<int64_t>(n), nullptr,
      /*allow_exceptions=*/false);
  if (!header.is_object()) {
    return absl::InvalidArgumentError("safetensors: header is not a JSON object");
  }
  const uint64_t data_begin = 8 + n;
  const uint64_t data_size = b.size() - data_begin;
  for (auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) {
        return absl::InvalidArgumentError("safetensors: bad __metadata__");
      }
      for (auto& [k, v] : value.items()) {
        if (!v.is_string()) {
          return absl::InvalidArgumentError(
              absl::StrCat("safetensors: metadata ", k, " is not a string"));
        }
        st.metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    if (!value.is_object() || !value["dtype"].is_string() ||
        !value["shape"].is_array() || !value["data_offsets"].is_array() ||
        value["data_offsets"].size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("safetensors: malformed entry for tensor ", name));
    }
    TensorView view;
    view.dtype = value["dtype"].get<std::string>();
    const int elem = DtypeSize(view.dtype);
    if (elem == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "safetensors: tensor ", name, " has unknown dtype ", view.dtype));
    }
    uint64_t count = 1;
    for (auto& d : value["shape"]) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > (1ull << 40)) {
        return absl::InvalidArgumentError(
            absl::StrCat("safetensors: tensor ", name, " has a bad shape"));
      }
      view.shape.push_back(static_cast<int64_t>(d.get<uint64_t>()));
      count *= d.get<uint64_t>();
      if (count > (1ull << 40)) {
        return absl::InvalidArgumentError(
            absl::StrCat("safetensors: tensor ", name, " is too large"));
      }
    }
    auto& off = value["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
      return absl::InvalidArgumentError(
          absl::StrCat("safetensors: tensor ", name, " has bad offsets"));
    }
    const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end || end > data_size || end - begin != count * elem) {
      return absl::InvalidArgumentError(absl::StrCat(
          "safetensors: tensor ", name, " lies outside the file or its size ",
          "does not match its shape"));
    }
    view.bytes = std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(b.data()) + data_begin + begin,
        end - begin);
    st.tensors_[name] = std::move(view);
  }
  return st;
}

absl::StatusOr<TensorView> Safetensors::Get(
    const std::string& name, const std::string& dtype,
    const std::vector<int64_t>& shape) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("model: missing tensor ", name));
  }
  if (it->second.dtype != dtype || it->second.shape != shape) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model: tensor ", name, " is ", it->second.dtype, "[",
        absl::StrJoin(it->second.shape, ","), "], expected ", dtype, "[",
        absl::StrJoin(shape, ","), "]"));
  }
  return it->second;
}

std::string SerializeSafetensors(
    std::vector<TensorData> tensors,
    const std::map<std::string, std::string>& metadata) {
  std::sort(tensors.begin(), tensors.end(),
            [](const TensorData& a, const TensorData& b) { return a.name < b.name; });
  nlohmann::ordered_json header;
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (auto& [k, v] : metadata) meta[k] = v;
    header["__metadata__"] = meta;
  }
  uint64_t offset = 0;
  for (auto& t : tensors) {
    header[t.name] = {{"dtype", t.dtype},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string h = header.dump();
  while ((h.size() + 8) % 8 != 0) h.push_back(' ');  // align data to 8 bytes
  std::string out;
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += h;
  for (auto& t : tensors) out += t.bytes;
  return out;
}

}  // namespace lmc
