#include "server/stream_calls.h"

#include <memory>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/frame.h"
#include "engine/codec.h"
#include "media/front_ends.h"
#include "server/service.h"

namespace lmc {
namespace {

constexpr size_t kWritePiece = 1 << 20;  // decompressed bytes per response message

// What both stream calls share: a single Finish, in-flight counting, cancellation.
template <typename Req, typename Resp>
class StreamCall : public grpc::ServerBidiReactor<Req, Resp> {
 public:
  StreamCall(grpc::CallbackServerContext* ctx, CompressorService* service, const char* method)
      : service_(service),
        flags_(std::make_shared<CallFlags>()),
        metrics_(service->metrics(), "bidi_stream", method),
        admitted_(service->Admit(*ctx)) {
    flags_->deadline = ctx->deadline();
    service_->in_flight_counter().Begin();
  }
  void Done(const absl::Status& s) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (finished_) return;
      finished_ = true;
    }
    metrics_.Done(s);
    service_->in_flight_counter().End();
    this->Finish(ToGrpc(s));
  }
  void OnCancel() override { flags_->cancelled = true; }
  void OnDone() override { delete this; }

 protected:
  // The first read, or the reason the call may not start (CompressorService::Admit).
  void Begin(Req* req) {
    if (!admitted_.ok()) return Done(admitted_);
    this->StartRead(req);
  }

  CompressorService* service_;
  std::shared_ptr<CallFlags> flags_;
  CallMetrics metrics_;

 private:
  const absl::Status admitted_;  // Admit's answer when the call arrived
  std::mutex mu_;
  bool finished_ = false;
};

class CompressStreamCall : public StreamCall<v1::CompressRequest, v1::CompressResponse> {
 public:
  CompressStreamCall(grpc::CallbackServerContext* ctx, CompressorService* service)
      : StreamCall(ctx, service, "CompressStream") {
    Begin(&req_);
  }

  void OnReadDone(bool ok) override {
    if (ok) metrics_.Received();
    if (!ok) {  // the client has sent everything (or gone)
      if (flags_->cancelled) return Done(absl::CancelledError("the client cancelled the call"));
      reads_done_ = true;
      // The rest of the input; an empty stream still gets a frame (of nothing).
      if (!input_.empty() || frames_ == 0) return Submit(input_.size());
      return Done(absl::OkStatus());
    }
    if (served_ == nullptr) {
      absl::StatusOr<ServedModel*> m = service_->models()->ByName(req_.model());
      if (!m.ok()) return Done(m.status());
      served_ = *m;
      absl::StatusOr<std::optional<media::Modality>> modality =
          media::ParseModalityChoice(req_.modality());
      if (!modality.ok()) return Done(modality.status());
      modality_ = *modality;
    } else if (!req_.model().empty() && req_.model() != served_->name) {
      return Done(absl::InvalidArgumentError("the model may only be named in the first message"));
    }
    input_ += req_.data();
    if (SegmentReady()) return Submit(Segment());
    StartRead(&req_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Done(absl::CancelledError("the client stopped reading"));
    metrics_.Sent();
    ++frames_;
    if (SegmentReady()) return Submit(Segment());
    if (reads_done_) {
      if (!input_.empty()) return Submit(input_.size());
      return Done(absl::OkStatus());
    }
    StartRead(&req_);
  }

 private:
  size_t Segment() const {
    const uint32_t c = service_->config().chunk_tokens;
    return c ? c : kDefaultChunkTokens;
  }

  // Whether the input holds a segment to code now. When the first segment's
  // worth has arrived and it starts like a media file, the stream is gathered
  // whole instead (up to max_stream_media_bytes; past that, segments as for
  // any input), so that the front-end sees every sample and the frame is
  // local mode's.
  bool SegmentReady() {
    if (input_.size() < Segment()) return false;
    if (!decided_) {
      decided_ = true;
      gather_ = frames_ == 0 && media::MayBeMedia(input_, modality_) &&
                (served_ == nullptr || served_->converted == nullptr);
    }
    if (gather_ && input_.size() <= service_->config().max_stream_media_bytes) return false;
    gather_ = false;
    return true;
  }

  // Compresses the first n bytes of the input as one frame, then writes it.
  void Submit(size_t n) {
    if (served_ == nullptr) {  // an empty stream: the default model
      absl::StatusOr<ServedModel*> m = service_->models()->ByName("");
      if (!m.ok()) return Done(m.status());
      served_ = *m;
    }
    segment_ = input_.substr(0, n);
    input_.erase(0, n);
    if (served_->converted != nullptr) {  // a converted model: its runner, one frame
      absl::Status s =
          service_->SubmitConverted(served_, true, segment_, flags_,
                                    [this](absl::StatusOr<std::string> frame) {
                                      if (!frame.ok())
                                        return Done(frame.status());
                                      WriteFrame(*std::move(frame));
                                    });
      if (!s.ok()) Done(s);
      return;
    }
    absl::StatusOr<CompressPlan> plan =
        PlanCompress(*served_->model, segment_, service_->config().chunk_tokens, modality_);
    if (!plan.ok()) return Done(plan.status());
    plan_ = *std::move(plan);
    absl::Status s = served_->scheduler->SubmitEncode(
        plan_.chunks, MakeCheck(flags_), [this](absl::StatusOr<std::vector<std::string>> p) {
          if (!p.ok()) return Done(p.status());
          absl::StatusOr<std::string> frame = FinishCompress(std::move(plan_), *p);
          if (!frame.ok()) return Done(frame.status());
          WriteFrame(*std::move(frame));
        },
        plan_.layout);
    if (!s.ok()) Done(s);
  }

  // Answers with the frame of the current segment.
  void WriteFrame(std::string frame) {
    resp_.set_frame(std::move(frame));
    resp_.set_model_fingerprint(served_->fingerprint_hex());
    resp_.set_original_bytes(segment_.size());
    service_->metrics().Compressed(served_->name, segment_.size(), resp_.frame().size());
    StartWrite(&resp_);
  }

  v1::CompressRequest req_;
  v1::CompressResponse resp_;
  ServedModel* served_ = nullptr;
  std::optional<media::Modality> modality_;  // the first message's choice
  bool decided_ = false;  // whether the stream is gathered has been decided
  bool gather_ = false;   // a media file: code it whole at the end
  std::string input_, segment_;
  CompressPlan plan_;
  bool reads_done_ = false;
  uint64_t frames_ = 0;
};

class DecompressStreamCall : public StreamCall<v1::DecompressRequest, v1::DecompressResponse> {
 public:
  DecompressStreamCall(grpc::CallbackServerContext* ctx, CompressorService* service)
      : StreamCall(ctx, service, "DecompressStream") {
    Begin(&req_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      if (flags_->cancelled) return Done(absl::CancelledError("the client cancelled the call"));
      reads_done_ = true;
    } else {
      metrics_.Received();
      input_ += req_.frame();
    }
    NextFrame();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Done(absl::CancelledError("the client stopped reading"));
    metrics_.Sent();
    WriteNextPiece();
  }

 private:
  // Decodes the next complete frame of the input, or reads more.
  void NextFrame() {
    if (input_.empty() && reads_done_) {
      if (frames_ == 0) return Done(absl::InvalidArgumentError("empty stream: no lmc frame"));
      return Done(absl::OkStatus());
    }
    absl::StatusOr<uint64_t> size = FrameSize(input_);
    if (!size.ok()) return Done(size.status());
    const uint64_t limit = service_->config().max_output_bytes + (1 << 20);
    if (*size > limit || (*size == 0 && input_.size() > limit)) {
      return Done(absl::ResourceExhaustedError("a frame in the stream is over the server's limit"));
    }
    if (*size == 0 || input_.size() < *size) {
      if (reads_done_) return Done(absl::DataLossError("the stream ends inside a frame (truncated)"));
      return StartRead(&req_);
    }
    frame_ = input_.substr(0, *size);
    input_.erase(0, *size);
    absl::StatusOr<ServedModel*> conv = service_->ConvertedFor(frame_);
    if (!conv.ok()) return Done(conv.status());
    if (*conv != nullptr) {  // BPE tokens: the converted model's runner
      ServedModel* m = *conv;
      absl::Status s = service_->SubmitConverted(
          m, false, frame_, flags_,
          [this, m](absl::StatusOr<std::string> data) {
            if (!data.ok()) return Done(data.status());
            served_name_ = m->name;
            Decoded(*std::move(data));
          });
      if (!s.ok()) Done(s);
      return;
    }
    absl::StatusOr<DecompressPlan> plan = PlanDecompress(frame_);
    if (!plan.ok()) return Done(plan.status());
    if (plan->frame.header.original_bytes > service_->config().max_output_bytes) {
      return Done(absl::ResourceExhaustedError("a frame decodes to more than the server's limit"));
    }
    absl::StatusOr<ServedModel*> served = service_->models()->ByFrame(plan->frame.header);
    if (!served.ok()) return Done(served.status());
    served_name_ = (*served)->name;
    plan_ = *std::move(plan);
    absl::Status s = (*served)->scheduler->SubmitDecode(
        plan_.frame.payloads, plan_.tokens, MakeCheck(flags_),
        [this](absl::StatusOr<std::vector<std::string>> parts) {
          if (!parts.ok()) return Done(parts.status());
          absl::StatusOr<std::string> data = FinishDecompress(plan_, *std::move(parts));
          if (!data.ok()) return Done(data.status());
          Decoded(*std::move(data));
        },
        plan_.layout);
    if (!s.ok()) Done(s);
  }

  // Writes a decoded frame's original in pieces, then goes on to the next frame.
  void Decoded(std::string data) {
    output_ = std::move(data);
    service_->metrics().Decompressed(served_name_, output_.size(), frame_.size());
    written_ = 0;
    ++frames_;
    WriteNextPiece();
  }

  void WriteNextPiece() {
    if (written_ >= output_.size()) return NextFrame();
    const size_t n = std::min(kWritePiece, output_.size() - written_);
    resp_.set_data(output_.substr(written_, n));
    written_ += n;
    StartWrite(&resp_);
  }

  v1::DecompressRequest req_;
  v1::DecompressResponse resp_;
  std::string input_, frame_, output_;
  std::string served_name_;
  DecompressPlan plan_;
  size_t written_ = 0;
  bool reads_done_ = false;
  uint64_t frames_ = 0;
};

}  // namespace

grpc::ServerBidiReactor<v1::CompressRequest, v1::CompressResponse>* NewCompressStreamCall(
    grpc::CallbackServerContext* ctx, CompressorService* service) {
  return new CompressStreamCall(ctx, service);
}

grpc::ServerBidiReactor<v1::DecompressRequest, v1::DecompressResponse>*
NewDecompressStreamCall(grpc::CallbackServerContext* ctx, CompressorService* service) {
  return new DecompressStreamCall(ctx, service);
}

}  // namespace lmc
