#include "core/file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"

namespace lmc {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (f == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  std::string out;
  // Read straight into a buffer of the file's size (model files are hundreds of
  // megabytes: growing a string piecewise would copy them several times); then
  // on, for files that grow or report no size.
  struct stat st;
  if (fstat(fileno(f.get()), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    out.resize(static_cast<size_t>(st.st_size));
    out.resize(std::fread(out.data(), 1, out.size(), f.get()));
  }
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) out.append(buf, n);
  if (std::ferror(f.get())) {
    // fopen succeeds on a directory; its read fails with EISDIR.
    const int e = errno;
    if (e == EISDIR) return absl::NotFoundError(absl::StrCat(path, " is a directory"));
    return absl::DataLossError(absl::StrCat("cannot read ", path, ": ", std::strerror(e)));
  }
  return out;
}

}  // namespace lmc
