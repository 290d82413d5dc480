// The lmc.v1.Compressor service on gRPC's callback API. Reactions never run the
// model: they parse, hand chunks to the model's scheduler and return; the
// scheduler's workers complete the calls. proto/lmc/v1/compressor.proto documents
// the RPCs and their status codes.
#ifndef LMC_SERVER_SERVICE_H_
#define LMC_SERVER_SERVICE_H_

#include <atomic>
#include <functional>

#include "hf/token_codec.h"
#include "lmc/v1/compressor.grpc.pb.h"
#include "server/call_util.h"
#include "server/model_registry.h"
#include "server/server_config.h"
#include "server/token_auth.h"

namespace lmc {

class CompressorService final : public v1::Compressor::CallbackService {
 public:
  // `metrics` records every call (served or not); `auth` may be null (no
  // tokens needed).
  CompressorService(ModelRegistry* models, const ServerConfig& config, ServerMetrics& metrics,
                    const TokenAuth* auth = nullptr)
      : models_(models), config_(config), metrics_(metrics), auth_(auth) {}

  // New calls get UNAVAILABLE from now on; calls in flight go on.
  void StartDraining() { draining_ = true; }
  bool draining() const { return draining_; }
  int in_flight() const { return in_flight_.count(); }
  // Whether a new call may start: UNAVAILABLE while draining, UNAUTHENTICATED
  // without a valid token (when tokens are configured).
  absl::Status Admit(const grpc::CallbackServerContext& ctx) const;

  grpc::ServerUnaryReactor* Compress(grpc::CallbackServerContext* ctx,
                                     const v1::CompressRequest* req,
                                     v1::CompressResponse* resp) override;
  grpc::ServerUnaryReactor* Decompress(grpc::CallbackServerContext* ctx,
                                       const v1::DecompressRequest* req,
                                       v1::DecompressResponse* resp) override;
  grpc::ServerUnaryReactor* ListModels(grpc::CallbackServerContext* ctx,
                                       const v1::ListModelsRequest* req,
                                       v1::ListModelsResponse* resp) override;
  grpc::ServerBidiReactor<v1::CompressRequest, v1::CompressResponse>* CompressStream(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerBidiReactor<v1::DecompressRequest, v1::DecompressResponse>* DecompressStream(
      grpc::CallbackServerContext* ctx) override;

  ModelRegistry* models() { return models_; }
  const ServerConfig& config() const { return config_; }
  InFlight& in_flight_counter() { return in_flight_; }
  ServerMetrics& metrics() { return metrics_; }

  // For a frame of BPE tokens: the converted model that decodes it (or the
  // error: not served, over the output limit). nullptr for every other frame,
  // which the byte models' path handles (and reports, if malformed).
  absl::StatusOr<ServedModel*> ConvertedFor(std::string_view frame);
  // A converted model's compression of `data` or decompression of `frame`,
  // queued on its runner; `done` gets the frame or the original (or the
  // error) on a runner thread. The input must live until then. The work takes
  // this call's share of the cores and stops at its deadline or cancellation.
  // RESOURCE_EXHAUSTED, without calling `done`, when the queue is full.
  using ConvertedDone = std::function<void(absl::StatusOr<std::string>)>;
  absl::Status SubmitConverted(ServedModel* m, bool compress,
                               std::string_view input,
                               std::shared_ptr<CallFlags> flags,
                               ConvertedDone done);

 private:
  hf::TokenCodecOptions ConvertedOptions(
      const std::shared_ptr<CallFlags>& flags) const;

  ModelRegistry* models_;
  const ServerConfig& config_;
  ServerMetrics& metrics_;
  const TokenAuth* auth_;  // null: no tokens needed
  std::atomic<bool> draining_{false};
  InFlight in_flight_;
};

}  // namespace lmc

#endif  // LMC_SERVER_SERVICE_H_
