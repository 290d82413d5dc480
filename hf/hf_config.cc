#include "hf/hf_config.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"

namespace lmc::hf {
namespace {

using nlohmann::json;

absl::Status Bad(const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("config.json: ", what));
}

// An integer field; `fallback` < 0 means required.
absl::StatusOr<int> Int(const json& j, const char* key, int fallback = -1) {
  if (!j.contains(key) || j[key].is_null()) {
    if (fallback >= 0) return fallback;
    return Bad(absl::StrCat("missing \"", key, "\""));
  }
  if (!j[key].is_number_integer() || j[key].get<int64_t>() < 1 ||
      j[key].get<int64_t>() > (int64_t{1} << 30)) {
    return Bad(absl::StrCat("\"", key, "\" is not a positive integer"));
  }
  return static_cast<int>(j[key].get<int64_t>());
}

double Number(const json& j, const char* key, double fallback) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : fallback;
}

bool Flag(const json& j, const char* key, bool fallback) {
  return j.contains(key) && j[key].is_boolean() ? j[key].get<bool>() : fallback;
}

absl::Status ReadGpt2(const json& j, HfConfig* c) {
  LMC_ASSIGN_OR_RETURN(c->vocab_size, Int(j, "vocab_size"));
  LMC_ASSIGN_OR_RETURN(c->d_model, Int(j, "n_embd"));
  LMC_ASSIGN_OR_RETURN(c->n_layers, Int(j, "n_layer"));
  LMC_ASSIGN_OR_RETURN(c->n_heads, Int(j, "n_head"));
  LMC_ASSIGN_OR_RETURN(c->max_positions, Int(j, "n_positions"));
  LMC_ASSIGN_OR_RETURN(c->d_ff, Int(j, "n_inner", 4 * c->d_model));
  c->n_kv_heads = c->n_heads;
  c->norm_eps = Number(j, "layer_norm_epsilon", 1e-5);
  c->tied_embeddings = Flag(j, "tie_word_embeddings", true);
  c->qkv_bias = true;
  c->activation = j.contains("activation_function") && j["activation_function"].is_string()
                      ? j["activation_function"].get<std::string>()
                      : "gelu_new";
  if (c->activation != "gelu_new" && c->activation != "gelu_pytorch_tanh") {
    return absl::UnimplementedError(absl::StrCat(
        "config.json: GPT-2 activation \"", c->activation, "\" is not supported (gelu_new)"));
  }
  c->activation = "gelu_new";
  if (Flag(j, "scale_attn_by_inverse_layer_idx", false) || Flag(j, "reorder_and_upcast_attn", false)) {
    return absl::UnimplementedError(
        "config.json: scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn are not supported");
  }
  if (c->d_model % c->n_heads != 0) return Bad("n_embd is not a multiple of n_head");
  c->head_dim = c->d_model / c->n_heads;
  return absl::OkStatus();
}

absl::Status ReadLlama(const json& j, HfConfig* c) {
  LMC_ASSIGN_OR_RETURN(c->vocab_size, Int(j, "vocab_size"));
  LMC_ASSIGN_OR_RETURN(c->d_model, Int(j, "hidden_size"));
  LMC_ASSIGN_OR_RETURN(c->n_layers, Int(j, "num_hidden_layers"));
  LMC_ASSIGN_OR_RETURN(c->n_heads, Int(j, "num_attention_heads"));
  LMC_ASSIGN_OR_RETURN(c->n_kv_heads, Int(j, "num_key_value_heads", c->n_heads));
  LMC_ASSIGN_OR_RETURN(c->d_ff, Int(j, "intermediate_size"));
  LMC_ASSIGN_OR_RETURN(c->max_positions, Int(j, "max_position_embeddings", 2048));
  if (c->d_model % c->n_heads != 0 && !j.contains("head_dim")) {
    return Bad("hidden_size is not a multiple of num_attention_heads");
  }
  LMC_ASSIGN_OR_RETURN(c->head_dim, Int(j, "head_dim", c->d_model / c->n_heads));
  if (c->n_heads % c->n_kv_heads != 0) {
    return Bad("num_attention_heads is not a multiple of num_key_value_heads");
  }
  if (c->head_dim % 2 != 0) return Bad("head_dim is odd; rotary embeddings need pairs");
  c->norm_eps = Number(j, "rms_norm_eps", 1e-6);
  // Transformers 5 writes rope_theta and the scaling into one
  // "rope_parameters" object; earlier versions write "rope_theta" and
  // "rope_scaling" (null for none). Both are read, the newer first.
  const json none = json::object();
  const json& rope = j.contains("rope_parameters") && j["rope_parameters"].is_object()
                         ? j["rope_parameters"]
                         : none;
  c->rope_theta = Number(rope, "rope_theta", Number(j, "rope_theta", 10000));
  c->tied_embeddings = Flag(j, "tie_word_embeddings", false);
  c->qkv_bias = c->name == "Qwen2ForCausalLM" || Flag(j, "attention_bias", false);
  if (Flag(j, "mlp_bias", false)) return absl::UnimplementedError("config.json: mlp_bias is not supported");
  const std::string act =
      j.contains("hidden_act") && j["hidden_act"].is_string() ? j["hidden_act"].get<std::string>() : "silu";
  if (act != "silu") {
    return absl::UnimplementedError(
        absl::StrCat("config.json: hidden_act \"", act, "\" is not supported (silu)"));
  }
  c->activation = act;
  if (j.contains("sliding_window") && j["sliding_window"].is_number_integer() &&
      Flag(j, "use_sliding_window", c->name == "MistralForCausalLM")) {
    return absl::UnimplementedError("config.json: sliding-window attention is not supported yet");
  }
  // A rope_scaling must name its type; rope_parameters without one is the
  // default (no scaling).
  const bool scaled = j.contains("rope_scaling") && !j["rope_scaling"].is_null();
  if (scaled || !rope.empty()) {
    const json& r = scaled ? j["rope_scaling"] : rope;
    std::string type = scaled ? "" : "default";
    for (const char* key : {"rope_type", "type"}) {
      if (r.contains(key) && r[key].is_string()) type = r[key].get<std::string>();
    }
    if (type != "linear" && type != "llama3" && type != "default") {
      return absl::UnimplementedError(
          absl::StrCat("config.json: rope_scaling \"", type, "\" is not supported (linear, llama3)"));
    }
    if (type != "default") c->rope_scaling.type = type;
    c->rope_scaling.factor = Number(r, "factor", 1);
    c->rope_scaling.low_freq_factor = Number(r, "low_freq_factor", 1);
    c->rope_scaling.high_freq_factor = Number(r, "high_freq_factor", 4);
    LMC_ASSIGN_OR_RETURN(c->rope_scaling.original_max_positions, Int(r, "original_max_position_embeddings", 8192));
    if (!(c->rope_scaling.factor > 0)) return Bad("rope_scaling factor must be positive");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<HfConfig> HfConfig::FromJson(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Bad("not a JSON object");
  HfConfig c;
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
      j["architectures"][0].is_string()) {
    c.name = j["architectures"][0].get<std::string>();
  }
  const std::string type =
      j.contains("model_type") && j["model_type"].is_string() ? j["model_type"].get<std::string>() : "";
  if (c.name.empty()) c.name = type;
  if (c.name == "GPT2LMHeadModel" || c.name == "GPT2Model" || (c.name == "gpt2")) {
    c.architecture = HfArchitecture::kGpt2;
    LMC_RETURN_IF_ERROR(ReadGpt2(j, &c));
  } else if (c.name == "LlamaForCausalLM" || c.name == "MistralForCausalLM" ||
             c.name == "Qwen2ForCausalLM" || c.name == "llama" || c.name == "mistral" ||
             c.name == "qwen2") {
    c.architecture = HfArchitecture::kLlama;
    LMC_RETURN_IF_ERROR(ReadLlama(j, &c));
  } else {
    return absl::UnimplementedError(absl::StrCat(
        "config.json: architecture \"", c.name.empty() ? "(none)" : c.name,
        "\" is not supported; lmc loads GPT2LMHeadModel and the Llama family (LlamaForCausalLM, "
        "MistralForCausalLM, Qwen2ForCausalLM)"));
  }
  if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer()) {
    const int64_t bos = j["bos_token_id"].get<int64_t>();
    if (bos >= 0 && bos < c.vocab_size) c.bos_token_id = static_cast<int>(bos);
  }
  return c;
}

}  // namespace lmc::hf
