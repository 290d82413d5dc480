// lmc-random-model OUT [seed] [tiny|micro|default]: writes a random integer model, for
// tests and speed benchmarks that must not depend on a trained model.
#include <cstdio>
#include <fstream>
#include <string>

#include "model/random_model.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: lmc-random-model OUT.safetensors [seed] [tiny|micro|default]\n");
    return 1;
  }
  const uint64_t seed = argc > 2 ? std::stoull(argv[2]) : 1;
  const std::string kind = argc > 3 ? argv[3] : "default";
  const lmc::ModelConfig c = kind == "tiny"    ? lmc::TinyConfig()
                             : kind == "micro" ? lmc::MicroConfig()
                                               : lmc::ModelConfig();
  std::ofstream(argv[1], std::ios::binary) << lmc::MakeRandomModel(c, seed);
  return 0;
}
