// A real lmc-server child process for the integration tests: started with the
// given flags on an ephemeral loopback port, ready when it reports "serving".
#ifndef LMC_TESTS_SERVER_PROCESS_H_
#define LMC_TESTS_SERVER_PROCESS_H_

#include <signal.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace lmc {

class ServerProcess {
 public:
  // Starts `binary --listen 127.0.0.1:0 args...` and waits until it serves.
  ServerProcess(const std::string& binary, std::vector<std::string> args);
  ~ServerProcess();  // SIGKILL if still running
  bool ok() const { return port_ > 0; }
  int port() const { return port_; }
  // What it logged while starting.
  const std::string& startup_log() const { return log_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void Signal(int sig) { ::kill(pid_, sig); }
  // Waits for exit; the exit code, or 128 + signal.
  int Wait();

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_;
  int stderr_fd_ = -1;
  bool exited_ = false;
  int status_ = 0;
};

}  // namespace lmc

#endif  // LMC_TESTS_SERVER_PROCESS_H_
