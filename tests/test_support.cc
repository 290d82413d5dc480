#include "tests/test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>

#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "model/random_model.h"

namespace lmc {

std::string ServerBinary() {
  const char* dir = std::getenv("LMC_BINARY_DIR");
  return std::string(dir ? dir : ".") + "/server/lmc-server";
}

const TestModel& Model(uint64_t seed) {
  static std::map<uint64_t, TestModel>* models = new std::map<uint64_t, TestModel>;
  auto it = models->find(seed);
  if (it != models->end()) return it->second;
  TestModel m;
  const std::string bytes = MakeRandomModel(TinyConfig(), seed);
  m.path = ::testing::TempDir() + "/lmc-server-test-" + std::to_string(seed) + ".safetensors";
  std::ofstream(m.path, std::ios::binary) << bytes;
  m.model = std::move(IntModel::FromBytes(bytes)).value();
  return (*models)[seed] = std::move(m);
}

ClientOptions Patient() {
  ClientOptions o;
  o.timeout = std::chrono::minutes(10);
  return o;
}

std::string Text(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < n) {
    s += "{\"id\": " + std::to_string(rng() % 100000) + ", \"name\": \"item" +
         std::to_string(rng() % 300) + "\"}\n";
  }
  s.resize(n);
  return s;
}

int Health(const std::string& address, std::shared_ptr<grpc::ChannelCredentials> creds,
           const std::string& service) {
  auto channel = grpc::CreateChannel(address, creds);
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  // HealthCheckRequest{service (field 1, string)}; empty when service is "".
  std::string request;
  if (!service.empty()) {
    request = std::string("\x0a") + static_cast<char>(service.size()) + service;
  }
  grpc::Slice slice(request);
  grpc::ByteBuffer req(&slice, 1), resp;
  grpc::Status status;
  std::atomic<bool> done{false};
  std::mutex mu;
  std::condition_variable cv;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &req, &resp,
                 [&](grpc::Status s) {
                   std::lock_guard<std::mutex> l(mu);
                   status = s;
                   done = true;
                   cv.notify_all();
                 });
  std::unique_lock<std::mutex> l(mu);
  cv.wait(l, [&] { return done.load(); });
  if (!status.ok()) return -1;
  std::vector<grpc::Slice> slices;
  resp.Dump(&slices);
  std::string bytes;
  for (auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  // HealthCheckResponse{status = 1 (field 1, varint)}: 08 01; SERVING = 1.
  if (bytes.size() == 2 && bytes[0] == 0x08) return bytes[1];
  return bytes.empty() ? 0 : -1;
}

std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) return "";
  std::string resp;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) resp.append(buf, n);
  close(fd);
  const size_t body = resp.find("\r\n\r\n");
  return body == std::string::npos ? "" : resp.substr(body + 4);
}

double Sample(const std::string& metrics, const std::string& series) {
  std::istringstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

int PortAfter(const std::string& log, const std::string& marker) {
  const size_t at = log.find(marker);
  return at == std::string::npos ? 0 : std::atoi(log.c_str() + at + marker.size());
}

}  // namespace lmc
