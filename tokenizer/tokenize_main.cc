// lmc-tokenize TOKENIZER [FILE...]: encodes each file (stdin without one) with a
// tokenizer.json and prints one line per file, its token ids separated by
// spaces; checks that the ids decode to the file again (exit status 1 if not).
// With --stats, prints "file bytes tokens bytes/token MB/s" instead.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "core/file.h"
#include "tokenizer/tokenizer.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  bool stats = false;
  if (!args.empty() && args[0] == "--stats") {
    stats = true;
    args.erase(args.begin());
  }
  if (args.empty()) {
    std::fprintf(stderr, "usage: lmc-tokenize [--stats] TOKENIZER_JSON_OR_DIR [FILE...]\n");
    return 2;
  }
  absl::StatusOr<lmc::tokenizer::Tokenizer> t = lmc::tokenizer::Tokenizer::Load(args[0]);
  if (!t.ok()) {
    std::fprintf(stderr, "lmc-tokenize: %s\n", std::string(t.status().message()).c_str());
    return 1;
  }
  std::vector<std::string> files(args.begin() + 1, args.end());
  if (files.empty()) files.push_back("-");
  int rc = 0;
  for (const std::string& f : files) {
    std::string bytes;
    if (f == "-") {
      bytes.assign(std::istreambuf_iterator<char>(std::cin), {});
    } else {
      absl::StatusOr<std::string> r = lmc::ReadFile(f);
      if (!r.ok()) {
        std::fprintf(stderr, "lmc-tokenize: %s\n", std::string(r.status().message()).c_str());
        return 1;
      }
      bytes = std::move(*r);
    }
    const auto start = std::chrono::steady_clock::now();
    const std::vector<uint32_t> ids = t->Encode(bytes);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    absl::StatusOr<std::string> back = t->Decode(ids);
    if (!back.ok() || *back != bytes) {
      std::fprintf(stderr, "lmc-tokenize: %s: ids do not decode to the input\n", f.c_str());
      rc = 1;
    }
    if (stats) {
      std::printf("%s %zu %zu %.3f %.2f\n", f.c_str(), bytes.size(), ids.size(),
                  ids.empty() ? 0.0 : double(bytes.size()) / ids.size(),
                  s > 0 ? bytes.size() / s / 1e6 : 0.0);
      continue;
    }
    std::string line;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i) line += ' ';
      line += std::to_string(ids[i]);
    }
    std::printf("%s\n", line.c_str());
  }
  return rc;
}
