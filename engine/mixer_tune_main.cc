// lmc-mixer-tune: a research tool for the context mixer's parameters. Runs the
// model (and match model) once over sample files, keeps the frequency tables,
// then reports the coding cost of the mixer under parameter settings given on
// the command line. Tune on training data only, never on the benchmark corpus.
//
//   lmc-mixer-tune MODEL_DIR FILE... -- limit,shift,apm_rate,max_bits ...
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/context_mixer.h"
#include "engine/match_model.h"
#include "model/evaluator.h"
#include "model/int_model.h"

namespace {

struct Sample {
  std::string bytes;
  std::vector<uint16_t> freqs;  // adjusted by the match model, 256 per byte
  // Per byte, the match model's prediction (-1: none) and length, for SetMatch.
  std::vector<int> predicted, length;
};

// The match model again, for the mixer's SetMatch: its prediction does not
// depend on the row, which the cache already holds adjusted.
void FindMatches(Sample* s) {
  lmc::MatchModel match;
  std::vector<uint16_t> scratch(256);
  s->predicted.resize(s->bytes.size());
  s->length.resize(s->bytes.size());
  for (size_t t = 0; t < s->bytes.size(); ++t) {
    std::copy_n(&s->freqs[t * 256], 256, scratch.begin());
    match.Adjust(scratch.data());
    s->predicted[t] = match.predicted();
    s->length[t] = match.length();
    match.Update(static_cast<uint8_t>(s->bytes[t]));
  }
}

Sample Prepare(const lmc::IntModel& model, std::string bytes) {
  Sample s;
  s.bytes = std::move(bytes);
  lmc::BatchEvaluator ev(model);
  lmc::StreamState state(model);
  lmc::MatchModel match;
  std::vector<int32_t> in(s.bytes.size());
  for (size_t t = 0; t < in.size(); ++t) {
    in[t] = t == 0 ? lmc::ModelConfig::kBos : static_cast<uint8_t>(s.bytes[t - 1]);
  }
  std::vector<uint16_t> f;
  for (size_t done = 0; done < in.size(); done += 256) {
    const size_t n = std::min<size_t>(256, in.size() - done);
    lmc::StreamInput input{&state, std::span<const int32_t>(&in[done], n)};
    ev.Evaluate({&input, 1}, &f);
    for (size_t t = 0; t < n; ++t) {
      uint16_t* row = &f[t * 256];
      match.Adjust(row);
      s.freqs.insert(s.freqs.end(), row, row + 256);
      match.Update(static_cast<uint8_t>(s.bytes[done + t]));
    }
  }
  return s;
}

double Cost(const Sample& s, const lmc::MixerParams& p, double* lm_bits) {
  lmc::ContextMixer cm(s.bytes.size(), p);
  double bits = 0, lm = 0;
  for (size_t t = 0; t < s.bytes.size(); ++t) {
    const uint16_t* f = &s.freqs[t * 256];
    const uint8_t c = static_cast<uint8_t>(s.bytes[t]);
    lm -= std::log2(f[c] / 65536.0);
    cm.SetFrequencies(f);
    cm.SetMatch(s.predicted[t], s.length[t]);
    for (int k = 7; k >= 0; --k) {
      const int bit = (c >> k) & 1;
      const int p1 = cm.P1();
      bits -= std::log2((bit ? p1 : 4096 - p1) / 4096.0);
      cm.Update(bit);
    }
  }
  *lm_bits = lm;
  return bits;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: lmc-mixer-tune MODEL_DIR FILE... -- limit,shift,apm_rate,max_bits ...\n");
    return 1;
  }
  auto model = lmc::IntModel::Load(argv[1]);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
    return 1;
  }
  int i = 2;
  std::vector<Sample> samples;
  std::vector<std::string> names;
  for (; i < argc && std::string(argv[i]) != "--"; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    // Model outputs are cached beside the file (FILE.freqs), keyed by its length.
    const std::string cache = std::string(argv[i]) + ".freqs";
    std::ifstream cached(cache, std::ios::binary);
    Sample s;
    s.bytes = ss.str();
    s.freqs.resize(s.bytes.size() * 256);
    if (!cached.read(reinterpret_cast<char*>(s.freqs.data()), s.freqs.size() * 2)) {
      s = Prepare(**model, ss.str());
      std::ofstream out(cache, std::ios::binary);
      out.write(reinterpret_cast<const char*>(s.freqs.data()), s.freqs.size() * 2);
    }
    FindMatches(&s);
    samples.push_back(std::move(s));
    names.push_back(argv[i]);
  }
  for (++i; i < argc; ++i) {
    lmc::MixerParams p;
    std::sscanf(argv[i], "%d,%d,%d,%d", &p.counter_limit, &p.learning_shift, &p.apm_rate,
                &p.max_table_bits);
    double total = 0, total_lm = 0, n = 0;
    for (size_t k = 0; k < samples.size(); ++k) {
      double lm;
      const double b = Cost(samples[k], p, &lm);
      if (std::getenv("VERBOSE")) std::printf("  %-50s %8zu  lm %.4f  mixed %.4f bits/byte\n", names[k].c_str(),
                  samples[k].bytes.size(), lm / samples[k].bytes.size(),
                  b / samples[k].bytes.size());
      total += b;
      total_lm += lm;
      n += samples[k].bytes.size();
    }
    std::printf("%s: lm %.4f  mixed %.4f bits/byte\n", argv[i], total_lm / n, total / n);
  }
  return 0;
}
