// lmc-server's configuration: flags, and a config file of the same keys
// (`key = value` per line, # comments). Flags given after --config override it.
//
//   --listen ADDR            0.0.0.0:50051
//   --model NAME[=PATH]      a model to serve (repeatable; the first is the
//                            default; no PATH: the embedded default model)
//   --workers N              model threads per model (each runs its own batch)
//   --max_batch_streams N    chunks per model step
//   --token_budget N         tokens per model step
//   --block_tokens N         compression tokens per chunk per step
//   --max_queued_chunks N    queue bound; beyond it RESOURCE_EXHAUSTED
//   --sample_workers N       threads coding media samples, which need no model
//                            step (0, the default: as many as workers)
//   --max_media_chunks N     media chunks in progress at once, each holding
//                            about 31 bytes a token (up to 260 MB for a 2^23-
//                            token chunk) until done (0: 2 x sample threads)
//   --chunk_memory_mb N|auto the chunks in progress hold at most N MiB of
//                            context tables (a 2 MiB byte chunk holds 73);
//                            the next chunk in line waits. auto (the
//                            default): half the memory limit (the cgroup's,
//                            else the machine's); 0: no bound
//   --chunk_tokens N         chunk size of the frames the server makes (0,
//                            the default: 2^21 for bytes, 2^23 for media)
//   --max_stream_media_bytes N   CompressStream gathers a media file (image,
//                            audio, video) up to N bytes into one frame, so
//                            its front-end sees all of it (64 MiB; 0: never);
//                            other input is framed every chunk_tokens bytes
//                            (2^21 if 0)
//   --max_message_bytes N    unary request size limit (4 MiB)
//   --max_output_bytes N     largest decompressed frame the server will produce
//   --drain_seconds N        on SIGTERM, how long in-flight calls may take
//   --metrics_listen ADDR    Prometheus /metrics on ADDR (e.g. 0.0.0.0:9464;
//                            port 0 picks one); empty (the default): off
//   --tls_cert FILE          TLS: the server's certificate chain (PEM); with
//   --tls_key FILE           its private key. Both or neither; none: plaintext
//   --tls_client_ca FILE     also require client certificates signed by this CA
//   --health_listen ADDR     also serve grpc.health.v1 alone, in plaintext, on
//                            ADDR: for probes that cannot speak TLS
//                            (Kubernetes' gRPC probes); empty: off
//   --auth_tokens FILE       require a bearer token (token_auth.h) on every
//                            lmc.v1.Compressor call
//   --device D               where converted models run: cpu (lmc's kernels,
//                            the default), cuda, cuda:N or torch:cpu
//                            (hf/torch_backend.h); byte models run on the CPU
#ifndef LMC_SERVER_SERVER_CONFIG_H_
#define LMC_SERVER_SERVER_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/scheduler.h"

namespace lmc {

struct ServerConfig {
  std::string listen = "0.0.0.0:50051";
  std::vector<std::pair<std::string, std::string>> models;  // name, path ("": embedded)
  SchedulerOptions scheduler;
  uint32_t chunk_tokens = 0;  // 0: CodecOptions' defaults by front-end
  uint64_t max_stream_media_bytes = uint64_t{64} << 20;
  int64_t max_message_bytes = 4 << 20;
  uint64_t max_output_bytes = uint64_t{256} << 20;
  int drain_seconds = 30;
  std::string metrics_listen;
  std::string tls_cert, tls_key, tls_client_ca;  // file paths; empty: off
  std::string auth_tokens;                       // file path; empty: no tokens
  std::string health_listen;                     // plaintext health-only port; empty: off
  std::string device = "cpu";                    // converted models' device
};

// Half the memory this process may use: the cgroup's limit (v2 memory.max,
// or v1 memory.limit_in_bytes) where one is set below the machine's memory,
// else the machine's. --chunk_memory_mb=auto.
uint64_t AutoChunkMemory();
// The limit in a cgroup memory file's text ("max\n", "8589934592\n"): 0 for
// none or unreadable.
uint64_t ParseCgroupMemoryLimit(std::string_view text);

absl::Status ApplyServerOption(ServerConfig* config, std::string_view key,
                               std::string_view value);
absl::Status LoadServerConfigFile(ServerConfig* config, const std::string& path);
// argv as given to main; INVALID_ARGUMENT with a usage hint on a bad flag.
// Also checks that the options fit together (TLS certificate and key).
absl::StatusOr<ServerConfig> ParseServerFlags(int argc, char** argv);

}  // namespace lmc

#endif  // LMC_SERVER_SERVER_CONFIG_H_
