// The float twin of lmc's integer transformer, in LibTorch, for training.
// Same architecture as model/model_config.h describes; the integer inference
// reads what export.cc derives from these weights. Norm outputs are fake-quantised
// to int8/norm_steps during training (straight-through gradient) so the model learns
// under the same rounding that integer inference applies there.
#ifndef LMC_TRAIN_FLOAT_MODEL_H_
#define LMC_TRAIN_FLOAT_MODEL_H_

#include <torch/torch.h>

#include <vector>

#include "model/model_config.h"

namespace lmc::train {

// Activations recorded for calibration of the integer model's scales.
struct Capture {
  std::vector<torch::Tensor> q, k, v, u;  // per layer
};

struct BlockImpl : torch::nn::Module {
  explicit BlockImpl(const ModelConfig& c);
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& bias,
                        Capture* capture);

  ModelConfig cfg;
  torch::nn::Linear qkv{nullptr}, out{nullptr}, ff1{nullptr}, ff2{nullptr};
};
TORCH_MODULE(Block);

struct FloatModelImpl : torch::nn::Module {
  explicit FloatModelImpl(const ModelConfig& c);
  // tokens: int64 [B, T] with values 0..256; returns logits [B, T, 256].
  torch::Tensor forward(const torch::Tensor& tokens, Capture* capture = nullptr);
  // ALiBi + sliding-window causal bias [H, T, T] (0 or -slope*dist, -inf outside).
  torch::Tensor AttentionBias(int64_t t);

  ModelConfig cfg;
  torch::nn::Embedding embed{nullptr};
  std::vector<Block> blocks;
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(FloatModel);

// Layer norm without affine, eps 2^-17 (the integer model's eps), then the
// int8/norm_steps rounding with a straight-through gradient.
torch::Tensor NormQuant(const torch::Tensor& x, int norm_steps);

}  // namespace lmc::train

#endif  // LMC_TRAIN_FLOAT_MODEL_H_
