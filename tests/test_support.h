// Helpers the server integration tests share: the server binary, a small
// random model written to disk, patient client options, JSON-like text, the
// health check, and plain HTTP GETs (metrics, Prometheus' API).
#ifndef LMC_TESTS_TEST_SUPPORT_H_
#define LMC_TESTS_TEST_SUPPORT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "client/lmc_client.h"
#include "grpcpp/security/credentials.h"
#include "model/int_model.h"

namespace lmc {

// $LMC_BINARY_DIR/server/lmc-server.
std::string ServerBinary();

// A model file written once per test binary, and the same model in process.
struct TestModel {
  std::string path;
  std::unique_ptr<IntModel> model;
};
const TestModel& Model(uint64_t seed = 11);

// Generous deadlines: CI machines are slow and shared; the deadline tests set their own.
ClientOptions Patient();

// n bytes of JSON lines, from `seed`.
std::string Text(size_t n, uint32_t seed);

// grpc.health.v1.Health/Check of `service` ("": the server as a whole): 1
// SERVING, 2 NOT_SERVING, -1 when the call fails (NOT_FOUND included).
int Health(const std::string& address,
           std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials(),
           const std::string& service = "");

// GET http://127.0.0.1:port/path: the body ("" on any failure).
std::string HttpGet(int port, const std::string& path);

// The value of the sample `name{labels}` (labels exactly as exposed), or -1.
double Sample(const std::string& metrics, const std::string& series);

// The number after `marker` in a server's startup log ("metrics on port "), or 0.
int PortAfter(const std::string& log, const std::string& marker);

}  // namespace lmc

#endif  // LMC_TESTS_TEST_SUPPORT_H_
