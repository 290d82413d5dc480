// Deterministic random integer models for tests and speed benchmarks: real
// architecture, random weights with multipliers chosen so activations use the
// int8 range without saturating. Not for compression quality.
#ifndef LMC_MODEL_RANDOM_MODEL_H_
#define LMC_MODEL_RANDOM_MODEL_H_

#include <cstdint>
#include <string>

#include "model/model_config.h"

namespace lmc {

// The bytes of a model.safetensors for `config`, the same for the same seed.
std::string MakeRandomModel(const ModelConfig& config, uint64_t seed);

// A tiny configuration for unit tests (fast on one core).
ModelConfig TinyConfig();
// Smaller still, for round trips of tens of megabytes in tests.
ModelConfig MicroConfig();

}  // namespace lmc

#endif  // LMC_MODEL_RANDOM_MODEL_H_
