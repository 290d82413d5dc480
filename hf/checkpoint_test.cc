// Tiny random Hugging Face checkpoints, written here in the layouts GPT-2 and
// Llama-family models are saved in (Conv1D, fused c_attn, grouped-query
// attention, Qwen2 biases, shards, F16/BF16), must load under lmc's names with
// the right values; damaged or foreign ones must be refused with a clear error.
#include "hf/checkpoint.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "hf/tiny_checkpoint.h"
#include "model/safetensors.h"
#include "nlohmann/json.hpp"

namespace lmc::hf {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using testing::Random;
using testing::Tensor;
using testing::Tensors;
using testing::Write;
using testing::WriteFile;

constexpr int kV = 40, kD = 16, kFf = 24, kP = 32, kLayers = 2;
const testing::TinyShape kShape{.vocab = kV, .d = kD, .ff = kFf, .positions = kP, .layers = kLayers};

json Gpt2Config() { return testing::Gpt2Config(kShape); }
Tensors Gpt2Tensors(const std::string& prefix = "") { return testing::Gpt2Tensors(kShape, prefix); }
json LlamaConfig(const std::string& arch = "LlamaForCausalLM", bool tied = false) {
  return testing::LlamaConfig(kShape, arch, tied);
}
Tensors LlamaTensors(bool tied = false, bool bias = false) {
  return testing::LlamaTensors(kShape, tied, bias);
}

float At(const Tensor& t, int64_t r, int64_t c) { return t.v[r * t.shape[1] + c]; }
float At(const FloatTensor& t, int64_t r, int64_t c) { return t.data[r * t.shape[1] + c]; }

TEST(CheckpointTest, Gpt2ConvWeightsAreTransposedAndSplit) {
  for (const std::string prefix : {"", "transformer."}) {
    const Tensors src = Gpt2Tensors(prefix);
    absl::StatusOr<Checkpoint> ck = Checkpoint::Load(Write(Gpt2Config(), src));
    ASSERT_TRUE(ck.ok()) << ck.status();
    EXPECT_EQ(ck->config().architecture, HfArchitecture::kGpt2);
    EXPECT_EQ(ck->config().head_dim, kD / 2);
    EXPECT_TRUE(ck->config().tied_embeddings);
    const Tensor& attn = src.at(prefix + "h.1.attn.c_attn.weight");
    const Tensor& attn_b = src.at(prefix + "h.1.attn.c_attn.bias");
    for (int k = 0; k < 3; ++k) {
      const FloatTensor& w = ck->tensor(std::string("layers.1.") + "qkv"[k] + ".w");
      const FloatTensor& b = ck->tensor(std::string("layers.1.") + "qkv"[k] + ".b");
      ASSERT_EQ(w.shape, (std::vector<int64_t>{kD, kD}));
      for (int r = 0; r < kD; ++r) {
        EXPECT_EQ(b.data[r], attn_b.v[k * kD + r]);
        for (int c = 0; c < kD; ++c) ASSERT_EQ(At(w, r, c), At(attn, c, k * kD + r));
      }
    }
    const Tensor& fc = src.at(prefix + "h.0.mlp.c_fc.weight");
    const FloatTensor& up = ck->tensor("layers.0.up.w");
    ASSERT_EQ(up.shape, (std::vector<int64_t>{kFf, kD}));
    EXPECT_EQ(At(up, 5, 3), At(fc, 3, 5));
    EXPECT_EQ(ck->tensor("head").data, ck->tensor("embed").data);
    EXPECT_EQ(ck->tensor("pos_embed").data, src.at(prefix + "wpe.weight").v);
  }
}

TEST(CheckpointTest, LlamaGroupedQueryAttentionTiedAndUntied) {
  for (bool tied : {false, true}) {
    const Tensors src = LlamaTensors(tied);
    absl::StatusOr<Checkpoint> ck = Checkpoint::Load(Write(LlamaConfig("LlamaForCausalLM", tied), src));
    ASSERT_TRUE(ck.ok()) << ck.status();
    const HfConfig& c = ck->config();
    EXPECT_EQ(c.architecture, HfArchitecture::kLlama);
    EXPECT_EQ(c.n_kv_heads, 2);
    EXPECT_EQ(c.head_dim, 4);
    EXPECT_FALSE(c.qkv_bias);
    EXPECT_EQ(ck->tensor("layers.1.k.w").shape, (std::vector<int64_t>{8, kD}));
    EXPECT_EQ(ck->tensor("layers.1.k.w").data, src.at("model.layers.1.self_attn.k_proj.weight").v);
    EXPECT_EQ(ck->tensor("layers.0.gate.w").data, src.at("model.layers.0.mlp.gate_proj.weight").v);
    EXPECT_EQ(ck->tensor("head").data,
              src.at(tied ? "model.embed_tokens.weight" : "lm_head.weight").v);
    EXPECT_FALSE(ck->has("pos_embed"));
  }
}

TEST(CheckpointTest, Qwen2HasQkvBiases) {
  const Tensors src = LlamaTensors(false, true);
  absl::StatusOr<Checkpoint> ck = Checkpoint::Load(Write(LlamaConfig("Qwen2ForCausalLM"), src));
  ASSERT_TRUE(ck.ok()) << ck.status();
  EXPECT_TRUE(ck->config().qkv_bias);
  EXPECT_EQ(ck->tensor("layers.0.v.b").data, src.at("model.layers.0.self_attn.v_proj.bias").v);
  // The same file read as plain Llama has tensors its config does not use.
  EXPECT_EQ(Checkpoint::Load(Write(LlamaConfig(), src)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Transformers 5 writes {"rope_parameters": {"rope_type", "rope_theta", ...}}
// where earlier versions wrote "rope_theta" and "rope_scaling".
TEST(CheckpointTest, RopeParametersOfTransformers5) {
  json legacy = LlamaConfig();
  legacy["rope_theta"] = 500000.0;
  legacy["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                            {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 16}};
  json v5 = LlamaConfig();
  v5.erase("rope_theta");
  v5["rope_parameters"] = legacy["rope_scaling"];
  v5["rope_parameters"]["rope_theta"] = 500000.0;
  for (const json& c : {legacy, v5}) {
    absl::StatusOr<HfConfig> got = HfConfig::FromJson(c.dump());
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->rope_theta, 500000.0);
    EXPECT_EQ(got->rope_scaling.type, "llama3");
    EXPECT_EQ(got->rope_scaling.factor, 8.0);
    EXPECT_EQ(got->rope_scaling.original_max_positions, 16);
  }
  json plain = LlamaConfig();
  plain.erase("rope_theta");
  plain["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 250000.0}};
  absl::StatusOr<HfConfig> got = HfConfig::FromJson(plain.dump());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->rope_theta, 250000.0);
  EXPECT_TRUE(got->rope_scaling.type.empty());
  plain["rope_parameters"]["rope_type"] = "yarn";
  EXPECT_EQ(HfConfig::FromJson(plain.dump()).status().code(), absl::StatusCode::kUnimplemented);
}

TEST(CheckpointTest, HalfPrecisionAndShards) {
  const Tensors src = LlamaTensors();
  for (const char* dtype : {"F16", "BF16"}) {
    for (int shards : {1, 3}) {
      absl::StatusOr<Checkpoint> ck = Checkpoint::Load(Write(LlamaConfig(), src, dtype, shards));
      ASSERT_TRUE(ck.ok()) << dtype << " " << shards << ": " << ck.status();
      EXPECT_EQ(ck->tensor("layers.1.down.w").data, src.at("model.layers.1.mlp.down_proj.weight").v)
          << dtype;
      EXPECT_EQ(ck->tensor("final_norm.w").data, src.at("model.norm.weight").v) << dtype;
    }
  }
}

TEST(CheckpointTest, RefusesWhatDoesNotFit) {
  struct Case {
    const char* what;
    std::function<std::string()> make;
    absl::StatusCode code;
  };
  const auto edited = [](std::function<void(json&, Tensors&)> edit, const std::string& dtype = "F32",
                         int shards = 1) {
    return [=] {
      json c = LlamaConfig();
      Tensors t = LlamaTensors();
      edit(c, t);
      return Write(c, t, dtype, shards);
    };
  };
  const std::vector<Case> cases = {
      {"missing tensor", edited([](json&, Tensors& t) { t.erase("model.layers.1.mlp.up_proj.weight"); }),
       absl::StatusCode::kInvalidArgument},
      {"wrong shape",
       edited([](json&, Tensors& t) { t["model.layers.0.self_attn.k_proj.weight"] = Random({16, kD}, 9); }),
       absl::StatusCode::kInvalidArgument},
      {"more layers than config", edited([](json& c, Tensors&) { c["num_hidden_layers"] = 1; }),
       absl::StatusCode::kInvalidArgument},
      {"fewer layers than config", edited([](json& c, Tensors&) { c["num_hidden_layers"] = 3; }),
       absl::StatusCode::kInvalidArgument},
      {"untied without lm_head", edited([](json&, Tensors& t) { t.erase("lm_head.weight"); }),
       absl::StatusCode::kInvalidArgument},
      {"integer weights", edited([](json&, Tensors&) {}, "I32"), absl::StatusCode::kUnimplemented},
      {"BERT", edited([](json& c, Tensors&) { c["architectures"] = {"BertForMaskedLM"}; }),
       absl::StatusCode::kUnimplemented},
      {"no architecture", edited([](json& c, Tensors&) { c.erase("architectures"); }),
       absl::StatusCode::kUnimplemented},
      {"GELU Llama", edited([](json& c, Tensors&) { c["hidden_act"] = "gelu"; }),
       absl::StatusCode::kUnimplemented},
      {"yarn rope", edited([](json& c, Tensors&) { c["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4}}; }),
       absl::StatusCode::kUnimplemented},
      {"rope scaling without a type", edited([](json& c, Tensors&) { c["rope_scaling"] = {{"factor", 4}}; }),
       absl::StatusCode::kUnimplemented},
      {"heads not a multiple of kv heads", edited([](json& c, Tensors&) { c["num_key_value_heads"] = 3; }),
       absl::StatusCode::kInvalidArgument},
      {"negative size", edited([](json& c, Tensors&) { c["hidden_size"] = -16; }),
       absl::StatusCode::kInvalidArgument},
      {"missing size", edited([](json& c, Tensors&) { c.erase("intermediate_size"); }),
       absl::StatusCode::kInvalidArgument},
      {"no config",
       [] {
         const std::string d = Write(LlamaConfig(), LlamaTensors());
         fs::remove(d + "/config.json");
         return d;
       },
       absl::StatusCode::kNotFound},
      {"no weights",
       [] {
         const std::string d = Write(LlamaConfig(), LlamaTensors());
         fs::remove(d + "/model.safetensors");
         return d;
       },
       absl::StatusCode::kNotFound},
      {"truncated weights",
       [] {
         const std::string d = Write(LlamaConfig(), LlamaTensors());
         fs::resize_file(d + "/model.safetensors", fs::file_size(d + "/model.safetensors") - 7);
         return d;
       },
       absl::StatusCode::kInvalidArgument},
      {"missing shard",
       [] {
         const std::string d = Write(LlamaConfig(), LlamaTensors(), "F32", 2);
         fs::remove(d + "/model-00002-of-00002.safetensors");
         return d;
       },
       absl::StatusCode::kNotFound},
      {"index names a tensor its shard lacks",
       [] {
         const std::string d = Write(LlamaConfig(), LlamaTensors(), "F32", 2);
         json idx = json::parse(std::ifstream(d + "/model.safetensors.index.json"));
         idx["weight_map"]["model.norm.weight"] = "model-00001-of-00002.safetensors";
         idx["weight_map"]["model.layers.0.input_layernorm.weight"] = "model-00002-of-00002.safetensors";
         WriteFile(d + "/model.safetensors.index.json", idx.dump());
         return d;
       },
       absl::StatusCode::kInvalidArgument},
      {"shard outside the directory",
       [] {
         const std::string d = Write(LlamaConfig(), LlamaTensors(), "F32", 2);
         json idx = json::parse(std::ifstream(d + "/model.safetensors.index.json"));
         idx["weight_map"]["model.norm.weight"] = "../x.safetensors";
         WriteFile(d + "/model.safetensors.index.json", idx.dump());
         return d;
       },
       absl::StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Checkpoint> ck = Checkpoint::Load(c.make());
    EXPECT_EQ(ck.status().code(), c.code) << c.what << ": " << ck.status();
  }
}

}  // namespace
}  // namespace lmc::hf
