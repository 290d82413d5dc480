#include "server/server_config.h"

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "core/frame.h"
#include "core/status_macros.h"

namespace lmc {
namespace {

template <typename T>
absl::Status ParseNumber(std::string_view key, std::string_view value, T min, T* out,
                         T max = std::numeric_limits<T>::max()) {
  T v{};
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() || v < min || v > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", std::string(key), ": expected a number ",
                     max == std::numeric_limits<T>::max() ? absl::StrCat(">= ", min)
                                                          : absl::StrCat("in ", min, "..", max),
                     ", got '", std::string(value), "'"));
  }
  *out = v;
  return absl::OkStatus();
}

std::string_view Trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

uint64_t ParseCgroupMemoryLimit(std::string_view text) {
  text = Trim(text);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && end == text.data() + text.size() ? v : 0;
}

uint64_t AutoChunkMemory() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  uint64_t limit = pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page)
                                         : uint64_t{8} << 30;
  for (const char* path : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    absl::StatusOr<std::string> text = ReadFile(path);
    const uint64_t cgroup = text.ok() ? ParseCgroupMemoryLimit(*text) : 0;
    if (cgroup > 0 && cgroup < limit) limit = cgroup;
  }
  return limit / 2;
}

absl::Status ApplyServerOption(ServerConfig* c, std::string_view key, std::string_view value) {
  if (key == "listen") {
    c->listen = std::string(value);
  } else if (key == "model") {
    const size_t eq = value.find('=');
    std::string name(value.substr(0, eq));
    std::string path = eq == std::string_view::npos ? "" : std::string(value.substr(eq + 1));
    if (name.empty()) return absl::InvalidArgumentError("--model: expected NAME[=PATH]");
    c->models.emplace_back(std::move(name), std::move(path));
  } else if (key == "workers") {
    return ParseNumber(key, value, 1, &c->scheduler.workers);
  } else if (key == "max_batch_streams") {
    return ParseNumber(key, value, 1, &c->scheduler.max_batch_streams);
  } else if (key == "token_budget") {
    return ParseNumber(key, value, 1, &c->scheduler.token_budget);
  } else if (key == "block_tokens") {
    return ParseNumber(key, value, 1, &c->scheduler.block_tokens);
  } else if (key == "max_queued_chunks") {
    return ParseNumber<size_t>(key, value, 1, &c->scheduler.max_queued_chunks);
  } else if (key == "sample_workers") {
    return ParseNumber(key, value, 0, &c->scheduler.sample_workers);  // 0: workers
  } else if (key == "max_media_chunks") {
    return ParseNumber(key, value, 0, &c->scheduler.max_media_chunks);  // 0: 2 x sample threads
  } else if (key == "chunk_memory_mb") {
    if (value == "auto") {
      c->scheduler.memory_budget_bytes = AutoChunkMemory();
      return absl::OkStatus();
    }
    uint64_t mb = 0;
    LMC_RETURN_IF_ERROR(ParseNumber<uint64_t>(key, value, 0, &mb, uint64_t{1} << 40));
    c->scheduler.memory_budget_bytes = mb << 20;
  } else if (key == "chunk_tokens") {
    return ParseNumber<uint32_t>(key, value, 0, &c->chunk_tokens, kMaxChunkTokens);  // 0: by front-end
  } else if (key == "max_stream_media_bytes") {
    return ParseNumber<uint64_t>(key, value, 0, &c->max_stream_media_bytes);
  } else if (key == "max_message_bytes") {
    return ParseNumber<int64_t>(key, value, 1024, &c->max_message_bytes);
  } else if (key == "max_output_bytes") {
    return ParseNumber<uint64_t>(key, value, 1, &c->max_output_bytes);
  } else if (key == "metrics_listen") {
    c->metrics_listen = std::string(value);
  } else if (key == "tls_cert") {
    c->tls_cert = std::string(value);
  } else if (key == "tls_key") {
    c->tls_key = std::string(value);
  } else if (key == "tls_client_ca") {
    c->tls_client_ca = std::string(value);
  } else if (key == "health_listen") {
    c->health_listen = std::string(value);
  } else if (key == "device") {
    if (value.empty()) return absl::InvalidArgumentError("--device: expected cpu, cuda, cuda:N or torch:cpu");
    c->device = std::string(value);
  } else if (key == "auth_tokens") {
    c->auth_tokens = std::string(value);
  } else if (key == "drain_seconds") {
    return ParseNumber(key, value, 0, &c->drain_seconds);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown option '", std::string(key), "'"));
  }
  return absl::OkStatus();
}

absl::Status LoadServerConfigFile(ServerConfig* config, const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read config file ", path));
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::string_view l = line;
    if (size_t hash = l.find('#'); hash != std::string_view::npos) l = l.substr(0, hash);
    l = Trim(l);
    if (l.empty()) continue;
    const size_t eq = l.find('=');
    if (eq == std::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", n, ": expected key = value"));
    }
    absl::Status s = ApplyServerOption(config, Trim(l.substr(0, eq)),
                                       Trim(l.substr(eq + 1)));
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ":", n, ": ", s.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<ServerConfig> ParseServerFlags(int argc, char** argv) {
  ServerConfig c;
  c.scheduler.memory_budget_bytes = AutoChunkMemory();  // --chunk_memory_mb=auto
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (!a.starts_with("--")) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", std::string(a), "'"));
    }
    a.remove_prefix(2);
    std::string_view key = a, value;
    if (size_t eq = a.find('='); eq != std::string_view::npos && !a.starts_with("model")) {
      key = a.substr(0, eq);
      value = a.substr(eq + 1);
    } else if (a.starts_with("model=")) {
      key = "model";
      value = a.substr(6);
    } else {
      if (i + 1 >= argc) return absl::InvalidArgumentError(absl::StrCat("--", std::string(a), " needs a value"));
      value = argv[++i];
    }
    absl::Status s = key == "config" ? LoadServerConfigFile(&c, std::string(value))
                                     : ApplyServerOption(&c, key, value);
    if (!s.ok()) return s;
  }
  if (c.models.empty()) c.models.emplace_back("default", "");
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
  }
  if (!c.tls_client_ca.empty() && c.tls_cert.empty()) {
    return absl::InvalidArgumentError("--tls_client_ca needs --tls_cert and --tls_key");
  }
  return c;
}

}  // namespace lmc
