#include "hf/torch_plugin.h"

#include <dlfcn.h>

#include <filesystem>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"

namespace lmc::hf {
namespace {

constexpr char kPluginFile[] = "liblmc_torch.so";

std::vector<std::string> Candidates() {
  std::vector<std::string> c;
  if (const char* env = std::getenv("LMC_TORCH_PLUGIN");
      env != nullptr && *env != '\0') {
    c.push_back(env);
    return c;
  }
  std::error_code ec;
  const std::filesystem::path exe =
      std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    c.push_back((exe.parent_path() / kPluginFile).string());
    c.push_back(
        (exe.parent_path() / ".." / "lib" / "lmc" / kPluginFile).string());
  }
#ifdef LMC_TORCH_PLUGIN_BUILD_PATH
  c.push_back(LMC_TORCH_PLUGIN_BUILD_PATH);
#endif
  return c;
}

// Loaded once and never closed: the backends' code lives in it.
absl::StatusOr<CreateTorchBackendFn> Plugin() {
  static std::mutex mu;
  static CreateTorchBackendFn fn = nullptr;
  static std::string tried;
  std::lock_guard<std::mutex> lock(mu);
  if (fn != nullptr) return fn;
  tried.clear();
  for (const std::string& path : Candidates()) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      absl::StrAppend(&tried, tried.empty() ? "" : ", ", path);
      continue;
    }
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot load ", path, ": ", dlerror()));
    }
    fn = reinterpret_cast<CreateTorchBackendFn>(
        dlsym(h, kCreateTorchBackendSymbol));
    if (fn == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is not lmc's LibTorch plugin"));
    }
    return fn;
  }
  return absl::UnimplementedError(
      absl::StrCat("LibTorch devices need ", kPluginFile,
                   " (a build with LMC_WITH_TORCH); looked at ", tried));
}

}  // namespace

absl::StatusOr<std::unique_ptr<HfBackend>> LoadTorchBackend(
    const HfIntModel& model, const std::string& device, size_t* memory_budget) {
  absl::StatusOr<CreateTorchBackendFn> create = Plugin();
  if (!create.ok()) return create.status();
  absl::StatusOr<std::unique_ptr<HfBackend>> out =
      absl::InternalError("plugin gave no answer");
  size_t budget = 0;
  const std::string name = device.starts_with("torch:") ? device.substr(6) : device;
  (*create)(&model, name.c_str(), &out, &budget);
  if (memory_budget != nullptr) *memory_budget = budget;
  return out;
}

}  // namespace lmc::hf
