#include "hf/checkpoint.h"

#include <bit>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/file.h"
#include "core/status_macros.h"
#include "model/safetensors.h"
#include "nlohmann/json.hpp"

namespace lmc::hf {
namespace {

namespace fs = std::filesystem;
using Shape = std::vector<int64_t>;

float HalfToFloat(uint16_t h) {
  const uint32_t sign = uint32_t{h & 0x8000u} << 16;
  uint32_t exp = (h >> 10) & 0x1F, man = h & 0x3FF;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (man << 13);  // inf, nan
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else {  // subnormal: normalise
    exp = 113;
    while (!(man & 0x400)) {
      man <<= 1;
      --exp;
    }
    bits = sign | (exp << 23) | ((man & 0x3FF) << 13);
  }
  return std::bit_cast<float>(bits);
}

// The tensors of every file of the checkpoint, by their checkpoint names.
class Files {
 public:
  absl::Status Open(const std::string& dir) {
    const std::string single = dir + "/model.safetensors";
    const std::string index = dir + "/model.safetensors.index.json";
    std::error_code ec;
    if (fs::exists(single, ec)) return Add(single, "model.safetensors");
    if (!fs::exists(index, ec)) {
      return absl::NotFoundError(absl::StrCat(dir, " has neither model.safetensors nor ",
                                              "model.safetensors.index.json"));
    }
    LMC_ASSIGN_OR_RETURN(std::string text, ReadFile(index));
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(index, ": no weight_map"));
    }
    std::set<std::string> shards;
    for (const auto& [name, file] : j["weight_map"].items()) {
      if (!file.is_string() || file.get<std::string>().find('/') != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat(index, ": bad shard for ", name));
      }
      shards.insert(file.get<std::string>());
      expected_[name] = file.get<std::string>();
    }
    for (const std::string& s : shards) LMC_RETURN_IF_ERROR(Add(dir + "/" + s, s));
    for (const auto& [name, file] : expected_) {
      auto it = shard_of_.find(name);
      if (it == shard_of_.end() || it->second != file) {
        return absl::InvalidArgumentError(
            absl::StrCat(index, " puts ", name, " in ", file, ", which lacks it"));
      }
    }
    return absl::OkStatus();
  }

  // The first of `names` present, marked as used; INVALID_ARGUMENT naming the
  // first if none is.
  absl::StatusOr<std::pair<std::string, const TensorView*>> Find(
      const std::vector<std::string>& names) {
    for (const std::string& n : names) {
      auto it = by_name_.find(n);
      if (it != by_name_.end()) {
        used_.insert(n);
        return std::make_pair(n, &it->second);
      }
    }
    return absl::InvalidArgumentError(absl::StrCat("checkpoint lacks tensor ", names[0]));
  }
  bool Has(const std::string& name) const { return by_name_.count(name) > 0; }

  // A tensor nothing read means the file is not the model config.json
  // describes (biases it does not declare, more layers, another model). Known
  // buffers that HF writes but lmc recomputes are let through.
  absl::Status CheckAllUsed() const {
    for (const auto& entry : by_name_) {
      const std::string& name = entry.first;  // (clang 14 cannot capture a structured binding)
      if (used_.count(name)) continue;
      const auto ends = [&](std::string_view suffix) {
        return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
      };
      if (ends(".attn.bias") || ends(".attn.masked_bias") || ends("rotary_emb.inv_freq") ||
          name == "lm_head.weight") {
        continue;
      }
      return absl::InvalidArgumentError(absl::StrCat(
          "checkpoint has tensor ", name, ", which config.json's model does not use"));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Add(const std::string& path, const std::string& shard) {
    LMC_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
    absl::StatusOr<Safetensors> st = Safetensors::Parse(std::move(bytes));
    if (!st.ok()) {
      return absl::Status(st.status().code(), absl::StrCat(path, ": ", st.status().message()));
    }
    files_.push_back(std::make_unique<Safetensors>(std::move(*st)));
    for (const auto& [name, view] : files_.back()->tensors()) {
      if (!by_name_.emplace(name, view).second) {
        return absl::InvalidArgumentError(absl::StrCat("tensor ", name, " is in two shards"));
      }
      shard_of_[name] = shard;
    }
    return absl::OkStatus();
  }

  std::vector<std::unique_ptr<Safetensors>> files_;  // own the bytes the views see
  std::map<std::string, TensorView> by_name_;
  std::map<std::string, std::string> shard_of_;  // where each tensor was found
  std::map<std::string, std::string> expected_;  // index.json's weight_map
  std::set<std::string> used_;                    // names Find has returned
};

absl::StatusOr<FloatTensor> ToFloat(const std::string& name, const TensorView& v,
                                    const Shape& want) {
  if (v.shape != want) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor ", name, " has shape [", absl::StrJoin(v.shape, ","),
                     "], but config.json implies [", absl::StrJoin(want, ","), "]"));
  }
  FloatTensor t{v.shape, {}};
  const uint8_t* p = v.bytes.data();
  const size_t n = v.bytes.size() / std::max(1, DtypeSize(v.dtype));
  t.data.resize(n);
  if (v.dtype == "F32") {
    std::memcpy(t.data.data(), p, n * 4);
  } else if (v.dtype == "F16" || v.dtype == "BF16") {
    for (size_t i = 0; i < n; ++i) {
      const uint16_t h = static_cast<uint16_t>(p[2 * i] | p[2 * i + 1] << 8);
      t.data[i] = v.dtype == "F16" ? HalfToFloat(h) : std::bit_cast<float>(uint32_t{h} << 16);
    }
  } else if (v.dtype == "F64") {
    for (size_t i = 0; i < n; ++i) {
      double d;
      std::memcpy(&d, p + 8 * i, 8);
      t.data[i] = static_cast<float>(d);
    }
  } else {
    return absl::UnimplementedError(
        absl::StrCat("tensor ", name, " is ", v.dtype, "; lmc reads F32, F16, BF16 and F64 weights"));
  }
  return t;
}

FloatTensor Transpose(const FloatTensor& t) {
  const int64_t r = t.shape[0], c = t.shape[1];
  FloatTensor o{{c, r}, std::vector<float>(t.data.size())};
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) o.data[j * r + i] = t.data[i * c + j];
  return o;
}

class Reader {
 public:
  Reader(Files& f, std::map<std::string, FloatTensor>* out) : f_(f), out_(out) {}

  // Reads checkpoint tensor `names` (alternatives) as lmc tensor `as`.
  absl::Status Take(const std::string& as, const std::vector<std::string>& names, const Shape& want) {
    LMC_ASSIGN_OR_RETURN(FloatTensor t, Read(names, want));
    (*out_)[as] = std::move(t);
    return absl::OkStatus();
  }
  absl::StatusOr<FloatTensor> Read(const std::vector<std::string>& names, const Shape& want) {
    LMC_ASSIGN_OR_RETURN(auto found, f_.Find(names));
    return ToFloat(found.first, *found.second, want);
  }

 private:
  Files& f_;
  std::map<std::string, FloatTensor>* out_;
};

// GPT-2 checkpoints name tensors "h.0...." or, saved from GPT2LMHeadModel,
// "transformer.h.0....".
std::vector<std::string> Gpt2Name(const std::string& n) { return {n, "transformer." + n}; }

absl::Status ReadGpt2(const HfConfig& c, Files& f, std::map<std::string, FloatTensor>* out) {
  Reader r(f, out);
  const int64_t d = c.d_model, ff = c.d_ff, V = c.vocab_size;
  LMC_RETURN_IF_ERROR(r.Take("embed", Gpt2Name("wte.weight"), {V, d}));
  LMC_RETURN_IF_ERROR(r.Take("pos_embed", Gpt2Name("wpe.weight"), {c.max_positions, d}));
  for (int i = 0; i < c.n_layers; ++i) {
    const std::string h = absl::StrCat("h.", i, "."), l = absl::StrCat("layers.", i, ".");
    for (const auto& [from, to] : {std::pair{"ln_1", "attn_norm"}, std::pair{"ln_2", "mlp_norm"}}) {
      LMC_RETURN_IF_ERROR(r.Take(l + to + ".w", Gpt2Name(h + from + ".weight"), {d}));
      LMC_RETURN_IF_ERROR(r.Take(l + to + ".b", Gpt2Name(h + from + ".bias"), {d}));
    }
    // Conv1D stores [in][out]; c_attn's out is q | k | v.
    LMC_ASSIGN_OR_RETURN(FloatTensor qkv, r.Read(Gpt2Name(h + "attn.c_attn.weight"), {d, 3 * d}));
    LMC_ASSIGN_OR_RETURN(FloatTensor qkv_b, r.Read(Gpt2Name(h + "attn.c_attn.bias"), {3 * d}));
    const FloatTensor all = Transpose(qkv);
    for (int k = 0; k < 3; ++k) {
      const std::string name = l + "qkv"[k];
      (*out)[name + ".w"] = {{d, d}, {all.data.begin() + k * d * d, all.data.begin() + (k + 1) * d * d}};
      (*out)[name + ".b"] = {{d}, {qkv_b.data.begin() + k * d, qkv_b.data.begin() + (k + 1) * d}};
    }
    LMC_ASSIGN_OR_RETURN(FloatTensor o, r.Read(Gpt2Name(h + "attn.c_proj.weight"), {d, d}));
    (*out)[l + "o.w"] = Transpose(o);
    LMC_RETURN_IF_ERROR(r.Take(l + "o.b", Gpt2Name(h + "attn.c_proj.bias"), {d}));
    LMC_ASSIGN_OR_RETURN(FloatTensor up, r.Read(Gpt2Name(h + "mlp.c_fc.weight"), {d, ff}));
    (*out)[l + "up.w"] = Transpose(up);
    LMC_RETURN_IF_ERROR(r.Take(l + "up.b", Gpt2Name(h + "mlp.c_fc.bias"), {ff}));
    LMC_ASSIGN_OR_RETURN(FloatTensor down, r.Read(Gpt2Name(h + "mlp.c_proj.weight"), {ff, d}));
    (*out)[l + "down.w"] = Transpose(down);
    LMC_RETURN_IF_ERROR(r.Take(l + "down.b", Gpt2Name(h + "mlp.c_proj.bias"), {d}));
  }
  LMC_RETURN_IF_ERROR(r.Take("final_norm.w", Gpt2Name("ln_f.weight"), {d}));
  LMC_RETURN_IF_ERROR(r.Take("final_norm.b", Gpt2Name("ln_f.bias"), {d}));
  if (c.tied_embeddings) {
    (*out)["head"] = (*out)["embed"];
  } else {
    LMC_RETURN_IF_ERROR(r.Take("head", {"lm_head.weight"}, {V, d}));
  }
  return absl::OkStatus();
}

absl::Status ReadLlama(const HfConfig& c, Files& f, std::map<std::string, FloatTensor>* out) {
  Reader r(f, out);
  const int64_t d = c.d_model, ff = c.d_ff, V = c.vocab_size;
  const int64_t q = int64_t{c.n_heads} * c.head_dim, kv = int64_t{c.n_kv_heads} * c.head_dim;
  LMC_RETURN_IF_ERROR(r.Take("embed", {"model.embed_tokens.weight"}, {V, d}));
  for (int i = 0; i < c.n_layers; ++i) {
    const std::string m = absl::StrCat("model.layers.", i, "."), l = absl::StrCat("layers.", i, ".");
    LMC_RETURN_IF_ERROR(r.Take(l + "attn_norm.w", {m + "input_layernorm.weight"}, {d}));
    LMC_RETURN_IF_ERROR(r.Take(l + "mlp_norm.w", {m + "post_attention_layernorm.weight"}, {d}));
    for (const auto& [name, rows] : {std::pair{"q", q}, std::pair{"k", kv}, std::pair{"v", kv}}) {
      const std::string proj = m + "self_attn." + name + "_proj.";
      LMC_RETURN_IF_ERROR(r.Take(l + name + ".w", {proj + "weight"}, {rows, d}));
      if (c.qkv_bias) LMC_RETURN_IF_ERROR(r.Take(l + name + ".b", {proj + "bias"}, {rows}));
    }
    LMC_RETURN_IF_ERROR(r.Take(l + "o.w", {m + "self_attn.o_proj.weight"}, {d, q}));
    LMC_RETURN_IF_ERROR(r.Take(l + "gate.w", {m + "mlp.gate_proj.weight"}, {ff, d}));
    LMC_RETURN_IF_ERROR(r.Take(l + "up.w", {m + "mlp.up_proj.weight"}, {ff, d}));
    LMC_RETURN_IF_ERROR(r.Take(l + "down.w", {m + "mlp.down_proj.weight"}, {d, ff}));
  }
  LMC_RETURN_IF_ERROR(r.Take("final_norm.w", {"model.norm.weight"}, {d}));
  if (c.tied_embeddings) {
    (*out)["head"] = (*out)["embed"];
  } else {
    LMC_RETURN_IF_ERROR(r.Take("head", {"lm_head.weight"}, {V, d}));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Checkpoint> Checkpoint::Load(const std::string& dir) {
  Checkpoint ck;
  LMC_ASSIGN_OR_RETURN(std::string config, ReadFile(dir + "/config.json"));
  absl::StatusOr<HfConfig> c = HfConfig::FromJson(config);
  if (!c.ok()) return absl::Status(c.status().code(), absl::StrCat(dir, "/", c.status().message()));
  ck.config_ = *c;
  Files files;
  LMC_RETURN_IF_ERROR(files.Open(dir));
  absl::Status s = ck.config_.architecture == HfArchitecture::kGpt2
                       ? ReadGpt2(ck.config_, files, &ck.tensors_)
                       : ReadLlama(ck.config_, files, &ck.tensors_);
  if (s.ok()) s = files.CheckAllUsed();
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat(dir, ": ", s.message()));
  return ck;
}

int64_t Checkpoint::parameters() const {
  int64_t n = 0;
  for (const auto& [name, t] : tensors_) {
    if (name != "head" || !config_.tied_embeddings) n += static_cast<int64_t>(t.data.size());
  }
  return n;
}

}  // namespace lmc::hf
