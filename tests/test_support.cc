#include "tests/test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "grpcpp/create_channel.h"
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
  ClientOptions o;
  o.timeout = std::chrono::seconds(5);
  Client client(MakeChannel(address, o, creds), o);
  absl::StatusOr<bool> serving = client.Serving(service);
  if (!serving.ok()) return -1;
  return *serving ? 1 : 2;
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
