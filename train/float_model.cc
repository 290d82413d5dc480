#include "train/float_model.h"

#include <cmath>
#include <limits>

namespace lmc::train {

torch::Tensor NormQuant(const torch::Tensor& x, int norm_steps) {
  auto mean = x.mean(-1, /*keepdim=*/true);
  auto c = x - mean;
  auto var = (c * c).mean(-1, true);
  auto z = c * torch::rsqrt(var + std::ldexp(1.0, -17));
  auto q = torch::clamp(torch::round(z * norm_steps), -127, 127) / norm_steps;
  return z + (q - z).detach();
}

BlockImpl::BlockImpl(const ModelConfig& c) : cfg(c) {
  qkv = register_module("qkv", torch::nn::Linear(c.d_model, 3 * c.d_model));
  out = register_module("out", torch::nn::Linear(c.d_model, c.d_model));
  ff1 = register_module("ff1", torch::nn::Linear(c.d_model, c.d_ff));
  ff2 = register_module("ff2", torch::nn::Linear(c.d_ff, c.d_model));
  // Residual branches start small (GPT-2's scaled init) so deep stacks train.
  double std_res = 0.02 / std::sqrt(2.0 * c.n_layers);
  torch::NoGradGuard ng;
  for (auto* l : {&qkv, &ff1}) (*l)->weight.normal_(0, 0.02), (*l)->bias.zero_();
  for (auto* l : {&out, &ff2}) (*l)->weight.normal_(0, std_res), (*l)->bias.zero_();
}

torch::Tensor BlockImpl::forward(torch::Tensor x, const torch::Tensor& bias,
                                 Capture* capture) {
  const int64_t B = x.size(0), T = x.size(1), H = cfg.n_heads,
                D = cfg.head_dim();
  auto z = NormQuant(x, cfg.norm_steps);
  auto qkv_out = qkv(z).view({B, T, 3, H, D});
  auto q = qkv_out.select(2, 0).transpose(1, 2);  // [B, H, T, D]
  auto k = qkv_out.select(2, 1).transpose(1, 2);
  auto v = qkv_out.select(2, 2).transpose(1, 2);
  if (capture) {
    capture->q.push_back(q.detach());
    capture->k.push_back(k.detach());
    capture->v.push_back(v.detach());
  }
  auto scores = torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(double(D));
  auto p = torch::softmax(scores + bias, -1);
  auto a = torch::matmul(p, v).transpose(1, 2).reshape({B, T, H * D});
  x = x + out(a);
  auto u = torch::relu(ff1(NormQuant(x, cfg.norm_steps)));
  if (capture) capture->u.push_back(u.detach());
  return x + ff2(u);
}

FloatModelImpl::FloatModelImpl(const ModelConfig& c) : cfg(c) {
  embed = register_module("embed", torch::nn::Embedding(ModelConfig::kVocab + 1, c.d_model));
  for (int i = 0; i < c.n_layers; ++i) {
    blocks.push_back(register_module("block" + std::to_string(i), Block(c)));
  }
  head = register_module("head", torch::nn::Linear(c.d_model, ModelConfig::kVocab));
  torch::NoGradGuard ng;
  embed->weight.normal_(0, 1.0);
  head->weight.normal_(0, 0.02);
  head->bias.zero_();
}

torch::Tensor FloatModelImpl::AttentionBias(int64_t t) {
  auto slopes = cfg.AlibiSlopes();
  auto pos = torch::arange(t, torch::kFloat32);
  auto dist = pos.view({t, 1}) - pos.view({1, t});  // query - key
  auto allowed = (dist >= 0).logical_and(dist < cfg.window);
  std::vector<torch::Tensor> per_head;
  for (int32_t s : slopes) {
    auto b = -dist * (float(s) / cfg.score_unit);
    per_head.push_back(torch::where(
        allowed, b, torch::full_like(b, -std::numeric_limits<float>::infinity())));
  }
  return torch::stack(per_head);  // [H, T, T]
}

torch::Tensor FloatModelImpl::forward(const torch::Tensor& tokens, Capture* capture) {
  auto bias = AttentionBias(tokens.size(1));
  auto x = embed(tokens);
  for (auto& b : blocks) x = b->forward(x, bias, capture);
  return head(NormQuant(x, cfg.norm_steps));
}

}  // namespace lmc::train
