// Prometheus metrics of lmc-server (prometheus-cpp), served on their own HTTP
// port. gRPC server metrics use the conventional names and labels of
// go-grpc-prometheus (grpc_server_started_total, grpc_server_handled_total,
// grpc_server_handling_seconds, grpc_server_msg_received_total,
// grpc_server_msg_sent_total); service metrics are lmc_*. No label or value
// carries payload data.
#ifndef LMC_SERVER_METRICS_H_
#define LMC_SERVER_METRICS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "engine/scheduler.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace lmc {

class ServerMetrics {
 public:
  ServerMetrics();
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  // type: "unary" or "bidi_stream"; method: e.g. "Compress".
  void Started(const std::string& type, const std::string& method);
  void Handled(const std::string& type, const std::string& method, const absl::Status& status,
               double seconds);
  void MsgReceived(const std::string& type, const std::string& method);
  void MsgSent(const std::string& type, const std::string& method);
  // A completed compression: original and frame sizes, by model name.
  void Compressed(const std::string& model, uint64_t original, uint64_t compressed);
  void Decompressed(const std::string& model, uint64_t original, uint64_t compressed);
  // Periodic samples of the schedulers, by model name; `memory`: bytes the
  // chunks in progress hold (Scheduler::memory_in_use; 0 for converted models).
  void Load(const std::string& model, size_t queued, size_t running, int in_flight,
            uint64_t memory = 0);
  void ModelInfo(const std::string& model, const std::string& fingerprint);
  // Queue time, forward time, batch size and tokens of a model's scheduler.
  std::unique_ptr<SchedulerObserver> ObserverFor(const std::string& model);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& handling_;
  prometheus::Family<prometheus::Counter>& received_;
  prometheus::Family<prometheus::Counter>& sent_;
  prometheus::Family<prometheus::Counter>& bytes_in_;
  prometheus::Family<prometheus::Counter>& bytes_out_;
  prometheus::Family<prometheus::Histogram>& ratio_;
  prometheus::Family<prometheus::Histogram>& bits_per_byte_;
  prometheus::Family<prometheus::Histogram>& queue_seconds_;
  prometheus::Family<prometheus::Histogram>& forward_seconds_;
  prometheus::Family<prometheus::Histogram>& batch_streams_;
  prometheus::Family<prometheus::Histogram>& batch_tokens_;
  prometheus::Family<prometheus::Counter>& tokens_;
  prometheus::Family<prometheus::Counter>& failures_;
  prometheus::Family<prometheus::Gauge>& queued_;
  prometheus::Family<prometheus::Gauge>& running_;
  prometheus::Family<prometheus::Gauge>& memory_;
  prometheus::Family<prometheus::Gauge>& in_flight_;
  prometheus::Family<prometheus::Gauge>& model_info_;
};

}  // namespace lmc

#endif  // LMC_SERVER_METRICS_H_
