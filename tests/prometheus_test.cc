// A real Prometheus (Debian's `prometheus`) scrapes a live lmc-server under
// load; the test asks Prometheus' HTTP API for the request counters and
// histograms and checks them against the calls it made, and that the alert
// rules of deploy/prometheus evaluate on the live series.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "client/lmc_client.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/server_process.h"
#include "tests/test_support.h"

namespace lmc {
namespace {

namespace fs = std::filesystem;

// A port free a moment ago (Prometheus takes its listen address as a flag).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// A Prometheus process scraping `target` every second, with lmc's alert rules.
class Prometheus {
 public:
  Prometheus(const std::string& target, const std::string& rules) {
    dir_ = ::testing::TempDir() + "/lmc-prometheus-" + std::to_string(getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_ + "/data");
    std::ofstream(dir_ + "/prometheus.yml")
        << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        << "rule_files:\n  - " << rules << "\n"
        << "scrape_configs:\n  - job_name: lmc\n    static_configs:\n"
        << "      - targets: ['" << target << "']\n";
    port_ = FreePort();
    pid_ = fork();
    if (pid_ == 0) {
      const int log = open((dir_ + "/log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
      const std::string config = "--config.file=" + dir_ + "/prometheus.yml";
      const std::string data = "--storage.tsdb.path=" + dir_ + "/data";
      const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(port_);
      execlp("prometheus", "prometheus", config.c_str(), data.c_str(), listen.c_str(),
             static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~Prometheus() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool WaitReady() {
    for (int i = 0; i < 600; ++i) {
      if (HttpGet(port_, "/-/ready").find("Ready") != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  std::string Log() const {
    std::ifstream in(dir_ + "/log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // An instant query's single value; NaN when there is none (yet).
  double Query(const std::string& promql) const {
    const std::string body = HttpGet(port_, "/api/v1/query?query=" + UrlEncode(promql));
    auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || j.value("status", "") != "success") return NAN;
    const auto& result = j["data"]["result"];
    if (!result.is_array() || result.size() != 1) return NAN;
    return std::stod(result[0]["value"][1].get<std::string>());
  }
  // Polls until the query equals `want` (scrapes come every second).
  double WaitFor(const std::string& promql, double want) const {
    double v = NAN;
    for (int i = 0; i < 300 && v != want; ++i) {
      v = Query(promql);
      if (v != want) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return v;
  }
  nlohmann::json Api(const std::string& path) const {
    return nlohmann::json::parse(HttpGet(port_, path), nullptr, false);
  }

 private:
  static std::string UrlEncode(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        out += static_cast<char>(c);
      } else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", c);
        out += buf;
      }
    }
    return out;
  }
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

std::string SourceDir() {
  const char* dir = std::getenv("LMC_SOURCE_DIR");
  return dir ? dir : ".";
}

TEST(PrometheusTest, ScrapedCountersAndHistogramsMatchTheCallsMade) {
  ServerProcess server(ServerBinary(), {"--model", "tiny=" + Model().path, "--chunk_tokens",
                                        "2048", "--workers", "2", "--metrics_listen",
                                        "127.0.0.1:0"});
  ASSERT_TRUE(server.ok()) << server.startup_log();
  const int metrics_port = PortAfter(server.startup_log(), "metrics on port ");
  ASSERT_GT(metrics_port, 0);
  Prometheus prom("127.0.0.1:" + std::to_string(metrics_port),
                  SourceDir() + "/deploy/prometheus/lmc-alerts.yaml");
  ASSERT_TRUE(prom.WaitReady()) << prom.Log();
  ASSERT_EQ(prom.WaitFor("up{job=\"lmc\"}", 1), 1) << prom.Log();

  // Load: 8 clients, each 5 compressions, a decompression and a corrupt frame.
  const std::string marker = "lmc-payload-marker-7f3a9c";
  std::mutex mu;
  std::map<absl::StatusCode, int> codes;  // Decompress outcomes
  uint64_t original = 0;
  int compress_ok = 0;
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      auto client = Client::Connect(server.address(), Patient());
      for (int i = 0; i < 5; ++i) {
        const std::string data = marker + Text(500 + 900 * i, 100 * c + i);
        absl::StatusOr<std::string> frame = client->Compress(data);
        ASSERT_TRUE(frame.ok()) << frame.status();
        std::lock_guard<std::mutex> l(mu);
        original += data.size();
        ++compress_ok;
        if (i == 0) {
          absl::StatusOr<std::string> back = client->Decompress(*frame);
          EXPECT_TRUE(back.ok() && *back == data);
          ++codes[back.status().code()];
        }
      }
      absl::Status bad = client->Decompress("not a frame at all").status();
      std::lock_guard<std::mutex> l(mu);
      ++codes[bad.code()];
    });
  }
  for (auto& t : clients) t.join();
  ASSERT_EQ(compress_ok, 40);
  ASSERT_EQ(codes[absl::StatusCode::kOk], 8);
  ASSERT_EQ(codes[absl::StatusCode::kInvalidArgument] + codes[absl::StatusCode::kDataLoss], 8);

  const std::string compress =
      "grpc_service=\"lmc.v1.Compressor\",grpc_method=\"Compress\",grpc_type=\"unary\"";
  const std::string decompress =
      "grpc_service=\"lmc.v1.Compressor\",grpc_method=\"Decompress\",grpc_type=\"unary\"";
  EXPECT_EQ(prom.WaitFor("sum(grpc_server_handled_total{" + decompress + "})", 16), 16);
  EXPECT_EQ(prom.WaitFor("sum(grpc_server_handled_total{" + compress + ",grpc_code=\"OK\"})", 40),
            40);
  EXPECT_EQ(prom.Query("sum(grpc_server_started_total{" + compress + "})"), 40);
  EXPECT_EQ(prom.Query("sum(grpc_server_handled_total{" + decompress + ",grpc_code=\"OK\"})"), 8);
  for (auto [code, name] : {std::pair{absl::StatusCode::kInvalidArgument, "InvalidArgument"},
                            std::pair{absl::StatusCode::kDataLoss, "DataLoss"}}) {
    if (codes[code] == 0) continue;
    EXPECT_EQ(prom.Query("sum(grpc_server_handled_total{" + decompress + ",grpc_code=\"" + name +
                         "\"})"),
              codes[code])
        << name;
    EXPECT_EQ(prom.Query(std::string("sum(lmc_failures_total{reason=\"") + name + "\"})"),
              codes[code]);
  }
  // Histograms: one observation per call, buckets cumulative up to +Inf.
  EXPECT_EQ(prom.Query("sum(grpc_server_handling_seconds_count{" + compress + "})"), 40);
  EXPECT_EQ(prom.Query("sum(grpc_server_handling_seconds_bucket{" + compress + ",le=\"+Inf\"})"),
            40);
  EXPECT_GT(prom.Query("sum(grpc_server_handling_seconds_sum{" + compress + "})"), 0);
  EXPECT_EQ(prom.Query("sum(grpc_server_msg_received_total{" + compress + "})"), 40);
  EXPECT_EQ(prom.Query("sum(lmc_original_bytes_total{direction=\"compress\"})"),
            static_cast<double>(original));
  EXPECT_EQ(prom.Query("sum(lmc_compression_bpb_count{model=\"tiny\"})"), 40);
  // The scheduler: every byte compressed or decompressed is a token through the model.
  EXPECT_GE(prom.Query("sum(lmc_tokens_total{model=\"tiny\"})"), static_cast<double>(original));
  EXPECT_GT(prom.Query("sum(lmc_batch_streams_count{model=\"tiny\"})"), 0);
  EXPECT_GE(prom.Query("sum(lmc_queue_seconds_count{model=\"tiny\"})"), 48);  // >= one per call
  EXPECT_EQ(prom.Query("lmc_model_info{name=\"tiny\"}"), 1);

  // lmc's alert rules load and evaluate on these series without errors.
  nlohmann::json rules;
  for (int i = 0; i < 100; ++i) {
    rules = prom.Api("/api/v1/rules");
    bool evaluated = !rules.is_discarded() && !rules["data"]["groups"].empty();
    if (evaluated) {
      for (const auto& r : rules["data"]["groups"][0]["rules"]) {
        evaluated = evaluated && r.value("lastEvaluation", "").rfind("0001", 0) != 0;
      }
    }
    if (evaluated) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_FALSE(rules.is_discarded());
  ASSERT_EQ(rules["data"]["groups"].size(), 1u);
  int n = 0;
  for (const auto& r : rules["data"]["groups"][0]["rules"]) {
    EXPECT_EQ(r.value("health", ""), "ok") << r.dump();
    // A healthy replica that only saw client errors: no alert condition holds
    // (the expression selects nothing).
    EXPECT_TRUE(std::isnan(prom.Query(r.value("query", "")))) << r.value("name", "");
    ++n;
  }
  EXPECT_EQ(n, 3);

  // The metrics port shows no payload data.
  const std::string metrics = HttpGet(metrics_port, "/metrics");
  ASSERT_FALSE(metrics.empty());
  EXPECT_EQ(metrics.find(marker), std::string::npos);
  EXPECT_EQ(metrics.find("\"id\""), std::string::npos);
}

}  // namespace
}  // namespace lmc
