// lmc-hf-logits CHECKPOINT_DIR OUT ID...: loads a Hugging Face checkpoint and
// writes the float logits of the token ids (float32 little-endian, [ids][vocab])
// to OUT; prints the architecture and sizes. The float reference for
// tests/hf_reference_test.sh and scripts/device-check.sh.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "hf/checkpoint.h"
#include "hf/float_model.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: lmc-hf-logits CHECKPOINT_DIR OUT ID...\n");
    return 2;
  }
  absl::StatusOr<lmc::hf::Checkpoint> ck = lmc::hf::Checkpoint::Load(argv[1]);
  if (!ck.ok()) {
    std::fprintf(stderr, "lmc-hf-logits: %s\n", ck.status().ToString().c_str());
    return 1;
  }
  std::vector<uint32_t> ids;
  for (int i = 3; i < argc; ++i) ids.push_back(static_cast<uint32_t>(std::strtoul(argv[i], nullptr, 10)));
  absl::StatusOr<std::vector<float>> logits = lmc::hf::FloatModel(*ck).Logits(ids);
  if (!logits.ok()) {
    std::fprintf(stderr, "lmc-hf-logits: %s\n", logits.status().ToString().c_str());
    return 1;
  }
  std::ofstream(argv[2], std::ios::binary)
      .write(reinterpret_cast<const char*>(logits->data()), logits->size() * sizeof(float));
  const lmc::hf::HfConfig& c = ck->config();
  std::printf("%s: %lld parameters, d %d, layers %d, heads %d/%d, vocab %d\n", c.name.c_str(),
              static_cast<long long>(ck->parameters()), c.d_model, c.n_layers, c.n_heads,
              c.n_kv_heads, c.vocab_size);
  return 0;
}
