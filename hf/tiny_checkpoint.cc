#include "hf/tiny_checkpoint.h"

#include <unistd.h>

#include <bit>
#include <cstring>
#include <fstream>
#include <random>

#include "hf/checkpoint.h"
#include "hf/convert.h"
#include "model/safetensors.h"
#include "tokenizer/test_tokenizer.h"

namespace lmc::hf::testing {

namespace fs = std::filesystem;
using nlohmann::json;

Tensor Random(std::vector<int64_t> shape, uint32_t seed, float scale, float offset) {
  std::mt19937 rng(seed);
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  Tensor t{std::move(shape), std::vector<float>(n)};
  // Multiples of 1/64 in [-2, 2): exact in F16 and BF16 too.
  for (float& x : t.v) x = offset + scale * (static_cast<int>(rng() % 256 - 128) / 64.0f);
  return t;
}

std::string Encode(const Tensor& t, const std::string& dtype) {
  std::string out;
  for (float x : t.v) {
    const uint32_t b = std::bit_cast<uint32_t>(x);
    if (dtype == "F32") {
      out.append(reinterpret_cast<const char*>(&x), 4);
    } else if (dtype == "BF16") {
      out.push_back(static_cast<char>(b >> 16));
      out.push_back(static_cast<char>(b >> 24));
    } else if (dtype == "F16") {  // the values above are normal halves
      const uint32_t exp = ((b >> 23) & 0xFF), man = (b >> 13) & 0x3FF;
      const uint16_t h = static_cast<uint16_t>(((b >> 16) & 0x8000) |
                                               (x == 0 ? 0 : ((exp - 112) << 10) | man));
      out.push_back(static_cast<char>(h));
      out.push_back(static_cast<char>(h >> 8));
    } else {  // I32, for the refusal test
      const int32_t i = static_cast<int32_t>(x);
      out.append(reinterpret_cast<const char*>(&i), 4);
    }
  }
  return out;
}

void WriteFile(const fs::path& p, const std::string& s) {
  std::ofstream(p, std::ios::binary) << s;
}

// Writes config + tensors to a fresh directory; `shards` > 1 splits them
// round-robin with an index.json.
std::string Write(const json& config, const Tensors& tensors, const std::string& dtype, int shards) {
  static int n = 0;
  const fs::path dir = fs::temp_directory_path() / ("lmc_hf_" + std::to_string(getpid()) + "_" +
                                                    std::to_string(n++));
  fs::remove_all(dir);
  fs::create_directories(dir);
  WriteFile(dir / "config.json", config.dump());
  std::vector<std::vector<TensorData>> parts(shards);
  json map = json::object();
  int i = 0;
  for (const auto& [name, t] : tensors) {
    const int s = i++ % shards;
    parts[s].push_back({name, dtype, t.shape, Encode(t, dtype)});
    map[name] = "model-0000" + std::to_string(s + 1) + "-of-0000" + std::to_string(shards) + ".safetensors";
  }
  if (shards == 1) {
    WriteFile(dir / "model.safetensors", SerializeSafetensors(parts[0], {{"format", "pt"}}));
  } else {
    for (int s = 0; s < shards; ++s) {
      WriteFile(dir / ("model-0000" + std::to_string(s + 1) + "-of-0000" + std::to_string(shards) +
                       ".safetensors"),
                SerializeSafetensors(parts[s], {{"format", "pt"}}));
    }
    WriteFile(dir / "model.safetensors.index.json",
              json{{"metadata", {{"total_size", 0}}}, {"weight_map", map}}.dump());
  }
  return dir.string();
}

json Gpt2Config(const TinyShape& s) {
  return {{"architectures", {"GPT2LMHeadModel"}}, {"model_type", "gpt2"}, {"vocab_size", s.vocab},
          {"n_embd", s.d}, {"n_layer", s.layers}, {"n_head", 2}, {"n_positions", s.positions},
          {"n_inner", s.ff}, {"activation_function", "gelu_new"}, {"layer_norm_epsilon", 1e-5}};
}

Tensors Gpt2Tensors(const TinyShape& s, const std::string& prefix) {
  Tensors t;
  uint32_t seed = 1;
  const auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    const bool norm = name.find("ln_") != std::string::npos && name.ends_with(".weight");
    t[prefix + name] = Random(std::move(shape), seed++, s.scale, norm && s.unit_norms ? 1.0f : 0.0f);
  };
  add("wte.weight", {s.vocab, s.d});
  add("wpe.weight", {s.positions, s.d});
  for (int i = 0; i < s.layers; ++i) {
    const std::string h = "h." + std::to_string(i) + ".";
    add(h + "ln_1.weight", {s.d});
    add(h + "ln_1.bias", {s.d});
    add(h + "attn.c_attn.weight", {s.d, 3 * s.d});
    add(h + "attn.c_attn.bias", {3 * s.d});
    add(h + "attn.c_proj.weight", {s.d, s.d});
    add(h + "attn.c_proj.bias", {s.d});
    add(h + "attn.bias", {1, 1, s.positions, s.positions});  // the causal-mask buffer old checkpoints carry
    add(h + "ln_2.weight", {s.d});
    add(h + "ln_2.bias", {s.d});
    add(h + "mlp.c_fc.weight", {s.d, s.ff});
    add(h + "mlp.c_fc.bias", {s.ff});
    add(h + "mlp.c_proj.weight", {s.ff, s.d});
    add(h + "mlp.c_proj.bias", {s.d});
  }
  add("ln_f.weight", {s.d});
  add("ln_f.bias", {s.d});
  return t;
}

json LlamaConfig(const TinyShape& s, const std::string& arch, bool tied) {
  return {{"architectures", {arch}}, {"vocab_size", s.vocab}, {"hidden_size", s.d},
          {"num_hidden_layers", s.layers}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
          {"intermediate_size", s.ff}, {"max_position_embeddings", s.positions}, {"rms_norm_eps", 1e-5},
          {"rope_theta", 10000.0}, {"tie_word_embeddings", tied}, {"hidden_act", "silu"}};
}

Tensors LlamaTensors(const TinyShape& s, bool tied, bool bias) {
  Tensors t;
  uint32_t seed = 100;
  const auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    const bool norm = name.find("norm") != std::string::npos;
    t[name] = Random(std::move(shape), seed++, s.scale, norm && s.unit_norms ? 1.0f : 0.0f);
  };
  const int hd = s.d / 4;
  add("model.embed_tokens.weight", {s.vocab, s.d});
  for (int i = 0; i < s.layers; ++i) {
    const std::string m = "model.layers." + std::to_string(i) + ".";
    add(m + "input_layernorm.weight", {s.d});
    add(m + "post_attention_layernorm.weight", {s.d});
    add(m + "self_attn.q_proj.weight", {4 * hd, s.d});
    add(m + "self_attn.k_proj.weight", {2 * hd, s.d});
    add(m + "self_attn.v_proj.weight", {2 * hd, s.d});
    if (bias) {
      add(m + "self_attn.q_proj.bias", {4 * hd});
      add(m + "self_attn.k_proj.bias", {2 * hd});
      add(m + "self_attn.v_proj.bias", {2 * hd});
    }
    add(m + "self_attn.o_proj.weight", {s.d, 4 * hd});
    add(m + "mlp.gate_proj.weight", {s.ff, s.d});
    add(m + "mlp.up_proj.weight", {s.ff, s.d});
    add(m + "mlp.down_proj.weight", {s.d, s.ff});
  }
  add("model.norm.weight", {s.d});
  if (!tied) add("lm_head.weight", {s.vocab, s.d});
  return t;
}

namespace {

const TinyShape kConvertedShape{.vocab = 300, .d = 32, .ff = 64, .positions = 64, .layers = 2,
                                .scale = 0.125f, .unit_norms = true};

// Converts a tiny checkpoint with the 14-merge English tokenizer, context 24.
absl::StatusOr<std::string> ConvertTiny(const json& config, const Tensors& t) {
  const std::string dir = Write(config, t);
  const std::string tok = tokenizer::testing::ByteLevelTokenizerJson({{"t", "h"}, {"h", "e"}, {"th", "e"}, {" ", "t"},
                                                  {" t", "he"}, {"e", "r"}, {"i", "n"}, {" ", "a"},
                                                  {"a", "n"}, {"o", "n"}, {"r", "e"}, {"e", "s"},
                                                  {"in", "g"}, {" ", "th"}});
  absl::StatusOr<Checkpoint> ck = Checkpoint::Load(dir);
  if (!ck.ok()) return ck.status();
  ConvertOptions opt;
  opt.context = 24;
  return Convert(*ck, tok, opt);
}

}  // namespace

absl::StatusOr<std::string> TinyConvertedGpt2(uint32_t seed) {
  json config = Gpt2Config(kConvertedShape);
  config["bos_token_id"] = 299;
  Tensors t = Gpt2Tensors(kConvertedShape);
  std::mt19937 rng(seed);
  for (auto& [name, tensor] : t) {
    for (float& x : tensor.v) x += (seed - 1) * 0.01f * static_cast<int>(rng() % 3 - 1);
  }
  return ConvertTiny(config, t);
}

absl::StatusOr<std::string> TinyConvertedLlama(const std::string& arch, bool bias) {
  return ConvertTiny(LlamaConfig(kConvertedShape, arch), LlamaTensors(kConvertedShape, false, bias));
}

}  // namespace lmc::hf::testing
