// lmc: the command-line front of the engine. Local mode runs the model in-process
// (the embedded default model unless --model or $LMC_MODEL names another).
//
//   lmc compress [-c] [-o OUT] [-f] [-k] [FILE...]   FILE -> FILE.lmc (as gzip)
//   lmc decompress [-c] [-o OUT] [-f] [-k] [FILE...] FILE.lmc -> FILE
//   lmc info FILE.lmc...                             header, model, sizes, bits/byte
//   lmc models                                        the models this binary has
//
// Without FILE, or with "-", reads stdin and writes stdout. Exit codes: 0 ok,
// 1 usage or I/O error, 2 corrupt or foreign data, 3 made by another model,
// 4 unsupported format version.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/convert_command.h"
#include "cli/train_command.h"
#include "client/lmc_client.h"
#include "core/frame.h"
#include "engine/codec.h"
#include "hf/hf_int_model.h"
#include "hf/token_codec.h"
#include "hf/torch_plugin.h"
#include "media/media_codec.h"
#include "models/default_model.h"

namespace fs = std::filesystem;

namespace {

constexpr char kSuffix[] = ".lmc";

struct Args {
  std::string command;
  bool to_stdout = false, force = false, keep = false, quiet = false;
  int progress = -1;  // -1: auto (a terminal and a large input)
  std::string output, model;
  std::string modality;  // as given to --modality
  std::string server;  // remote mode: HOST:PORT (or any gRPC target)
  bool tls = false;    // remote mode over TLS
  std::string tls_ca, tls_cert, tls_key, token_file;
  std::string device = "cpu";  // converted models: cpu (the kernels), cuda[:N], torch:<device>
  bool batch_given = false;
  lmc::CodecOptions codec;
  std::vector<std::string> files;
};

int Usage(int code) {
  std::fprintf(code ? stderr : stdout,
      "usage: lmc compress|decompress [options] [FILE...]\n"
      "       lmc info FILE...\n"
      "       lmc models\n"
      "       lmc train --corpus DIR -o NEW [--init MODEL] [--minutes M]   fine-tune\n"
      "       lmc convert HF_DIR -o OUT [--context N]   a Hugging Face GPT-2/Llama model\n"
      "       lmc --server T health [SERVICE]   exit 0 when the server is SERVING\n"
      "options:\n"
      "  -c, --stdout      write to standard output, keep the input\n"
      "  -o, --output F    write to F (one input)\n"
      "  -f, --force       overwrite outputs, write binary to a terminal\n"
      "  -k, --keep        keep the input file (the default with -c or -o)\n"
      "  -q, --quiet       no progress or summaries\n"
      "      --progress / --no-progress\n"
      "  -m, --model PATH  model directory or .safetensors file (default: embedded),\n"
      "                    or a file made by lmc convert;\n"
      "                    with --server, a model name the server serves\n"
      "      --server T    remote mode: compress/decompress/models through an\n"
      "                    lmc-server at T (HOST:PORT, ipv4:A:P,B:P, dns:///N:P)\n"
      "      --tls         remote mode over TLS (the system's root certificates)\n"
      "      --tls_ca F    TLS, verifying the server against the CA in F (PEM)\n"
      "      --tls_cert F, --tls_key F   a client certificate for servers that ask\n"
      "      --token_file F   send the bearer token in F (default: $LMC_TOKEN)\n"
      "      --threads N   worker threads (default: all cores)\n"
      "      --batch N     chunks a thread evaluates together (default 16, 64 on\n"
      "                    CUDA; the bytes do not depend on it)\n"
      "      --device D    converted models: cpu (default, lmc's kernels), cuda,\n"
      "                    cuda:N, or torch:cpu (LibTorch on the CPU); the same\n"
      "                    bytes on every device\n"
      "      --modality M  auto (default), bytes, image (PNM/PAM), audio (WAVE PCM) or\n"
      "                    video (Y4M): the front-end; files it does not take are\n"
      "                    coded as bytes\n"
      "      --chunk N     tokens per independent chunk (default 2097152 bytes,\n"
      "                    8388608 media tokens; smaller chunks decompress in\n"
      "                    parallel, larger compress better)\n"
      "exit codes: 0 ok, 1 usage or I/O error, 2 corrupt data, 3 other model,\n"
      "            4 unsupported format\n");
  return code;
}

int ExitCode(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kOk: return 0;
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kInvalidArgument: return 2;
    case absl::StatusCode::kFailedPrecondition: return 3;
    case absl::StatusCode::kUnimplemented: return 4;
    default: return 1;
  }
}

int Fail(const std::string& what, const absl::Status& s) {
  std::fprintf(stderr, "lmc: %s: %s\n", what.c_str(), std::string(s.message()).c_str());
  return ExitCode(s);
}

bool ParseArgs(int argc, char** argv, Args* a) {
  if (argc < 2) return false;
  // Options may come before the command too: lmc --server H:P compress FILE.
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (s == "--") {
      for (++i; i < argc; ++i) a->files.push_back(argv[i]);
    } else if (s == "-c" || s == "--stdout") a->to_stdout = true;
    else if (s == "-f" || s == "--force") a->force = true;
    else if (s == "-k" || s == "--keep") a->keep = true;
    else if (s == "-q" || s == "--quiet") a->quiet = true;
    else if (s == "--progress") a->progress = 1;
    else if (s == "--no-progress") a->progress = 0;
    else if (s == "-o" || s == "--output") { if (!value(&a->output)) return false; }
    else if (s == "-m" || s == "--model") { if (!value(&a->model)) return false; }
    else if (s == "--server") { if (!value(&a->server)) return false; }
    else if (s == "--tls") a->tls = true;
    else if (s == "--tls_ca") { if (!value(&a->tls_ca)) return false; a->tls = true; }
    else if (s == "--tls_cert") { if (!value(&a->tls_cert)) return false; a->tls = true; }
    else if (s == "--tls_key") { if (!value(&a->tls_key)) return false; a->tls = true; }
    else if (s == "--token_file") { if (!value(&a->token_file)) return false; }
    else if (s == "--batch") {
      if (!value(&v)) return false;
      a->codec.batch_chunks = std::stoi(v);
      a->batch_given = true;
      if (a->codec.batch_chunks < 1 || a->codec.batch_chunks > 4096) return false;
    }
    else if (s == "--device") { if (!value(&a->device)) return false; }
    else if (s == "--threads") { if (!value(&v)) return false; a->codec.threads = std::stoi(v); }
    else if (s == "--modality") {
      if (!value(&a->modality)) return false;
      auto m = lmc::media::ParseModalityChoice(a->modality);
      if (!m.ok()) return false;
      a->codec.modality = *m;
    }
    else if (s == "--chunk") {
      if (!value(&v)) return false;
      const unsigned long n = std::stoul(v);  // 0: by front-end
      if (n > lmc::kMaxChunkTokens) return false;
      a->codec.chunk_tokens = static_cast<uint32_t>(n);
    }
    else if (s.size() > 2 && s[0] == '-' && s[1] != '-') {
      for (char ch : s.substr(1)) {  // combined short flags: -kf, -cq
        if (ch == 'c') a->to_stdout = true;
        else if (ch == 'f') a->force = true;
        else if (ch == 'k') a->keep = true;
        else if (ch == 'q') a->quiet = true;
        else return false;
      }
    } else if (s.size() > 1 && s[0] == '-') {
      return false;
    } else if (a->command.empty()) {
      a->command = s;
    } else {
      a->files.push_back(s);
    }
  }
  return !a->command.empty();
}

absl::StatusOr<std::string> ReadAll(const std::string& path) {
  std::ostringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
    ss << in.rdbuf();
  }
  return ss.str();
}

absl::Status WriteAll(const std::string& path, const std::string& data) {
  if (path == "-") {
    std::cout.write(data.data(), static_cast<std::streamsize>(data.size()));
    std::cout.flush();
    return std::cout ? absl::OkStatus() : absl::UnavailableError("write to stdout failed");
  }
  // Write beside the target and rename: an interrupted run leaves no half file.
  std::string tmp = path + ".lmc-tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return absl::UnavailableError(absl::StrCat("cannot write ", path));
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ", ec.message()));
  return absl::OkStatus();
}

// Draws a progress bar on stderr while `work` runs.
template <typename Fn>
auto WithProgress(bool show, uint64_t total, const char* verb, lmc::CodecOptions* opt, Fn work) {
  std::atomic<uint64_t> done{0};
  std::atomic<bool> stop{false};
  std::thread bar;
  if (show) {
    opt->progress = &done;
    bar = std::thread([&] {
      auto t0 = std::chrono::steady_clock::now();
      while (!stop.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const uint64_t d = done.load();
        const double frac = total ? double(d) / total : 1.0;
        const int width = 30, fill = static_cast<int>(frac * width);
        std::fprintf(stderr, "\r%s [%s%s] %5.1f%% %8.1f KB/s", verb,
                     std::string(fill, '#').c_str(), std::string(width - fill, ' ').c_str(),
                     100 * frac, d / 1e3 / std::max(s, 1e-3));
        std::fflush(stderr);
      }
      std::fprintf(stderr, "\r%*s\r", 70, "");
    });
  }
  auto result = work();
  stop = true;
  if (bar.joinable()) bar.join();
  opt->progress = nullptr;
  return result;
}

// Compresses or decompresses one input, in process or through a server.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual absl::StatusOr<std::string> Compress(const std::string& data, lmc::CodecOptions& opt) = 0;
  virtual absl::StatusOr<std::string> DecompressFrame(std::string_view frame,
                                                      lmc::CodecOptions& opt) = 0;
  // A file may hold several frames one after another (what CompressStream makes);
  // their originals are concatenated.
  absl::StatusOr<std::string> Decompress(std::string_view data, lmc::CodecOptions& opt) {
    std::string out;
    do {
      absl::StatusOr<uint64_t> n = lmc::FrameSize(data);
      if (!n.ok()) return n.status();
      if (*n == 0 || *n > data.size()) return DecompressFrame(data, opt);  // reports the damage
      absl::StatusOr<std::string> part = DecompressFrame(data.substr(0, *n), opt);
      if (!part.ok()) return part.status();
      out += *part;
      data.remove_prefix(*n);
    } while (!data.empty());
    return out;
  }
};

class LocalBackend : public Backend {
 public:
  explicit LocalBackend(const lmc::IntModel& m) : m_(m) {}
  absl::StatusOr<std::string> Compress(const std::string& data, lmc::CodecOptions& opt) override {
    return lmc::Compress(m_, data, opt);
  }
  absl::StatusOr<std::string> DecompressFrame(std::string_view frame, lmc::CodecOptions& opt) override {
    return lmc::Decompress(m_, frame, opt);
  }

 private:
  const lmc::IntModel& m_;
};

// Through lmc-server: unary calls for what fits a message (the same frame as
// local mode), streams beyond (a sequence of frames, one per server segment).
class RemoteBackend : public Backend {
 public:
  RemoteBackend(const std::string& target, std::string model, std::string modality,
                const lmc::ClientOptions& options)
      : client_(lmc::Client::Connect(target, options)),
        model_(std::move(model)),
        modality_(std::move(modality)) {}
  absl::StatusOr<std::string> Compress(const std::string& data, lmc::CodecOptions&) override {
    if (data.size() <= kUnaryLimit) return client_->Compress(data, model_, modality_);
    std::istringstream in(data);
    std::ostringstream out;
    if (absl::Status s = client_->CompressStream(in, out, model_, modality_); !s.ok()) return s;
    return out.str();
  }
  absl::StatusOr<std::string> DecompressFrame(std::string_view frame, lmc::CodecOptions&) override {
    if (frame.size() <= kUnaryLimit) return client_->Decompress(frame);
    std::istringstream in{std::string(frame)};
    std::ostringstream out;
    if (absl::Status s = client_->DecompressStream(in, out); !s.ok()) return s;
    return out.str();
  }
  lmc::Client& client() { return *client_; }

  // A person at a terminal waits for a large file: a day, not the library's
  // two-minute default (the model runs at tens of KB/s on a CPU). TLS and the
  // token from the flags (the token from a file or the environment, never argv,
  // which other users can read).
  static absl::StatusOr<lmc::ClientOptions> Options(const Args& a) {
    lmc::ClientOptions o;
    o.timeout = std::chrono::hours(24);
    if (a.tls) {
      if (absl::Status s = lmc::LoadTlsFiles(a.tls_ca, a.tls_cert, a.tls_key, &o); !s.ok()) {
        return s;
      }
    }
    if (!a.token_file.empty()) {
      std::ifstream in(a.token_file);
      if (!in || !std::getline(in, o.token) || o.token.empty()) {
        return absl::NotFoundError("cannot read a token from " + a.token_file);
      }
      while (!o.token.empty() && (o.token.back() == '\r' || o.token.back() == ' ')) {
        o.token.pop_back();
      }
    } else if (const char* t = std::getenv("LMC_TOKEN"); t != nullptr) {
      o.token = t;
    }
    return o;
  }

 private:
  static constexpr size_t kUnaryLimit = 3 << 20;  // under the server's 4 MiB default
  std::unique_ptr<lmc::Client> client_;
  std::string model_;
  std::string modality_;
};

int RunCodec(Args& a, Backend& backend) {
  const bool compress = a.command == "compress";
  if (a.files.empty()) a.files.push_back("-");
  if (!a.output.empty() && a.files.size() != 1) {
    std::fprintf(stderr, "lmc: -o takes a single input\n");
    return 1;
  }
  int rc = 0;
  for (const std::string& in : a.files) {
    std::string out;
    if (a.to_stdout || in == "-") out = "-";
    if (!a.output.empty()) out = a.output;
    if (out.empty()) {
      if (compress) {
        out = in + kSuffix;
      } else if (in.size() > 4 && in.ends_with(kSuffix)) {
        out = in.substr(0, in.size() - 4);
      } else {
        std::fprintf(stderr, "lmc: %s: unknown suffix, use -o or -c\n", in.c_str());
        rc = std::max(rc, 1);
        continue;
      }
    }
    if (out == "-" && compress && isatty(STDOUT_FILENO) && !a.force) {
      std::fprintf(stderr, "lmc: refusing to write compressed data to a terminal (use -f)\n");
      return 1;
    }
    std::error_code ec;
    if (out != "-" && fs::exists(out, ec) && !a.force) {
      std::fprintf(stderr, "lmc: %s already exists (use -f to overwrite)\n", out.c_str());
      rc = std::max(rc, 1);
      continue;
    }
    auto data = ReadAll(in);
    if (!data.ok()) { rc = std::max(rc, Fail(in, data.status())); continue; }
    const uint64_t work = compress ? data->size() : 0;
    uint64_t tokens = work;
    if (!compress) {
      auto parsed = lmc::ParseFrame(*data);
      if (parsed.ok()) tokens = lmc::FrameTokens(parsed->header);
    }
    const bool show = !a.quiet && (a.progress == 1 || (a.progress == -1 && isatty(STDERR_FILENO) && tokens > (1 << 20)));
    const auto t0 = std::chrono::steady_clock::now();
    auto result = WithProgress(show, tokens, compress ? "compress" : "decompress", &a.codec, [&] {
      return compress ? backend.Compress(*data, a.codec) : backend.Decompress(*data, a.codec);
    });
    if (!result.ok()) { rc = std::max(rc, Fail(in, result.status())); continue; }
    if (absl::Status s = WriteAll(out, *result); !s.ok()) { rc = std::max(rc, Fail(out, s)); continue; }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!a.quiet && out != "-" && isatty(STDERR_FILENO)) {
      const size_t orig = compress ? data->size() : result->size();
      const size_t packed = compress ? result->size() : data->size();
      std::fprintf(stderr, "%s: %zu -> %zu bytes, %.3f bits/byte, %.1f KB/s\n", in.c_str(),
                   compress ? orig : packed, compress ? packed : orig,
                   orig ? 8.0 * packed / orig : 0.0, orig / 1e3 / std::max(secs, 1e-6));
    }
    if (in != "-" && out != "-" && a.output.empty() && !a.keep) fs::remove(in, ec);
  }
  return rc;
}

int RunInfo(const Args& a, const lmc::Sha256Digest& model) {
  if (a.files.empty()) return Usage(1);
  int rc = 0;
  for (const std::string& f : a.files) {
    auto data = ReadAll(f);
    if (!data.ok()) { rc = std::max(rc, Fail(f, data.status())); continue; }
    auto p = lmc::ParseFrame(*data);
    if (!p.ok()) { rc = std::max(rc, Fail(f, p.status())); continue; }
    const lmc::FrameHeader& h = p->header;
    const std::string hex = lmc::ToHex(h.model);
    const std::string fp = h.compact ? hex.substr(0, 2 * lmc::kCompactModelBytes) + "..." : hex;
    std::printf("%s:\n", f.c_str());
    std::printf("  format        lmc frame v%d%s\n", lmc::kFrameVersion,
                h.compact ? ", compact header" : "");
    if (h.front_end == lmc::FrontEnd::kBytes) {
      std::printf("  front-end     bytes\n");
    } else if (h.front_end == lmc::FrontEnd::kTokens) {
      std::printf("  front-end     tokens of a converted model's tokenizer\n");
      std::printf("  tokens        %llu\n", static_cast<unsigned long long>(lmc::FrameTokens(h)));
    } else {
      const auto m = static_cast<lmc::media::Modality>(h.front_end);
      auto g = lmc::media::ParamsGeometry(m, h.front_end_params);
      std::printf("  front-end     %s: %s\n", std::string(lmc::media::ModalityName(m)).c_str(),
                  g.ok() ? g->Describe().c_str() : std::string(g.status().message()).c_str());
      std::printf("  tokens        %llu\n", static_cast<unsigned long long>(lmc::FrameTokens(h)));
    }
    std::printf("  model         %s%s\n", fp.c_str(),
                lmc::FrameModelIs(h, model) ? " (the loaded model)" : " (not the loaded model)");
    std::printf(h.compact ? "  original      %llu bytes, xxh64 low 32 bits %08llx\n"
                          : "  original      %llu bytes, xxh64 %016llx\n",
                static_cast<unsigned long long>(h.original_bytes),
                static_cast<unsigned long long>(h.checksum));
    std::printf("  compressed    %zu bytes (header %zu)\n", data->size(), p->header_bytes);
    std::printf("  chunks        %zu of up to %u tokens\n", h.chunks.size(), h.chunk_tokens);
    std::printf("  bits/byte     %.4f\n", h.original_bytes ? 8.0 * data->size() / h.original_bytes : 0.0);
    std::printf("  ratio         %.4f\n", h.original_bytes ? double(data->size()) / h.original_bytes : 0.0);
  }
  return rc;
}

// Local mode with a model made by `lmc convert` (hf/token_codec.h), on the
// kernels or on a LibTorch device (hf/torch_backend.h).
class ConvertedBackend : public Backend {
 public:
  ConvertedBackend(const lmc::hf::HfIntModel& m, const lmc::hf::HfBackend* device,
                   size_t cache_budget, int encode_rows)
      : m_(m), device_(device), cache_budget_(cache_budget), encode_rows_(encode_rows) {}
  absl::StatusOr<std::string> Compress(const std::string& data, lmc::CodecOptions& opt) override {
    // --chunk applies when given; the byte engine's default exceeds any context.
    const bool chunk_given = opt.chunk_tokens != lmc::CodecOptions().chunk_tokens;
    lmc::hf::TokenCodecOptions o = Options(opt);
    o.chunk_tokens = chunk_given ? static_cast<int>(opt.chunk_tokens) : 0;
    return lmc::hf::CompressTokens(m_, data, o);
  }
  absl::StatusOr<std::string> DecompressFrame(std::string_view frame, lmc::CodecOptions& opt) override {
    return lmc::hf::DecompressTokens(m_, frame, Options(opt));
  }

 private:
  lmc::hf::TokenCodecOptions Options(const lmc::CodecOptions& opt) const {
    lmc::hf::TokenCodecOptions o{.threads = opt.threads, .lockstep = opt.batch_chunks,
                                 .encode_rows = encode_rows_, .backend = device_};
    if (cache_budget_ > 0) o.cache_budget_bytes = cache_budget_;
    return o;
  }

  const lmc::hf::HfIntModel& m_;
  const lmc::hf::HfBackend* device_;  // nullptr: the kernels
  size_t cache_budget_;
  int encode_rows_;
};

int RunConverted(Args& a) {
  if (!a.modality.empty() && a.modality != "auto" && a.modality != "bytes") {
    std::fprintf(stderr, "lmc: --modality does not apply to a converted model (it codes text tokens)\n");
    return 1;
  }
  auto model = lmc::hf::HfIntModel::Load(a.model);
  if (!model.ok()) {
    std::fprintf(stderr, "lmc: cannot load model: %s\n", std::string(model.status().message()).c_str());
    return 1;
  }
  const lmc::hf::HfIntModel& m = **model;
  if (a.command == "models") {
    const lmc::hf::HfIntConfig& c = m.config();
    std::printf("%s  %s  %lld parameters  %s (converted)  vocabulary %d  context %d\n",
                m.fingerprint_hex().c_str(), a.model.c_str(), static_cast<long long>(m.parameters()),
                c.source.c_str(), c.vocab_size, c.context);
    return 0;
  }
  if (a.command == "info") return RunInfo(a, m.fingerprint());
  std::unique_ptr<lmc::hf::HfBackend> device;
  size_t cache_budget = 0;
  if (a.device != "cpu") {
    auto t = lmc::hf::LoadTorchBackend(m, a.device, &cache_budget);
    if (!t.ok()) {
      std::fprintf(stderr, "lmc: --device %s: %s\n", a.device.c_str(),
                   std::string(t.status().message()).c_str());
      return 1;
    }
    device = *std::move(t);
    if (!a.batch_given) a.codec.batch_chunks = lmc::hf::DefaultLockstep(device.get());
  }
  // A compressor's pass feeds 8 positions of each chunk it steps together.
  ConvertedBackend backend(m, device.get(), cache_budget, 8 * a.codec.batch_chunks);
  return RunCodec(a, backend);
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  Args a;
  if (argc >= 2 && (std::string(argv[1]) == "-h" || std::string(argv[1]) == "--help")) return Usage(0);
  if (argc >= 2 && std::string(argv[1]) == "train") return lmc::RunTrainCommand(argc, argv);
  if (argc >= 2 && std::string(argv[1]) == "convert") return lmc::RunConvertCommand(argc, argv);
  try {
    if (!ParseArgs(argc, argv, &a)) return Usage(1);
  } catch (const std::exception&) {
    return Usage(1);
  }
  if (a.command != "compress" && a.command != "decompress" && a.command != "info" &&
      a.command != "models" && a.command != "health") {
    return Usage(1);
  }
  if (a.command == "health" && a.server.empty()) {
    std::fprintf(stderr, "lmc: health asks a server: lmc --server HOST:PORT health\n");
    return 1;
  }
  if (!a.server.empty()) {
    if (a.command == "info") {
      std::fprintf(stderr, "lmc: info reads local files; drop --server\n");
      return 1;
    }
    if (a.device != "cpu") {
      std::fprintf(stderr, "lmc: --device is local; the server chooses its own (lmc-server --device)\n");
      return 1;
    }
    absl::StatusOr<lmc::ClientOptions> options = RemoteBackend::Options(a);
    if (!options.ok()) {
      std::fprintf(stderr, "lmc: %s\n", std::string(options.status().message()).c_str());
      return 1;
    }
    if (a.command == "health") {  // for container health checks; a short deadline
      options->timeout = std::chrono::seconds(5);
      auto serving = lmc::Client::Connect(a.server, *options)
                         ->Serving(a.files.empty() ? "" : a.files.front());
      if (!serving.ok()) return Fail(a.server, serving.status());
      std::printf("%s\n", *serving ? "SERVING" : "NOT_SERVING");
      return *serving ? 0 : 1;
    }
    RemoteBackend remote(a.server, a.model, a.modality, *options);
    if (a.command == "models") {
      auto models = remote.client().ListModels();
      if (!models.ok()) return Fail(a.server, models.status());
      for (const auto& m : *models) {
        std::printf("%s  %s%s  %llu parameters  %s\n", m.fingerprint().c_str(), m.name().c_str(),
                    m.is_default() ? " (default)" : "",
                    static_cast<unsigned long long>(m.parameters()), m.architecture().c_str());
      }
      return 0;
    }
    return RunCodec(a, remote);
  }
  if (!a.model.empty() && lmc::hf::HfIntModel::IsHfIntPath(a.model)) return RunConverted(a);
  if (a.device != "cpu") {
    std::fprintf(stderr, "lmc: --device applies to converted models (lmc convert); byte models run "
                         "on the CPU kernels\n");
    return 1;
  }
  auto model = lmc::LoadModelOrDefault(a.model);
  if (!model.ok()) {
    std::fprintf(stderr, "lmc: cannot load model: %s\n", std::string(model.status().message()).c_str());
    return 1;
  }
  if (a.command == "models") {
    const lmc::IntModel& m = **model;
    std::printf("%s  %s  %lld parameters  d_model %d  layers %d  window %d\n",
                m.fingerprint_hex().c_str(), a.model.empty() ? "default (embedded)" : a.model.c_str(),
                static_cast<long long>(m.parameters()), m.config().d_model,
                m.config().n_layers, m.config().window);
    return 0;
  }
  if (a.command == "info") return RunInfo(a, (*model)->fingerprint());
  LocalBackend local(**model);
  return RunCodec(a, local);
}
