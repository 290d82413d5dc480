#include "server/metrics.h"

#include "absl/strings/str_cat.h"
#include "core/frame.h"

namespace lmc {
namespace {

constexpr char kService[] = "lmc.v1.Compressor";

// gRPC's canonical code names, as the grpc_code label spells them.
std::string CodeName(absl::StatusCode c) {
  static const char* kNames[] = {"OK",
                                 "Canceled",
                                 "Unknown",
                                 "InvalidArgument",
                                 "DeadlineExceeded",
                                 "NotFound",
                                 "AlreadyExists",
                                 "PermissionDenied",
                                 "ResourceExhausted",
                                 "FailedPrecondition",
                                 "Aborted",
                                 "OutOfRange",
                                 "Unimplemented",
                                 "Internal",
                                 "Unavailable",
                                 "DataLoss",
                                 "Unauthenticated"};
  const int i = static_cast<int>(c);
  return i >= 0 && i <= 16 ? kNames[i] : "Unknown";
}

prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
}

// The histograms and counter of one model's scheduler, resolved once.
class MetricsObserver : public SchedulerObserver {
 public:
  MetricsObserver(prometheus::Histogram& queue, prometheus::Histogram& forward,
                  prometheus::Histogram& streams, prometheus::Histogram& tokens,
                  prometheus::Counter& token_count)
      : queue_(queue), forward_(forward), streams_(streams), tokens_(tokens),
        token_count_(token_count) {}
  void Admitted(double queue_seconds) override { queue_.Observe(queue_seconds); }
  void Stepped(int streams, int tokens, double forward_seconds) override {
    streams_.Observe(streams);
    tokens_.Observe(tokens);
    token_count_.Increment(tokens);
    forward_.Observe(forward_seconds);
  }

 private:
  prometheus::Histogram& queue_;
  prometheus::Histogram& forward_;
  prometheus::Histogram& streams_;
  prometheus::Histogram& tokens_;
  prometheus::Counter& token_count_;
};

}  // namespace

ServerMetrics::ServerMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      started_(prometheus::BuildCounter()
                   .Name("grpc_server_started_total")
                   .Help("Total number of RPCs started on the server.")
                   .Register(*registry_)),
      handled_(prometheus::BuildCounter()
                   .Name("grpc_server_handled_total")
                   .Help("Total number of RPCs completed on the server, regardless of success or failure.")
                   .Register(*registry_)),
      handling_(prometheus::BuildHistogram()
                    .Name("grpc_server_handling_seconds")
                    .Help("Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.")
                    .Register(*registry_)),
      received_(prometheus::BuildCounter()
                    .Name("grpc_server_msg_received_total")
                    .Help("Total number of RPC stream messages received on the server.")
                    .Register(*registry_)),
      sent_(prometheus::BuildCounter()
                .Name("grpc_server_msg_sent_total")
                .Help("Total number of gRPC stream messages sent by the server.")
                .Register(*registry_)),
      bytes_in_(prometheus::BuildCounter()
                    .Name("lmc_original_bytes_total")
                    .Help("Original (uncompressed) bytes of completed calls, by model and direction.")
                    .Register(*registry_)),
      bytes_out_(prometheus::BuildCounter()
                     .Name("lmc_compressed_bytes_total")
                     .Help("Compressed (frame) bytes of completed calls, by model and direction.")
                     .Register(*registry_)),
      ratio_(prometheus::BuildHistogram()
                         .Name("lmc_compression_ratio")
                         .Help("Compressed over original size of completed compressions (bits per byte = 8 x ratio).")
                         .Register(*registry_)),
      bits_per_byte_(prometheus::BuildHistogram()
                         .Name("lmc_compression_bpb")
                         .Help("Achieved bits per original byte (bpb) of completed compressions.")
                         .Register(*registry_)),
      queue_seconds_(prometheus::BuildHistogram()
                         .Name("lmc_queue_seconds")
                         .Help("Time a chunk waited in the queue for a batch slot, by model.")
                         .Register(*registry_)),
      forward_seconds_(prometheus::BuildHistogram()
                           .Name("lmc_forward_seconds")
                           .Help("Time of one model step (forward pass of a batch), by model.")
                           .Register(*registry_)),
      batch_streams_(prometheus::BuildHistogram()
                         .Name("lmc_batch_streams")
                         .Help("Chunks in one model step (batch size), by model.")
                         .Register(*registry_)),
      batch_tokens_(prometheus::BuildHistogram()
                        .Name("lmc_batch_tokens")
                        .Help("Tokens evaluated in one model step, by model.")
                        .Register(*registry_)),
      tokens_(prometheus::BuildCounter()
                  .Name("lmc_tokens_total")
                  .Help("Tokens evaluated by the model, by model.")
                  .Register(*registry_)),
      failures_(prometheus::BuildCounter()
                    .Name("lmc_failures_total")
                    .Help("Calls that ended in an error, by method and reason (gRPC code).")
                    .Register(*registry_)),
      queued_(prometheus::BuildGauge()
                  .Name("lmc_queue_chunks")
                  .Help("Chunks waiting for a batch slot, by model.")
                  .Register(*registry_)),
      running_(prometheus::BuildGauge()
                   .Name("lmc_running_chunks")
                   .Help("Chunks in progress (in the running batches or coding media samples), by model.")
                   .Register(*registry_)),
      memory_(prometheus::BuildGauge()
                  .Name("lmc_chunk_memory_bytes")
                  .Help("Bytes of context tables the chunks in progress hold, by model "
                        "(at most --chunk_memory_mb; converted models: 0).")
                  .Register(*registry_)),
      in_flight_(prometheus::BuildGauge()
                     .Name("lmc_in_flight_requests")
                     .Help("Calls started and not yet finished.")
                     .Register(*registry_)),
      model_info_(prometheus::BuildGauge()
                      .Name("lmc_model_info")
                      .Help("Models served: 1 per model, with name and fingerprint.")
                      .Register(*registry_)) {
  prometheus::BuildGauge()
      .Name("lmc_build_info")
      .Help("lmc build: 1, with the version and frame format.")
      .Register(*registry_)
      .Add({{"version", "0.1.0"}, {"frame_format", std::to_string(kFrameVersion)}})
      .Set(1);
}

void ServerMetrics::Started(const std::string& type, const std::string& method) {
  started_.Add({{"grpc_type", type}, {"grpc_service", kService}, {"grpc_method", method}})
      .Increment();
}

void ServerMetrics::Handled(const std::string& type, const std::string& method,
                            const absl::Status& status, double seconds) {
  const std::string code = CodeName(status.code());
  handled_
      .Add({{"grpc_type", type}, {"grpc_service", kService}, {"grpc_method", method},
            {"grpc_code", code}})
      .Increment();
  handling_
      .Add({{"grpc_type", type}, {"grpc_service", kService}, {"grpc_method", method}},
           LatencyBuckets())
      .Observe(seconds);
  if (!status.ok()) failures_.Add({{"grpc_method", method}, {"reason", code}}).Increment();
}

void ServerMetrics::MsgReceived(const std::string& type, const std::string& method) {
  received_.Add({{"grpc_type", type}, {"grpc_service", kService}, {"grpc_method", method}})
      .Increment();
}

void ServerMetrics::MsgSent(const std::string& type, const std::string& method) {
  sent_.Add({{"grpc_type", type}, {"grpc_service", kService}, {"grpc_method", method}})
      .Increment();
}

void ServerMetrics::Compressed(const std::string& model, uint64_t original, uint64_t compressed) {
  bytes_in_.Add({{"model", model}, {"direction", "compress"}}).Increment(original);
  bytes_out_.Add({{"model", model}, {"direction", "compress"}}).Increment(compressed);
  if (original > 0) {
    ratio_
        .Add({{"model", model}},
             prometheus::Histogram::BucketBoundaries{0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5,
                                                     0.75, 1, 1.25})
        .Observe(static_cast<double>(compressed) / original);
    bits_per_byte_
        .Add({{"model", model}},
             prometheus::Histogram::BucketBoundaries{0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10})
        .Observe(8.0 * compressed / original);
  }
}

void ServerMetrics::Decompressed(const std::string& model, uint64_t original, uint64_t compressed) {
  bytes_in_.Add({{"model", model}, {"direction", "decompress"}}).Increment(original);
  bytes_out_.Add({{"model", model}, {"direction", "decompress"}}).Increment(compressed);
}

void ServerMetrics::Load(const std::string& model, size_t queued, size_t running, int in_flight,
                         uint64_t memory) {
  queued_.Add({{"model", model}}).Set(static_cast<double>(queued));
  running_.Add({{"model", model}}).Set(static_cast<double>(running));
  memory_.Add({{"model", model}}).Set(static_cast<double>(memory));
  in_flight_.Add({}).Set(in_flight);
}

std::unique_ptr<SchedulerObserver> ServerMetrics::ObserverFor(const std::string& model) {
  const prometheus::Labels labels = {{"model", model}};
  return std::make_unique<MetricsObserver>(
      queue_seconds_.Add(labels, prometheus::Histogram::BucketBoundaries{
                                     0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300}),
      forward_seconds_.Add(labels, prometheus::Histogram::BucketBoundaries{
                                       0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                       0.25, 0.5, 1, 2.5}),
      batch_streams_.Add(labels,
                         prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128}),
      batch_tokens_.Add(labels, prometheus::Histogram::BucketBoundaries{1, 4, 16, 64, 256, 1024,
                                                                        4096, 16384}),
      tokens_.Add(labels));
}

void ServerMetrics::ModelInfo(const std::string& model, const std::string& fingerprint) {
  model_info_.Add({{"name", model}, {"fingerprint", fingerprint}}).Set(1);
}

}  // namespace lmc
