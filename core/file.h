// Whole-file reads for the loaders (models, tokenizers, checkpoints), with the
// error a user can act on.
//
//   LMC_ASSIGN_OR_RETURN(std::string bytes, ReadFile("models/default/config.json"));
#ifndef LMC_CORE_FILE_H_
#define LMC_CORE_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace lmc {

// NOT_FOUND if the file cannot be opened (a directory included), DATA_LOSS if a
// read fails part way.
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace lmc

#endif  // LMC_CORE_FILE_H_
