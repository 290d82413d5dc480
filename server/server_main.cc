// lmc-server: the lmc compression service. See server_config.h for its options.
//
// Start-up: listen at once (liveness), load and warm up every model, then report
// SERVING on grpc.health.v1 (readiness). SIGTERM or SIGINT: report NOT_SERVING,
// refuse new calls with UNAVAILABLE, let calls in flight finish (up to
// --drain_seconds), shut down, exit 0.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include "boost/asio/io_context.hpp"
#include "boost/asio/signal_set.hpp"
#include "boost/asio/steady_timer.hpp"
#include "engine/codec.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "hf/torch_plugin.h"
#include "models/default_model.h"
#include "prometheus/exposer.h"
#include "server/metrics.h"
#include "server/service.h"

namespace {

void Log(const std::string& s) { std::fprintf(stderr, "lmc-server: %s\n", s.c_str()); }

// Runs a small compress and decompress through the model's scheduler, so the
// first real call does not pay for cold caches; also a self-test.
absl::Status WarmUp(lmc::ServedModel& m) {
  const std::string sample = "lmc warm-up: {\"id\": 1, \"text\": \"hello, world\"}\n";
  lmc::hf::TokenCodecOptions one_thread;
  one_thread.threads = 1;
  one_thread.backend = m.backend.get();
  absl::StatusOr<std::string> frame = m.converted
                                          ? lmc::hf::CompressTokens(*m.converted, sample, one_thread)
                                          : lmc::Compress(*m.model, sample, {.threads = 1});
  if (!frame.ok()) return frame.status();
  absl::StatusOr<std::string> back = m.converted
                                         ? lmc::hf::DecompressTokens(*m.converted, *frame, one_thread)
                                         : lmc::Decompress(*m.model, *frame, {.threads = 1});
  if (!back.ok()) return back.status();
  if (*back != sample) return absl::InternalError("warm-up round trip differs");
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadPem(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  if (in) text << in.rdbuf();
  if (!in || text.str().empty()) return absl::NotFoundError("cannot read " + path);
  return text.str();
}

// Plaintext, TLS, or TLS with client certificates, from the configuration.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const lmc::ServerConfig& c) {
  if (c.tls_cert.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions opts(
      c.tls_client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                              : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  absl::StatusOr<std::string> cert = ReadPem(c.tls_cert), key = ReadPem(c.tls_key);
  if (!cert.ok()) return cert.status();
  if (!key.ok()) return key.status();
  opts.pem_key_cert_pairs.push_back({*key, *cert});
  if (!c.tls_client_ca.empty()) {
    absl::StatusOr<std::string> ca = ReadPem(c.tls_client_ca);
    if (!ca.ok()) return ca.status();
    opts.pem_root_certs = *ca;
  }
  return grpc::SslServerCredentials(opts);
}

// The health statuses of the main server and of the plaintext health-only
// server (--health_listen), kept equal: "" (readiness) is SERVING once the
// models are ready and until draining starts; "liveness" while the process runs.
class Health {
 public:
  void Add(grpc::Server* server) { services_.push_back(server->GetHealthCheckService()); }
  void SetReady(bool ready) {
    for (auto* h : services_) {
      h->SetServingStatus(ready);  // sets every service, liveness too: set it back
      h->SetServingStatus("liveness", true);
    }
  }

 private:
  std::vector<grpc::HealthCheckServiceInterface*> services_;
};

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<lmc::ServerConfig> config = lmc::ParseServerFlags(argc, argv);
  if (!config.ok()) {
    Log(std::string(config.status().message()));
    Log("usage: lmc-server [--config FILE] [--listen ADDR] [--model NAME[=PATH]]... (see server/server_config.h)");
    return 2;
  }
  Log(config->scheduler.memory_budget_bytes == 0
          ? std::string("chunks in progress: no memory bound")
          : "chunks in progress hold at most " +
                std::to_string(config->scheduler.memory_budget_bytes >> 20) + " MiB");
  lmc::ModelRegistry models;
  lmc::ServerMetrics metrics;
  std::unique_ptr<prometheus::Exposer> exposer;
  if (!config->metrics_listen.empty()) {
    try {
      exposer = std::make_unique<prometheus::Exposer>(config->metrics_listen);
      exposer->RegisterCollectable(metrics.registry());
      const auto ports = exposer->GetListeningPorts();
      Log("metrics on port " + std::to_string(ports.empty() ? 0 : ports.front()));
    } catch (const std::exception& e) {
      Log(std::string("cannot serve metrics on ") + config->metrics_listen + ": " + e.what());
      return 1;
    }
  }
  std::optional<lmc::TokenAuth> auth;
  if (!config->auth_tokens.empty()) {
    absl::StatusOr<lmc::TokenAuth> a = lmc::TokenAuth::FromFile(config->auth_tokens);
    if (!a.ok()) {
      Log(std::string(a.status().message()));
      return 1;
    }
    auth = *std::move(a);
    Log(std::to_string(auth->size()) + " client tokens");
    if (config->tls_cert.empty()) Log("warning: tokens over plaintext can be read on the wire");
  }
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds = Credentials(*config);
  if (!creds.ok()) {
    Log("TLS: " + std::string(creds.status().message()));
    return 1;
  }
  lmc::CompressorService service(&models, *config, metrics, auth ? &*auth : nullptr);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config->listen, *creds, &port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(config->max_message_bytes));
  builder.SetMaxSendMessageSize(-1);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    Log("cannot listen on " + config->listen);
    return 1;
  }
  Health health;
  health.Add(server.get());
  health.SetReady(false);
  Log("listening on port " + std::to_string(port) + (config->tls_cert.empty() ? "" : " with TLS") +
      " (not ready until models are loaded)");
  std::unique_ptr<grpc::Server> health_server;
  if (!config->health_listen.empty()) {
    grpc::ServerBuilder hb;  // grpc.health.v1 only: the default health service
    int health_port = 0;
    hb.AddListeningPort(config->health_listen, grpc::InsecureServerCredentials(), &health_port);
    health_server = hb.BuildAndStart();
    if (!health_server || health_port == 0) {
      Log("cannot serve health on " + config->health_listen);
      server->Shutdown();
      return 1;
    }
    health.Add(health_server.get());
    health.SetReady(false);
    Log("health on port " + std::to_string(health_port));
  }

  for (const auto& [name, path] : config->models) {
    absl::Status s;
    if (!path.empty() && lmc::hf::HfIntModel::IsHfIntPath(path)) {  // made by lmc convert
      absl::StatusOr<std::unique_ptr<lmc::hf::HfIntModel>> model = lmc::hf::HfIntModel::Load(path);
      s = model.ok() ? models.AddConverted(name, *std::move(model), config->scheduler.workers,
                                           config->scheduler.max_queued_chunks)
                     : model.status();
      if (s.ok() && config->device != "cpu") {  // LibTorch, loaded only now
        lmc::ServedModel& served = *models.models().back();
        absl::StatusOr<std::unique_ptr<lmc::hf::HfBackend>> b =
            lmc::hf::LoadTorchBackend(*served.converted, config->device, &served.cache_budget);
        if (b.ok()) {
          served.backend = *std::move(b);
          served.lockstep = lmc::hf::DefaultLockstep(served.backend.get());
          Log("model " + name + " runs on " + served.backend->name());
        } else {
          s = b.status();
        }
      }
    } else {
      absl::StatusOr<std::unique_ptr<lmc::IntModel>> model = lmc::LoadModelOrDefault(path);
      s = model.ok() ? models.Add(name, *std::move(model), config->scheduler, metrics.ObserverFor(name))
                     : model.status();
      if (s.ok() && config->device != "cpu") {
        Log("model " + name + " is a byte model: it runs on the CPU kernels (--device applies to "
            "converted models)");
      }
    }
    if (s.ok()) s = WarmUp(*models.models().back());
    if (!s.ok()) {
      Log("model " + name + ": " + std::string(s.message()));
      server->Shutdown();
      return 1;
    }
    Log("model " + name + " " + models.models().back()->fingerprint_hex() + " ready");
    metrics.ModelInfo(name, models.models().back()->fingerprint_hex());
  }

  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  boost::asio::steady_timer timer(io), sampler(io);
  // Queue depth, batch occupancy and calls in flight, sampled for the metrics.
  std::function<void()> sample = [&] {
    for (const auto& m : models.models()) {
      if (m->scheduler) {
        metrics.Load(m->name, m->scheduler->queued_chunks(), m->scheduler->running_chunks(),
                     service.in_flight(), m->scheduler->memory_in_use());
      } else {  // a converted model: calls, not chunks
        metrics.Load(m->name, m->runner->queued(), m->runner->running(), service.in_flight());
      }
    }
    sampler.expires_after(std::chrono::milliseconds(500));
    sampler.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) sample();
    });
  };
  sample();
  health.SetReady(true);
  Log("serving");
  std::chrono::steady_clock::time_point drain_end;
  std::function<void()> wait_drained = [&] {
    if (service.in_flight() == 0 || std::chrono::steady_clock::now() >= drain_end) {
      if (service.in_flight() > 0) Log(std::to_string(service.in_flight()) + " calls cut off");
      sampler.cancel();
      io.stop();
      return;
    }
    timer.expires_after(std::chrono::milliseconds(20));
    timer.async_wait([&](const boost::system::error_code&) { wait_drained(); });
  };
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    Log(std::string("signal ") + std::to_string(sig) + ": draining");
    service.StartDraining();  // first: once health says NOT_SERVING, calls are refused
    health.SetReady(false);
    drain_end = std::chrono::steady_clock::now() + std::chrono::seconds(config->drain_seconds);
    wait_drained();
  });
  io.run();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server->Wait();
  if (health_server) health_server->Shutdown(std::chrono::system_clock::now());
  Log("stopped");
  return 0;
}
