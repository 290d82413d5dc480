// Early-return helpers for absl::Status / absl::StatusOr, as in Triton core's
// RETURN_IF_ERROR. Every module boundary in lmc returns absl::Status(Or).
//
//   LMC_RETURN_IF_ERROR(frame.Validate());
//   LMC_ASSIGN_OR_RETURN(auto model, Model::Load(path));
#ifndef LMC_CORE_STATUS_MACROS_H_
#define LMC_CORE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define LMC_RETURN_IF_ERROR(expr)                \
  do {                                           \
    ::absl::Status lmc_status_ = (expr);         \
    if (!lmc_status_.ok()) return lmc_status_;   \
  } while (0)

#define LMC_CONCAT_INNER_(a, b) a##b
#define LMC_CONCAT_(a, b) LMC_CONCAT_INNER_(a, b)

#define LMC_ASSIGN_OR_RETURN(lhs, expr) \
  LMC_ASSIGN_OR_RETURN_IMPL_(LMC_CONCAT_(lmc_statusor_, __LINE__), lhs, expr)

#define LMC_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return std::move(tmp).status();   \
  lhs = std::move(tmp).value()

#endif  // LMC_CORE_STATUS_MACROS_H_
