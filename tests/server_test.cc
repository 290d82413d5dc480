// Integration tests of lmc-server: real server processes on loopback, the client
// library, a small random model (the behaviour, not the ratio, is under test).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <cstring>
#include <sstream>
#include <thread>

#include "client/lmc_client.h"
#include "core/frame.h"
#include "engine/codec.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "hf/hf_int_model.h"
#include "hf/tiny_checkpoint.h"
#include "hf/torch_plugin.h"
#include "hf/token_codec.h"
#include "gtest/gtest.h"
#include "model/int_model.h"
#include "model/random_model.h"
#include "tests/server_process.h"
#include "tests/test_support.h"

namespace lmc {
namespace {

namespace fs = std::filesystem;
constexpr uint32_t kChunk = 4096;  // the servers' chunk size: many chunks per request

std::vector<std::string> Flags(std::vector<std::string> extra = {}) {
  std::vector<std::string> f = {"--model", "tiny=" + Model().path, "--chunk_tokens",
                                std::to_string(kChunk), "--workers", "2"};
  f.insert(f.end(), extra.begin(), extra.end());
  return f;
}

std::string Local(const std::string& data) {
  CodecOptions opt;
  opt.chunk_tokens = kChunk;
  opt.threads = 1;
  return Compress(*Model().model, data, opt).value();
}

TEST(ServerTest, MetricsCountWhatHappenedAndPassPromtool) {
  ServerProcess server(ServerBinary(), Flags({"--metrics_listen", "127.0.0.1:0"}));
  ASSERT_TRUE(server.ok());
  const int metrics_port = PortAfter(server.startup_log(), "metrics on port ");
  ASSERT_GT(metrics_port, 0) << server.startup_log();
  auto client = Client::Connect(server.address(), Patient());
  uint64_t original = 0;
  for (int i = 0; i < 5; ++i) {
    const std::string data = Text(1000 + 300 * i, 50 + i);
    original += data.size();
    ASSERT_TRUE(client->Compress(data).ok());
  }
  EXPECT_FALSE(client->Decompress("junk").ok());
  const std::string m = HttpGet(metrics_port, "/metrics");
  ASSERT_FALSE(m.empty());
  const std::string unary = "grpc_method=\"Compress\",grpc_service=\"lmc.v1.Compressor\",grpc_type=\"unary\"";
  EXPECT_EQ(Sample(m, "grpc_server_started_total{" + unary + "}"), 5);
  EXPECT_EQ(Sample(m, "grpc_server_handled_total{grpc_code=\"OK\"," + unary + "}"), 5);
  EXPECT_EQ(Sample(m, "grpc_server_handling_seconds_count{" + unary + "}"), 5);
  EXPECT_EQ(Sample(m, "grpc_server_msg_received_total{" + unary + "}"), 5);
  EXPECT_EQ(Sample(m, "grpc_server_msg_sent_total{" + unary + "}"), 5);
  EXPECT_EQ(Sample(m, "grpc_server_handled_total{grpc_code=\"InvalidArgument\",grpc_method=\"Decompress\",grpc_service=\"lmc.v1.Compressor\",grpc_type=\"unary\"}"), 1);
  EXPECT_EQ(Sample(m, "lmc_original_bytes_total{direction=\"compress\",model=\"tiny\"}"),
            static_cast<double>(original));
  EXPECT_EQ(Sample(m, "lmc_failures_total{grpc_method=\"Decompress\",reason=\"InvalidArgument\"}"), 1);
  EXPECT_EQ(Sample(m, "lmc_model_info{fingerprint=\"" + Model().model->fingerprint_hex() + "\",name=\"tiny\"}"), 1);
  EXPECT_NE(m.find("lmc_queue_chunks{model=\"tiny\"}"), std::string::npos);
  EXPECT_NE(m.find("lmc_chunk_memory_bytes{model=\"tiny\"}"), std::string::npos);
  EXPECT_EQ(Sample(m, "lmc_build_info{frame_format=\"" + std::to_string(kFrameVersion) +
                          "\",version=\"0.1.0\"}"),
            1);
  // No payload bytes on the metrics port: a distinctive input string never shows.
  ASSERT_TRUE(client->Compress("SECRET-PAYLOAD-7f3a").ok());
  EXPECT_EQ(HttpGet(metrics_port, "/metrics").find("SECRET"), std::string::npos);
  // promtool's lint of the live exposition.
  const std::string file = ::testing::TempDir() + "/lmc-metrics.txt";
  std::ofstream(file) << m;
  EXPECT_EQ(std::system(("promtool check metrics < " + file).c_str()), 0);

  // Every metric the dashboard and the alert rules use exists in the live output
  // (histogram series by their family), and the rules pass promtool.
  const std::string src = std::getenv("LMC_SOURCE_DIR") ? std::getenv("LMC_SOURCE_DIR") : "..";
  const std::string rules = src + "/deploy/prometheus/lmc-alerts.yaml";
  EXPECT_EQ(std::system(("promtool check rules " + rules + " >/dev/null").c_str()), 0);
  int named = 0;
  for (const std::string& path : {src + "/deploy/grafana/lmc-dashboard.json", rules}) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    ASSERT_FALSE(text.empty()) << path;
    std::regex name(R"(\b((grpc_server|lmc)_[a-z_]+))");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator(); ++it) {
      std::string metric = (*it)[1];
      for (const char* suffix : {"_bucket", "_count", "_sum"}) {
        if (metric.ends_with(suffix) && m.find("# TYPE " + metric.substr(0, metric.size() - std::strlen(suffix)) + " histogram") != std::string::npos) {
          metric.resize(metric.size() - std::strlen(suffix));
        }
      }
      EXPECT_NE(m.find("# TYPE " + metric + " "), std::string::npos) << metric << " (" << path << ")";
      ++named;
    }
  }
  EXPECT_GT(named, 10);
}

TEST(ServerTest, ConcurrentClientsGetExactLocalModeFrames) {
  ServerProcess server(ServerBinary(), Flags());
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(Health(server.address()), 1);
  auto client = Client::Connect(server.address(), Patient());
  const size_t sizes[] = {100, 700, 3000, 20000, 100, 60000, 1500, 250000};
  std::vector<std::thread> threads;
  std::atomic<int> exact{0}, failures{0};
  for (int i = 0; i < 64; ++i) {
    threads.emplace_back([&, i] {
      const std::string data = Text(i == 63 ? 5000000 : sizes[i % 8], i);
      std::string frame;
      if (i == 63) {  // 5 MB through the streams (frames of one segment each)
        std::istringstream in(data);
        std::ostringstream out;
        absl::Status s = client->CompressStream(in, out);
        if (!s.ok()) { ++failures; ADD_FAILURE() << s; return; }
        frame = out.str();
        std::istringstream fin(frame);
        std::ostringstream back;
        s = client->DecompressStream(fin, back);
        if (!s.ok() || back.str() != data) { ++failures; ADD_FAILURE() << s; return; }
        // Each frame of the stream is local mode's frame of its segment.
        std::string expect;
        for (size_t p = 0; p < data.size(); p += kChunk) expect += Local(data.substr(p, kChunk));
        if (frame == expect) ++exact;
        return;
      }
      absl::StatusOr<std::string> f = client->Compress(data);
      if (!f.ok()) { ++failures; ADD_FAILURE() << f.status(); return; }
      absl::StatusOr<std::string> back = client->Decompress(*f);
      if (!back.ok() || *back != data) { ++failures; ADD_FAILURE() << back.status(); return; }
      if (*f == Local(data)) ++exact;
      // And local mode decodes the server's frame.
      if (Decompress(*Model().model, *f).value() != data) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(exact, 64);
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(), 0);
}

TEST(ServerTest, ErrorsGetTheirCodesAndTheServerKeepsServing) {
  ServerProcess server(ServerBinary(), Flags({"--max_message_bytes", "100000"}));
  ASSERT_TRUE(server.ok());
  auto client = Client::Connect(server.address(), Patient());
  const std::string data = Text(5000, 1);
  std::string frame = client->Compress(data).value();

  EXPECT_EQ(client->Compress(data, "no-such-model").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client->Compress(data, "", "smell").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client->Decompress("not a frame at all").status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string corrupt = frame;
  // A bit in the middle of the payload: the decoded bytes change, and the
  // checksum or the coder catches it. (Not in its last bytes: they are the
  // range coder's flush, where some bits only pick a point inside the final
  // interval and decode the same either way; the checksum then confirms the
  // intact data.)
  corrupt[corrupt.size() / 2] ^= 0x10;
  EXPECT_EQ(client->Decompress(corrupt).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(client->Decompress(frame.substr(0, frame.size() - 1)).status().code(),
            absl::StatusCode::kDataLoss);
  // A frame made by another model.
  CodecOptions opt;
  opt.chunk_tokens = kChunk;
  const std::string other = Compress(*Model(99).model, data, opt).value();
  EXPECT_EQ(client->Decompress(other).status().code(), absl::StatusCode::kFailedPrecondition);
  // Oversized unary message.
  EXPECT_EQ(client->Compress(Text(200000, 2)).status().code(),
            absl::StatusCode::kResourceExhausted);
  // Empty streams: compressing nothing gives a frame of nothing; decompressing
  // nothing is not a frame.
  std::istringstream none;
  std::ostringstream out;
  ASSERT_TRUE(client->CompressStream(none, out).ok());
  EXPECT_EQ(Decompress(*Model().model, out.str()).value(), "");
  std::istringstream none2;
  std::ostringstream out2;
  EXPECT_EQ(client->DecompressStream(none2, out2).code(), absl::StatusCode::kInvalidArgument);
  // A stream that stops inside a frame.
  std::istringstream cut(frame.substr(0, frame.size() / 2));
  std::ostringstream out3;
  EXPECT_EQ(client->DecompressStream(cut, out3).code(), absl::StatusCode::kDataLoss);
  // Still serving, exactly.
  EXPECT_EQ(client->Decompress(frame).value(), data);
  auto models = client->ListModels().value();
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].name(), "tiny");
  EXPECT_EQ(models[0].fingerprint(), Model().model->fingerprint_hex());
  EXPECT_EQ(Health(server.address()), 1);
}

TEST(ServerTest, OverloadIsResourceExhaustedAtOnceAndDeadlinesFreeSlots) {
  // Chunks long enough that decoding 8 of them outlasts a 100 ms deadline by far,
  // however fast the engine gets.
  constexpr uint32_t kLong = 65536;
  ServerProcess server(ServerBinary(),
                       Flags({"--max_queued_chunks", "8", "--max_batch_streams", "2",
                              "--chunk_tokens", std::to_string(kLong)}));
  ASSERT_TRUE(server.ok());
  auto client = Client::Connect(server.address(), Patient());
  // 25 chunks can never fit a queue of 8: refused at once.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(client->Compress(Text(25 * kLong, 3)).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(Health(server.address()), 1);
  // A deadline that expires mid-decode, and a cancelled call: both give up
  // their slots, and the server goes on.
  const std::string data = Text(8 * kLong, 4);
  const std::string frame = client->Compress(data).value();
  ClientOptions hasty;
  hasty.timeout = std::chrono::milliseconds(100);
  hasty.max_attempts = 2;
  auto quick = Client::Connect(server.address(), hasty);
  EXPECT_EQ(quick->Decompress(frame).status().code(), absl::StatusCode::kDeadlineExceeded);
  // The server frees the expired call's slots when its scheduler next runs,
  // which on a loaded machine can be after the client has seen its deadline:
  // a full queue may answer for a moment, but not for long.
  absl::StatusOr<std::string> back;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  do {
    back = client->Decompress(frame);
  } while (back.status().code() == absl::StatusCode::kResourceExhausted &&
           std::chrono::steady_clock::now() < until &&
           (std::this_thread::sleep_for(std::chrono::milliseconds(50)), true));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, data);
}

TEST(ServerTest, SigtermDrainsInFlightCallsAndRefusesNewOnes) {
  ServerProcess server(ServerBinary(),
                       Flags({"--drain_seconds", "60", "--metrics_listen", "127.0.0.1:0"}));
  ASSERT_TRUE(server.ok());
  const int metrics_port = PortAfter(server.startup_log(), "metrics on port ");
  ASSERT_GT(metrics_port, 0);
  auto client = Client::Connect(server.address(), Patient());
  std::vector<std::string> inputs;
  for (int i = 0; i < 8; ++i) inputs.push_back(Text(40000 + i * 1000, 10 + i));
  std::vector<std::string> frames(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) frames[i] = client->Compress(inputs[i]).value();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < inputs.size(); ++i) {
    threads.emplace_back([&, i] {
      auto back = client->Decompress(frames[i]);
      if (back.ok() && *back == inputs[i]) ++ok;
      else ADD_FAILURE() << back.status();
    });
  }
  // Signal once the server has all the calls in flight (its own gauge says so).
  for (int i = 0; i < 3000; ++i) {
    if (Sample(HttpGet(metrics_port, "/metrics"), "lmc_in_flight_requests") >= inputs.size()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  server.Signal(SIGTERM);
  // Wait until the server has taken the signal (health leaves SERVING).
  for (int i = 0; i < 500 && Health(server.address()) == 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(Health(server.address()), 2);  // not ready: endpoints drop the pod
  EXPECT_EQ(Health(server.address(), grpc::InsecureChannelCredentials(), "liveness"), 1);
  ClientOptions once;
  once.max_attempts = 2;
  once.timeout = std::chrono::seconds(5);
  auto late = Client::Connect(server.address(), once);
  EXPECT_EQ(late->Compress("too late").status().code(), absl::StatusCode::kUnavailable);
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, static_cast<int>(inputs.size()));
  EXPECT_EQ(server.Wait(), 0);
}

TEST(ServerTest, RoundRobinOverThreeServersSurvivesLosingOne) {
  std::vector<std::unique_ptr<ServerProcess>> servers;
  std::string target = "ipv4:";
  for (int i = 0; i < 3; ++i) {
    servers.push_back(std::make_unique<ServerProcess>(ServerBinary(), Flags()));
    ASSERT_TRUE(servers.back()->ok());
    if (i) target += ',';
    target += servers.back()->address();
  }
  auto client = Client::Connect(target, Patient());
  std::atomic<int> exact{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 6; ++k) {
        const std::string data = Text(3000 + 5000 * k, t * 100 + k);
        auto f = client->Compress(data);
        if (!f.ok()) { ADD_FAILURE() << f.status(); continue; }
        auto back = client->Decompress(*f);
        if (back.ok() && *back == data && *f == Local(data)) ++exact;
        else ADD_FAILURE() << back.status();
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  servers[1]->Signal(SIGKILL);  // under load, no goodbye
  for (auto& t : threads) t.join();
  EXPECT_EQ(exact, 36);
}

// A 16-bit stereo WAV of `frames` sample frames: a slow sine and noise.
std::string Wav(uint32_t frames) {
  std::string w = "RIFF", data;
  const auto u32 = [](std::string* s, uint32_t v) {
    for (int i = 0; i < 4; ++i) s->push_back(static_cast<char>(v >> (8 * i)));
  };
  std::mt19937 rng(5);
  for (uint32_t i = 0; i < frames * 2; ++i) {
    const int v = static_cast<int>(8000 * std::sin(i * 0.01)) + static_cast<int>(rng() % 64);
    data.push_back(static_cast<char>(v));
    data.push_back(static_cast<char>(v >> 8));
  }
  u32(&w, 36 + static_cast<uint32_t>(data.size()));
  w += "WAVEfmt ";
  u32(&w, 16);
  w += std::string("\x01\x00\x02\x00", 4);  // PCM, 2 channels
  u32(&w, 8000);
  u32(&w, 32000);
  w += std::string("\x04\x00\x10\x00", 4);  // block 4, 16 bits
  w += "data";
  u32(&w, static_cast<uint32_t>(data.size()));
  return w + data;
}

// A media file longer than a segment, streamed: the server gathers it into
// one frame, local mode's, so the front-end sees every sample; past
// --max_stream_media_bytes it is framed in segments like any input.
TEST(ServerTest, StreamedMediaIsCodedWhole) {
  const std::string wav = Wav(30000);  // 120 KB: 29 segments' worth
  const auto stream = [&](ServerProcess& server) {
    auto client = Client::Connect(server.address(), Patient());
    std::istringstream in(wav);
    std::ostringstream out;
    EXPECT_TRUE(client->CompressStream(in, out).ok());
    std::istringstream fin(out.str());
    std::ostringstream back;
    EXPECT_TRUE(client->DecompressStream(fin, back).ok());
    EXPECT_TRUE(back.str() == wav);
    return out.str();
  };
  ServerProcess server(ServerBinary(), Flags());
  ASSERT_TRUE(server.ok());
  const std::string whole = stream(server);
  EXPECT_TRUE(whole == Local(wav)) << "not local mode's frame";
  EXPECT_EQ(ParseFrame(whole).value().header.front_end, FrontEnd::kAudio);
  ServerProcess small(ServerBinary(), Flags({"--max_stream_media_bytes", "20000"}));
  ASSERT_TRUE(small.ok());
  const std::string framed = stream(small);
  EXPECT_TRUE(framed != whole);
  const std::string first = framed.substr(0, FrameSize(framed).value());
  EXPECT_EQ(ParseFrame(first).value().header.original_bytes, kChunk);  // the first segment
}

// A model made by lmc convert, served beside the byte model: unary and stream
// calls code BPE tokens, the frames are local mode's, each model decodes its
// own frames, and damage and foreign frames get their codes.
TEST(ServerTest, ConvertedModelIsServedBesideTheByteModel) {
  absl::StatusOr<std::string> made = hf::testing::TinyConvertedGpt2(1),
                              made_other = hf::testing::TinyConvertedGpt2(2);
  ASSERT_TRUE(made.ok()) << made.status();
  ASSERT_TRUE(made_other.ok()) << made_other.status();
  const std::string& file = *made;
  const std::string& other = *made_other;
  const fs::path path = fs::temp_directory_path() / ("lmc_conv_" + std::to_string(getpid()) + ".lmc");
  std::ofstream(path, std::ios::binary) << file;
  auto model = hf::HfIntModel::FromBytes(file).value();
  auto foreign = hf::HfIntModel::FromBytes(other).value();

  ServerProcess server(ServerBinary(), Flags({"--model", "conv=" + path.string()}));
  ASSERT_TRUE(server.ok()) << server.startup_log();
  auto client = Client::Connect(server.address(), Patient());
  absl::StatusOr<std::vector<v1::ModelInfo>> models = client->ListModels();
  ASSERT_TRUE(models.ok()) << models.status();
  ASSERT_EQ(models->size(), 2u);
  EXPECT_EQ((*models)[1].name(), "conv");
  EXPECT_EQ((*models)[1].architecture(), hf::kHfIntArchitecture);
  EXPECT_EQ((*models)[1].fingerprint(), model->fingerprint_hex());

  std::vector<std::thread> threads;
  std::atomic<int> exact{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      const std::string data = Text(300 + 1000 * i, i);
      absl::StatusOr<std::string> f = client->Compress(data, "conv");
      if (!f.ok()) return ADD_FAILURE() << f.status();
      if (*f == hf::CompressTokens(*model, data, {}).value()) ++exact;
      absl::StatusOr<std::string> back = client->Decompress(*f);  // found by its fingerprint
      if (!back.ok() || *back != data) return ADD_FAILURE() << back.status();
      if (hf::DecompressTokens(*model, *f, {}).value() != data) ADD_FAILURE() << "local decode";
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(exact, 6);

  // Streams: frames of kChunk-byte segments, each local mode's.
  const std::string big = Text(3 * kChunk + 500, 9);
  std::istringstream in(big);
  std::ostringstream out;
  ASSERT_TRUE(client->CompressStream(in, out, "conv").ok());
  std::string expect;
  for (size_t p = 0; p < big.size(); p += kChunk) {
    expect += hf::CompressTokens(*model, big.substr(p, kChunk), {}).value();
  }
  EXPECT_EQ(out.str(), expect);
  std::istringstream fin(out.str());
  std::ostringstream back;
  ASSERT_TRUE(client->DecompressStream(fin, back).ok());
  EXPECT_EQ(back.str(), big);

  // Another converted model's frame; a damaged one; the byte model still serves.
  const std::string text = Text(2000, 3);
  EXPECT_EQ(client->Decompress(hf::CompressTokens(*foreign, text, {}).value()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  std::string bad = hf::CompressTokens(*model, text, {}).value();
  bad[bad.size() - 8] ^= 0x21;
  EXPECT_EQ(client->Decompress(bad).status().code(), absl::StatusCode::kDataLoss);
  absl::StatusOr<std::string> plain = client->Compress(text);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, Local(text));
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(), 0);
  fs::remove(path);
}

// --device: the converted model runs on LibTorch (the plugin, here on the
// CPU) and its frames are the kernels' frames; a device the build lacks stops
// the server at start with a clear log line.
TEST(ServerTest, ConvertedModelRunsOnALibTorchDevice) {
  absl::StatusOr<std::string> made = hf::testing::TinyConvertedLlama();
  ASSERT_TRUE(made.ok()) << made.status();
  const fs::path path = fs::temp_directory_path() / ("lmc_dev_" + std::to_string(getpid()) + ".lmc");
  std::ofstream(path, std::ios::binary) << *made;
  auto model = hf::HfIntModel::FromBytes(*made).value();
  {
    ServerProcess server(ServerBinary(),
                         Flags({"--device", "torch:cpu", "--model", "conv=" + path.string()}));
    ASSERT_TRUE(server.ok()) << server.startup_log();
    EXPECT_NE(server.startup_log().find("runs on torch:cpu"), std::string::npos)
        << server.startup_log();
    auto client = Client::Connect(server.address(), Patient());
    for (int i = 0; i < 3; ++i) {
      const std::string data = Text(200 + 700 * i, i);
      absl::StatusOr<std::string> f = client->Compress(data, "conv");
      ASSERT_TRUE(f.ok()) << f.status();
      EXPECT_EQ(*f, hf::CompressTokens(*model, data, {}).value());
      absl::StatusOr<std::string> back = client->Decompress(*f);
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_EQ(*back, data);
    }
    server.Signal(SIGTERM);
    EXPECT_EQ(server.Wait(), 0);
  }
  if (!hf::LoadTorchBackend(*model, "cuda", nullptr).ok()) {
    ServerProcess server(ServerBinary(),
                         Flags({"--device", "cuda", "--model", "conv=" + path.string()}));
    EXPECT_FALSE(server.ok());
    EXPECT_NE(server.Wait(), 0);
    EXPECT_NE(server.startup_log().find("CUDA"), std::string::npos) << server.startup_log();
  }
  fs::remove(path);
}

}  // namespace
}  // namespace lmc
