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
#include "server/metrics.h"

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

// One call's metrics: started at construction, handled at Done.
class CallMetrics {
 public:
  CallMetrics(ServerMetrics& metrics, std::string type, std::string method)
      : m_(metrics), type_(std::move(type)), method_(std::move(method)),
        start_(std::chrono::steady_clock::now()) {
    m_.Started(type_, method_);
  }
  void Received() { m_.MsgReceived(type_, method_); }
  void Sent() { m_.MsgSent(type_, method_); }
  void Done(const absl::Status& s) {
    m_.Handled(type_, method_, s,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }
  ServerMetrics& metrics() const { return m_; }

 private:
  ServerMetrics& m_;
  std::string type_, method_;
  std::chrono::steady_clock::time_point start_;
};

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
