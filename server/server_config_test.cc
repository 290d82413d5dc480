#include "server/server_config.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "gtest/gtest.h"

namespace lmc {
namespace {

absl::StatusOr<ServerConfig> Parse(std::vector<std::string> args) {
  std::vector<char*> argv = {const_cast<char*>("lmc-server")};
  for (auto& a : args) argv.push_back(a.data());
  return ParseServerFlags(static_cast<int>(argv.size()), argv.data());
}

TEST(ServerConfigTest, DefaultsServeTheEmbeddedModel) {
  auto c = Parse({});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->listen, "0.0.0.0:50051");
  ASSERT_EQ(c->models.size(), 1u);
  EXPECT_EQ(c->models[0].first, "default");
  EXPECT_EQ(c->models[0].second, "");
  EXPECT_EQ(c->max_message_bytes, 4 << 20);
  EXPECT_EQ(c->max_stream_media_bytes, uint64_t{64} << 20);
  EXPECT_EQ(c->device, "cpu");
  EXPECT_EQ(c->chunk_tokens, 0u);  // the codec's defaults: 2^21 bytes, 2^23 media tokens
  auto gpu = Parse({"--device", "cuda:1"});
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  EXPECT_EQ(gpu->device, "cuda:1");
  EXPECT_EQ(Parse({"--device="}).status().code(), absl::StatusCode::kInvalidArgument);
  auto media = Parse({"--sample_workers", "3", "--max_media_chunks=5"});
  ASSERT_TRUE(media.ok()) << media.status();
  EXPECT_EQ(media->scheduler.sample_workers, 3);
  EXPECT_EQ(media->scheduler.max_media_chunks, 5);
  EXPECT_EQ(ServerConfig{}.scheduler.max_media_chunks, 0);  // 2 x sample threads
  auto off = Parse({"--max_stream_media_bytes", "0"});
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->max_stream_media_bytes, 0u);
}

// The chunks' memory: half the memory limit unless told; N MiB; 0 for none.
TEST(ServerConfigTest, ChunkMemoryBudget) {
  auto c = Parse({});
  ASSERT_TRUE(c.ok());
  const uint64_t machine = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE);
  EXPECT_GT(c->scheduler.memory_budget_bytes, 0u);
  EXPECT_LE(c->scheduler.memory_budget_bytes, machine / 2);
  EXPECT_EQ(c->scheduler.memory_budget_bytes, AutoChunkMemory());
  c = Parse({"--chunk_memory_mb", "512"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->scheduler.memory_budget_bytes, uint64_t{512} << 20);
  c = Parse({"--chunk_memory_mb=0"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->scheduler.memory_budget_bytes, 0u);
  c = Parse({"--chunk_memory_mb=0", "--chunk_memory_mb=auto"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->scheduler.memory_budget_bytes, AutoChunkMemory());
  EXPECT_FALSE(Parse({"--chunk_memory_mb", "-5"}).ok());
  EXPECT_FALSE(Parse({"--chunk_memory_mb", "lots"}).ok());
  // cgroup files: v2's "max" and v1's huge number mean none; both end in "\n".
  EXPECT_EQ(ParseCgroupMemoryLimit("max\n"), 0u);
  EXPECT_EQ(ParseCgroupMemoryLimit("8589934592\n"), uint64_t{8} << 30);
  EXPECT_EQ(ParseCgroupMemoryLimit(""), 0u);
}

TEST(ServerConfigTest, FlagsAndFileFlagsWinWhenLater) {
  const std::string path = ::testing::TempDir() + "/lmc-server.conf";
  std::ofstream(path) << "# a comment\nlisten = 127.0.0.1:7000\nworkers = 3  # trailing\n"
                         "model = small=/models/small\n";
  auto c = Parse({"--config", path, "--workers=2", "--model", "big=/models/big"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen, "127.0.0.1:7000");
  EXPECT_EQ(c->scheduler.workers, 2);
  ASSERT_EQ(c->models.size(), 2u);
  EXPECT_EQ(c->models[0], std::make_pair(std::string("small"), std::string("/models/small")));
  EXPECT_EQ(c->models[1], std::make_pair(std::string("big"), std::string("/models/big")));
}

TEST(ServerConfigTest, BadInputIsInvalidArgument) {
  for (auto args : std::vector<std::vector<std::string>>{
           {"--workers", "zero"}, {"--workers", "0"}, {"--bogus", "1"}, {"--listen"}, {"stray"},
           {"--config", "/nonexistent/lmc.conf"}, {"--tls_cert", "c.pem"},
           {"--tls_key", "k.pem"}, {"--tls_client_ca", "ca.pem"},
           {"--chunk_tokens", "16777217"}, {"--max_media_chunks", "-1"},
           {"--sample_workers", "x"}}) {
    auto c = Parse(args);
    EXPECT_FALSE(c.ok()) << args[0];
  }
  const std::string path = ::testing::TempDir() + "/bad.conf";
  std::ofstream(path) << "listen 127.0.0.1:1\n";
  EXPECT_EQ(Parse({"--config", path}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ServerConfigTest, TlsAndTokensComeFromFlags) {
  auto c = Parse({"--tls_cert", "/tls/cert.pem", "--tls_key=/tls/key.pem", "--tls_client_ca",
                  "/tls/ca.pem", "--auth_tokens", "/etc/lmc/tokens"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tls_cert, "/tls/cert.pem");
  EXPECT_EQ(c->tls_key, "/tls/key.pem");
  EXPECT_EQ(c->tls_client_ca, "/tls/ca.pem");
  EXPECT_EQ(c->auth_tokens, "/etc/lmc/tokens");
}

}  // namespace
}  // namespace lmc
