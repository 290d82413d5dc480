// The lmc client library: compress and decompress through an lmc-server.
//
//   auto client = lmc::Client::Connect("ipv4:10.0.0.1:50051,10.0.0.2:50051");
//   absl::StatusOr<std::string> frame = client->Compress(data);
//   absl::StatusOr<std::string> back = client->Decompress(*frame);
//
// Several addresses in the target are balanced round robin (gRPC service
// config); a call that fails with UNAVAILABLE (a server draining or gone) is
// retried on another, up to max_attempts. Every call has a deadline. Errors are
// the server's status codes (proto/lmc/v1/compressor.proto) as absl::Status.
// Frames are the same bytes as local mode's (`lmc compress`).
//
// TLS and tokens:
//   lmc::ClientOptions o;
//   LoadTlsFiles("ca.pem", "", "", &o);   // verify the server against ca.pem
//   o.token = "...";                       // sent as `authorization: Bearer ...`
//   auto client = lmc::Client::Connect("lmc.example:50051", o);
#ifndef LMC_CLIENT_LMC_CLIENT_H_
#define LMC_CLIENT_LMC_CLIENT_H_

#include <chrono>
#include <istream>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/security/credentials.h"
#include "lmc/v1/compressor.grpc.pb.h"

namespace lmc {

struct ClientOptions {
  std::chrono::milliseconds timeout{120000};  // deadline of each call
  int max_attempts = 5;                       // tries per call on UNAVAILABLE (2..5)
  size_t stream_piece_bytes = 1 << 20;        // bytes per message on streams
  // TLS: on when use_tls; PEM contents, not paths. Empty root certificates: the
  // system's; a certificate chain and key: presented to servers that ask.
  bool use_tls = false;
  std::string tls_root_certs, tls_cert_chain, tls_private_key;
  std::string token;  // bearer token for servers that need one; empty: none
};

// Reads PEM files into `options` and turns TLS on. Any path may be empty
// (cert and key go together).
absl::Status LoadTlsFiles(const std::string& ca_file, const std::string& cert_file,
                          const std::string& key_file, ClientOptions* options);
// The credentials Connect uses for `options`.
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(const ClientOptions& options);

class Client {
 public:
  // target: "host:port", "ipv4:a:p1,b:p2" (round robin), "dns:///name:port".
  static std::unique_ptr<Client> Connect(const std::string& target,
                                         const ClientOptions& options = {});
  // An already made channel (TLS, custom arguments).
  Client(std::shared_ptr<grpc::Channel> channel, const ClientOptions& options);

  // `modality`: the media front-end ("" detects; see CompressRequest).
  absl::StatusOr<std::string> Compress(std::string_view data, const std::string& model = "",
                                       const std::string& modality = "");
  absl::StatusOr<std::string> Decompress(std::string_view frame);
  absl::StatusOr<std::vector<v1::ModelInfo>> ListModels();
  // grpc.health.v1.Health/Check of `service` ("": the server as a whole,
  // SERVING once its models are ready; "liveness": the process answers). True
  // when SERVING; an error when the call fails (NOT_FOUND: unknown service).
  absl::StatusOr<bool> Serving(const std::string& service = "");
  // Inputs of any size: reads `in` to its end, writes frames (or the original)
  // to `out` as they come.
  absl::Status CompressStream(std::istream& in, std::ostream& out, const std::string& model = "",
                              const std::string& modality = "");
  absl::Status DecompressStream(std::istream& in, std::ostream& out);

 private:
  std::unique_ptr<grpc::ClientContext> NewContext() const;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Compressor::Stub> stub_;
  ClientOptions options_;
};

// The channel Connect makes: round robin and retries on UNAVAILABLE.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, const ClientOptions& options,
                                           std::shared_ptr<grpc::ChannelCredentials> creds);

}  // namespace lmc

#endif  // LMC_CLIENT_LMC_CLIENT_H_
