#include "client/lmc_client.h"

#include <algorithm>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace lmc {
namespace {

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

std::string ServiceConfig(int attempts) {
  return absl::StrCat(
      R"({"loadBalancingConfig": [{"round_robin": {}}],)"
      R"( "methodConfig": [{"name": [{"service": "lmc.v1.Compressor"}],)"
      R"( "retryPolicy": {"maxAttempts": )",
      std::clamp(attempts, 2, 5),
      R"(, "initialBackoff": "0.05s", "maxBackoff": "1s", "backoffMultiplier": 2,)"
      R"( "retryableStatusCodes": ["UNAVAILABLE"]}}]})");
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

absl::Status LoadTlsFiles(const std::string& ca_file, const std::string& cert_file,
                          const std::string& key_file, ClientOptions* options) {
  if (cert_file.empty() != key_file.empty()) {
    return absl::InvalidArgumentError("a TLS client certificate and its key go together");
  }
  std::string* const dst[] = {&options->tls_root_certs, &options->tls_cert_chain,
                              &options->tls_private_key};
  const std::string* const src[] = {&ca_file, &cert_file, &key_file};
  for (int i = 0; i < 3; ++i) {
    if (src[i]->empty()) continue;
    absl::StatusOr<std::string> pem = ReadFile(*src[i]);
    if (!pem.ok()) return pem.status();
    *dst[i] = *std::move(pem);
  }
  options->use_tls = true;
  return absl::OkStatus();
}

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(const ClientOptions& options) {
  if (!options.use_tls) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = options.tls_root_certs;
  ssl.pem_cert_chain = options.tls_cert_chain;
  ssl.pem_private_key = options.tls_private_key;
  return grpc::SslCredentials(ssl);
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, const ClientOptions& options,
                                           std::shared_ptr<grpc::ChannelCredentials> creds) {
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(ServiceConfig(options.max_attempts));
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  // Retries replay the request: keep whole requests (up to 64 MiB) for that.
  args.SetInt(GRPC_ARG_PER_RPC_RETRY_BUFFER_SIZE, 64 << 20);
  args.SetInt("grpc.retry_buffer_size", 256 << 20);
  return grpc::CreateCustomChannel(target, creds, args);
}

std::unique_ptr<Client> Client::Connect(const std::string& target, const ClientOptions& options) {
  return std::make_unique<Client>(
      MakeChannel(target, options, ChannelCredentials(options)), options);
}

Client::Client(std::shared_ptr<grpc::Channel> channel, const ClientOptions& options)
    : channel_(std::move(channel)), stub_(v1::Compressor::NewStub(channel_)), options_(options) {}

std::unique_ptr<grpc::ClientContext> Client::NewContext() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + options_.timeout);
  if (!options_.token.empty()) ctx->AddMetadata("authorization", "Bearer " + options_.token);
  return ctx;
}

absl::StatusOr<std::string> Client::Compress(std::string_view data, const std::string& model,
                                             const std::string& modality) {
  v1::CompressRequest req;
  req.set_data(std::string(data));
  req.set_model(model);
  req.set_modality(modality);
  v1::CompressResponse resp;
  auto ctx = NewContext();
  if (absl::Status s = FromGrpc(stub_->Compress(ctx.get(), req, &resp)); !s.ok()) return s;
  return std::move(*resp.mutable_frame());
}

absl::StatusOr<std::string> Client::Decompress(std::string_view frame) {
  v1::DecompressRequest req;
  req.set_frame(std::string(frame));
  v1::DecompressResponse resp;
  auto ctx = NewContext();
  if (absl::Status s = FromGrpc(stub_->Decompress(ctx.get(), req, &resp)); !s.ok()) return s;
  return std::move(*resp.mutable_data());
}

absl::StatusOr<std::vector<v1::ModelInfo>> Client::ListModels() {
  v1::ListModelsResponse resp;
  auto ctx = NewContext();
  if (absl::Status s = FromGrpc(stub_->ListModels(ctx.get(), {}, &resp)); !s.ok()) return s;
  return std::vector<v1::ModelInfo>(resp.models().begin(), resp.models().end());
}

absl::StatusOr<bool> Client::Serving(const std::string& service) {
  // No health stubs ship with Debian's gRPC: the two messages by hand.
  // HealthCheckRequest{string service = 1}; HealthCheckResponse{enum status = 1}.
  if (service.size() > 127) return absl::InvalidArgumentError("service name too long");
  std::string request;
  if (!service.empty()) request = std::string("\x0a") + static_cast<char>(service.size()) + service;
  grpc::Slice slice(request);
  grpc::ByteBuffer req(&slice, 1), resp;
  grpc::GenericStub stub(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + options_.timeout);
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &req, &resp,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  if (absl::Status s = FromGrpc(done.get_future().get()); !s.ok()) return s;
  std::vector<grpc::Slice> slices;
  if (!resp.Dump(&slices).ok()) return absl::DataLossError("unreadable health response");
  std::string bytes;
  for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes.size() == 2 && bytes[0] == 0x08 && bytes[1] == 1;  // status: SERVING (1)
}

namespace {

// Sends `in` in pieces on one thread while the caller's thread reads answers.
template <typename Req, typename Resp, typename SetPiece, typename TakeAnswer>
absl::Status RunStream(grpc::ClientReaderWriter<Req, Resp>* stream, std::istream& in,
                       size_t piece, SetPiece set_piece, TakeAnswer take) {
  std::thread writer([&] {
    std::string buf(piece, '\0');
    bool first = true;
    while (true) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      const size_t n = static_cast<size_t>(in.gcount());
      if (n == 0 && !first) break;
      Req req;  // the first message goes out even when empty: it names the model
      set_piece(&req, std::string_view(buf.data(), n), first);
      first = false;
      if (!stream->Write(req) || !in) break;
    }
    stream->WritesDone();
  });
  Resp resp;
  bool ok = true;
  while (stream->Read(&resp)) ok = take(resp) && ok;
  writer.join();
  absl::Status s = FromGrpc(stream->Finish());
  if (s.ok() && !ok) return absl::DataLossError("could not write the output");
  return s;
}

}  // namespace

absl::Status Client::CompressStream(std::istream& in, std::ostream& out, const std::string& model,
                                    const std::string& modality) {
  auto ctx = NewContext();
  auto stream = stub_->CompressStream(ctx.get());
  return RunStream(
      stream.get(), in, options_.stream_piece_bytes,
      [&](v1::CompressRequest* r, std::string_view piece, bool first) {
        r->set_data(std::string(piece));
        if (first) {
          r->set_model(model);
          r->set_modality(modality);
        }
      },
      [&](const v1::CompressResponse& r) {
        out.write(r.frame().data(), static_cast<std::streamsize>(r.frame().size()));
        return static_cast<bool>(out);
      });
}

absl::Status Client::DecompressStream(std::istream& in, std::ostream& out) {
  auto ctx = NewContext();
  auto stream = stub_->DecompressStream(ctx.get());
  return RunStream(
      stream.get(), in, options_.stream_piece_bytes,
      [&](v1::DecompressRequest* r, std::string_view piece, bool) {
        r->set_frame(std::string(piece));
      },
      [&](const v1::DecompressResponse& r) {
        out.write(r.data().data(), static_cast<std::streamsize>(r.data().size()));
        return static_cast<bool>(out);
      });
}

}  // namespace lmc
