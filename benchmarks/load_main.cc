// lmc-load: drives an lmc-server with concurrent clients and prints one table:
// throughput and latency against the number of clients, for compress and
// decompress, and the batching gain (throughput at the most clients over
// throughput at one).
//
//   lmc-load --target HOST:PORT --input FILE [--clients 1,4,16,64] [--seconds S]
//
// Every client loops over the input (one message per call) until S seconds have
// passed, then finishes its call; throughput counts original bytes of completed
// calls over the wall time of the run. Every decompressed result is compared.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/lmc_client.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Row {
  double mb_per_s = 0, p50_ms = 0, p99_ms = 0;
  int calls = 0, errors = 0;
};

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
}

Row Run(const std::string& target, int clients, double seconds, bool compress,
        const std::string& input, const std::string& frame) {
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<double> latencies;
  std::atomic<uint64_t> bytes{0};
  std::atomic<int> errors{0};
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration<double>(seconds);
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      lmc::ClientOptions opt;
      opt.timeout = std::chrono::hours(1);
      auto client = lmc::Client::Connect(target, opt);
      do {
        const auto s = Clock::now();
        bool ok;
        if (compress) {
          auto f = client->Compress(input);
          ok = f.ok() && *f == frame;
        } else {
          auto d = client->Decompress(frame);
          ok = d.ok() && *d == input;
        }
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - s).count();
        if (!ok) {
          ++errors;
          continue;
        }
        bytes += input.size();
        std::lock_guard<std::mutex> l(mu);
        latencies.push_back(ms);
      } while (Clock::now() < end && errors < 10);
    });
  }
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  Row r;
  r.mb_per_s = bytes / 1e6 / wall;
  r.p50_ms = Quantile(latencies, 0.50);
  r.p99_ms = Quantile(latencies, 0.99);
  r.calls = static_cast<int>(latencies.size());
  r.errors = errors;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string target, path, label;
  std::vector<int> clients = {1, 4, 16, 64};
  double seconds = 15;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--target") target = v;
    else if (k == "--input") path = v;
    else if (k == "--label") label = v;
    else if (k == "--seconds") seconds = std::stod(v);
    else if (k == "--clients") {
      clients.clear();
      std::stringstream ss(v);
      for (std::string n; std::getline(ss, n, ',');) clients.push_back(std::stoi(n));
    }
  }
  if (target.empty() || path.empty()) {
    std::fprintf(stderr, "usage: lmc-load --target HOST:PORT --input FILE [--clients 1,4,16,64] [--seconds S] [--label L]\n");
    return 1;
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string input = ss.str();
  auto probe = lmc::Client::Connect(target);
  auto frame = probe->Compress(input);
  if (!frame.ok()) {
    std::fprintf(stderr, "lmc-load: %s\n", frame.status().ToString().c_str());
    return 1;
  }
  if (label.empty()) label = std::to_string(input.size()) + " B";
  std::printf("%-12s %-10s %7s | %8s %9s %9s %6s %6s\n", "input", "op", "clients", "MB/s",
              "p50 ms", "p99 ms", "calls", "errors");
  int failed = 0;
  for (bool compress : {true, false}) {
    double first = 0, last = 0;
    for (int c : clients) {
      Row r = Run(target, c, seconds, compress, input, *frame);
      std::printf("%-12s %-10s %7d | %8.4f %9.1f %9.1f %6d %6d\n", label.c_str(),
                  compress ? "compress" : "decompress", c, r.mb_per_s, r.p50_ms, r.p99_ms,
                  r.calls, r.errors);
      std::fflush(stdout);
      if (c == clients.front()) first = r.mb_per_s;
      last = r.mb_per_s;
      failed += r.errors;
    }
    std::printf("%-12s %-10s batching gain (%d clients / %d): %.2fx\n", label.c_str(),
                compress ? "compress" : "decompress", clients.back(), clients.front(),
                first > 0 ? last / first : 0.0);
  }
  return failed ? 1 : 0;
}
