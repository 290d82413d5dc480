// Round trip of every file of the public benchmark corpus - media through their
// front-ends, the rest as bytes: with a micro random model for all of it
// (exactness does not depend on quality), and with the embedded default model
// for the small text files. The corpus directory comes from $LMC_CORPUS_DIR
// (.ci/run fetches it with benchmarks/fetch-data.sh).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/codec.h"
#include "model/random_model.h"
#include "models/default_model.h"

namespace lmc {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> CorpusFiles() {
  const char* dir = std::getenv("LMC_CORPUS_DIR");
  std::vector<fs::path> files;
  if (!dir) return files;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(CorpusRoundTripTest, EveryFileWithMicroModel) {
  auto files = CorpusFiles();
  if (files.empty()) GTEST_SKIP() << "LMC_CORPUS_DIR not set";
  ASSERT_GE(files.size(), 500u) << "the public corpus has 508 files";
  auto m = std::move(IntModel::FromBytes(MakeRandomModel(MicroConfig(), 11))).value();
  CodecOptions opt;
  opt.chunk_tokens = 1 << 18;
  size_t bytes = 0, media = 0;
  for (const auto& f : files) {
    const std::string data = Read(f);
    bytes += data.size();
    auto frame = Compress(*m, data, opt);
    ASSERT_TRUE(frame.ok()) << f << ": " << frame.status();
    // Every public image, recording and clip goes through its front-end.
    const std::string path = f.string();
    const FrontEnd want = path.find("/image/") != std::string::npos   ? FrontEnd::kImage
                          : path.find("/audio/") != std::string::npos ? FrontEnd::kAudio
                          : path.find("/video/") != std::string::npos ? FrontEnd::kVideo
                                                                       : FrontEnd::kBytes;
    if (want != FrontEnd::kBytes) {
      EXPECT_EQ(ParseFrame(*frame)->header.front_end, want) << f;
      ++media;
    }
    auto back = Decompress(*m, *frame, opt);
    ASSERT_TRUE(back.ok()) << f << ": " << back.status();
    ASSERT_TRUE(*back == data) << f;
  }
  EXPECT_GT(bytes, 30u << 20);
  EXPECT_EQ(media, 47u);  // 18 images, 27 recordings, 2 clips
}

TEST(CorpusRoundTripTest, SmallTextFilesWithDefaultModel) {
  auto files = CorpusFiles();
  if (files.empty()) GTEST_SKIP() << "LMC_CORPUS_DIR not set";
  auto m = LoadDefaultModel();
  ASSERT_TRUE(m.ok()) << m.status();
  int n = 0;
  for (const auto& f : files) {
    if (f.string().find("/text/") == std::string::npos || fs::file_size(f) > 4096) continue;
    if (++n % 4 != 0) continue;  // a quarter of the small messages keeps CI short
    const std::string data = Read(f);
    auto frame = Compress(**m, data, {});
    ASSERT_TRUE(frame.ok()) << f << ": " << frame.status();
    auto back = Decompress(**m, *frame, {});
    ASSERT_TRUE(back.ok()) << f << ": " << back.status();
    ASSERT_TRUE(*back == data) << f;
  }
  EXPECT_GT(n, 100);
}

}  // namespace
}  // namespace lmc
