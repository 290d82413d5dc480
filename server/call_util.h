// Small pieces every RPC of the service uses: status conversion, and the state a
// call shares with the scheduler (cancellation and deadline), which outlives
// neither the call nor the job.
#ifndef LMC_SERVER_CALL_UTIL_H_
#define LMC_SERVER_CALL_UTIL_H_

#include <atomic>
#include <chrono>
#include <memory>

#include "absl/status/status.h"
#include "engine/scheduler.h"
#include "grpcpp/grpcpp.h"

namespace lmc {

// absl and gRPC share the canonical code numbers.
inline grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

struct CallFlags {
  std::atomic<bool> cancelled{false};
  std::chrono::system_clock::time_point deadline;
};

// The scheduler's check for a call: DEADLINE_EXCEEDED past the deadline,
// CANCELLED once the client has gone.
inline Scheduler::Check MakeCheck(std::shared_ptr<CallFlags> flags) {
  return [flags] {
    if (std::chrono::system_clock::now() > flags->deadline) {
      return absl::DeadlineExceededError("deadline exceeded");
    }
    if (flags->cancelled) return absl::CancelledError("the client cancelled the call");
    return absl::OkStatus();
  };
}

// Counts the calls between their start and their Finish, for draining.
class InFlight {
 public:
  void Begin() { n_.fetch_add(1); }
  void End() { n_.fetch_sub(1); }
  int count() const { return n_.load(); }

 private:
  std::atomic<int> n_{0};
};

}  // namespace lmc

#endif  // LMC_SERVER_CALL_UTIL_H_
