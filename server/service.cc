#include "server/service.h"

#include <algorithm>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/hashing.h"
#include "engine/codec.h"
#include "hf/token_codec.h"
#include "server/stream_calls.h"

namespace lmc {
namespace {

// A unary call: finishes once, counts itself in flight until then, and tells the
// scheduler when the client cancels.
class UnaryCall : public grpc::ServerUnaryReactor {
 public:
  UnaryCall(grpc::CallbackServerContext* ctx, InFlight* in_flight, ServerMetrics& metrics,
            const char* method)
      : flags_(std::make_shared<CallFlags>()),
        in_flight_(in_flight),
        metrics_(metrics, "unary", method) {
    flags_->deadline = ctx->deadline();
    in_flight_->Begin();
    metrics_.Received();
  }
  void Done(const absl::Status& s) {
    if (s.ok()) metrics_.Sent();
    metrics_.Done(s);
    in_flight_->End();
    Finish(ToGrpc(s));
  }
  ServerMetrics& metrics() const { return metrics_.metrics(); }
  const std::shared_ptr<CallFlags>& flags() const { return flags_; }
  void OnCancel() override { flags_->cancelled = true; }
  void OnDone() override { delete this; }

 private:
  std::shared_ptr<CallFlags> flags_;
  InFlight* in_flight_;
  CallMetrics metrics_;
};

}  // namespace

hf::TokenCodecOptions CompressorService::ConvertedOptions(
    const std::shared_ptr<CallFlags>& flags) const {
  hf::TokenCodecOptions o;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  o.threads = std::max(1, cores / std::max(1, config_.scheduler.workers));
  o.check = MakeCheck(flags);
  return o;
}

absl::Status CompressorService::SubmitConverted(
    ServedModel* m, bool compress, std::string_view input,
    std::shared_ptr<CallFlags> flags, ConvertedDone done) {
  return m->runner->Submit(
      [this, m, compress, input, flags, done = std::move(done)] {
        hf::TokenCodecOptions opt = ConvertedOptions(flags);
        opt.backend = m->backend.get();
        opt.lockstep = m->lockstep;
        opt.encode_rows = 8 * m->lockstep;
        if (m->cache_budget > 0) opt.cache_budget_bytes = m->cache_budget;
        done(compress ? hf::CompressTokens(*m->converted, input, opt)
                      : hf::DecompressTokens(*m->converted, input, opt));
      });
}

absl::StatusOr<ServedModel*> CompressorService::ConvertedFor(std::string_view frame) {
  absl::StatusOr<ParsedFrame> p = ParseFrame(frame);
  if (!p.ok() || p->header.front_end != FrontEnd::kTokens) return nullptr;  // not a token frame
  if (p->header.original_bytes > config_.max_output_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the frame decodes to ", p->header.original_bytes, " bytes, over this server's limit of ",
        config_.max_output_bytes));
  }
  absl::StatusOr<ServedModel*> served = models_->ByFrame(p->header);
  if (!served.ok()) return served.status();
  if ((*served)->converted == nullptr) {
    return absl::FailedPreconditionError("frame of BPE tokens names a byte model");
  }
  return *served;
}

absl::Status CompressorService::Admit(const grpc::CallbackServerContext& ctx) const {
  if (draining_) return absl::UnavailableError("server is draining");
  if (auth_ != nullptr) {
    if (absl::StatusOr<std::string> client = auth_->Check(ctx.client_metadata()); !client.ok()) {
      return client.status();
    }
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* CompressorService::Compress(grpc::CallbackServerContext* ctx,
                                                      const v1::CompressRequest* req,
                                                      v1::CompressResponse* resp) {
  auto* call = new UnaryCall(ctx, &in_flight_, metrics_, "Compress");
  if (absl::Status s = Admit(*ctx); !s.ok()) {
    call->Done(s);
    return call;
  }
  absl::StatusOr<ServedModel*> served = models_->ByName(req->model());
  if (!served.ok()) {
    call->Done(served.status());
    return call;
  }
  absl::StatusOr<std::optional<media::Modality>> modality =
      media::ParseModalityChoice(req->modality());
  if (!modality.ok()) {
    call->Done(modality.status());
    return call;
  }
  if ((*served)->converted != nullptr) {
    ServedModel* m = *served;
    absl::Status s = SubmitConverted(
        m, true, req->data(), call->flags(),
        [call, req, resp, m](absl::StatusOr<std::string> frame) {
          if (!frame.ok()) return call->Done(frame.status());
          resp->set_frame(*std::move(frame));
          resp->set_model_fingerprint(m->fingerprint_hex());
          resp->set_original_bytes(req->data().size());
          call->metrics().Compressed(m->name, req->data().size(),
                                     resp->frame().size());
          call->Done(absl::OkStatus());
        });
    if (!s.ok()) call->Done(s);
    return call;
  }
  absl::StatusOr<CompressPlan> plan =
      PlanCompress(*(*served)->model, req->data(), config_.chunk_tokens, *modality);
  if (!plan.ok()) {
    call->Done(plan.status());
    return call;
  }
  auto p = std::make_shared<CompressPlan>(*std::move(plan));
  const IntModel* model = (*served)->model.get();
  const std::string name = (*served)->name;
  absl::Status s = (*served)->scheduler->SubmitEncode(
      p->chunks, MakeCheck(call->flags()),
      [call, p, resp, model, name](absl::StatusOr<std::vector<std::string>> payloads) {
        if (!payloads.ok()) return call->Done(payloads.status());
        const uint64_t original = p->header.original_bytes;
        absl::StatusOr<std::string> frame = FinishCompress(std::move(*p), *payloads);
        if (!frame.ok()) return call->Done(frame.status());
        resp->set_frame(*std::move(frame));
        resp->set_model_fingerprint(model->fingerprint_hex());
        resp->set_original_bytes(original);
        call->metrics().Compressed(name, original, resp->frame().size());
        call->Done(absl::OkStatus());
      },
      p->layout);
  if (!s.ok()) call->Done(s);
  return call;
}

grpc::ServerUnaryReactor* CompressorService::Decompress(grpc::CallbackServerContext* ctx,
                                                        const v1::DecompressRequest* req,
                                                        v1::DecompressResponse* resp) {
  auto* call = new UnaryCall(ctx, &in_flight_, metrics_, "Decompress");
  if (absl::Status s = Admit(*ctx); !s.ok()) {
    call->Done(s);
    return call;
  }
  if (absl::StatusOr<ServedModel*> conv = ConvertedFor(req->frame()); !conv.ok() || *conv != nullptr) {
    if (!conv.ok()) {
      call->Done(conv.status());
      return call;
    }
    ServedModel* m = *conv;
    absl::Status s = SubmitConverted(
        m, false, req->frame(), call->flags(),
        [call, req, resp, m](absl::StatusOr<std::string> data) {
          if (!data.ok()) return call->Done(data.status());
          resp->set_data(*std::move(data));
          call->metrics().Decompressed(m->name, resp->data().size(),
                                       req->frame().size());
          call->Done(absl::OkStatus());
        });
    if (!s.ok()) call->Done(s);
    return call;
  }
  absl::StatusOr<DecompressPlan> plan = PlanDecompress(req->frame());
  if (!plan.ok()) {
    call->Done(plan.status());
    return call;
  }
  if (plan->frame.header.original_bytes > config_.max_output_bytes) {
    call->Done(absl::ResourceExhaustedError(absl::StrCat(
        "the frame decodes to ", plan->frame.header.original_bytes,
        " bytes, over this server's limit of ", config_.max_output_bytes,
        "; use DecompressStream on frames of smaller segments")));
    return call;
  }
  absl::StatusOr<ServedModel*> served = models_->ByFrame(plan->frame.header);
  if (!served.ok()) {
    call->Done(served.status());
    return call;
  }
  auto p = std::make_shared<DecompressPlan>(*std::move(plan));
  const std::string name = (*served)->name;
  const uint64_t frame_bytes = req->frame().size();
  absl::Status s = (*served)->scheduler->SubmitDecode(
      p->frame.payloads, p->tokens, MakeCheck(call->flags()),
      [call, p, resp, name, frame_bytes](absl::StatusOr<std::vector<std::string>> parts) {
        if (!parts.ok()) return call->Done(parts.status());
        absl::StatusOr<std::string> data = FinishDecompress(*p, *std::move(parts));
        if (!data.ok()) return call->Done(data.status());
        resp->set_data(*std::move(data));
        call->metrics().Decompressed(name, resp->data().size(), frame_bytes);
        call->Done(absl::OkStatus());
      },
      p->layout);
  if (!s.ok()) call->Done(s);
  return call;
}

grpc::ServerUnaryReactor* CompressorService::ListModels(grpc::CallbackServerContext* ctx,
                                                        const v1::ListModelsRequest* req,
                                                        v1::ListModelsResponse* resp) {
  auto* call = new UnaryCall(ctx, &in_flight_, metrics_, "ListModels");
  if (absl::Status s = Admit(*ctx); !s.ok()) {
    call->Done(s);
    return call;
  }
  bool first = true;
  for (const auto& m : models_->models()) {
    v1::ModelInfo* info = resp->add_models();
    info->set_name(m->name);
    info->set_fingerprint(m->fingerprint_hex());
    info->set_parameters(m->parameters());
    info->set_architecture(m->architecture());
    info->set_is_default(first);
    first = false;
  }
  call->Done(absl::OkStatus());
  return call;
}

grpc::ServerBidiReactor<v1::CompressRequest, v1::CompressResponse>*
CompressorService::CompressStream(grpc::CallbackServerContext* ctx) {
  return NewCompressStreamCall(ctx, this);
}

grpc::ServerBidiReactor<v1::DecompressRequest, v1::DecompressResponse>*
CompressorService::DecompressStream(grpc::CallbackServerContext* ctx) {
  return NewDecompressStreamCall(ctx, this);
}

}  // namespace lmc
