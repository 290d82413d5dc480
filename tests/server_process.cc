#include "tests/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

namespace lmc {

ServerProcess::ServerProcess(const std::string& binary, std::vector<std::string> args) {
  int fds[2];
  if (pipe(fds) != 0) return;
  args.insert(args.begin(), {binary, "--listen", "127.0.0.1:0"});
  pid_ = fork();
  if (pid_ == 0) {
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(fds[1]);
  stderr_fd_ = fds[0];
  // Read its log until it serves (or 60 s pass): "listening on port N", "serving".
  std::string log;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int port = 0;
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{stderr_fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[512];
    const ssize_t n = read(stderr_fd_, buf, sizeof buf);
    if (n <= 0) break;
    log.append(buf, n);
    if (size_t at = log.find("listening on port "); at != std::string::npos && port == 0) {
      port = std::atoi(log.c_str() + at + 18);
    }
    if (log.find("serving\n") != std::string::npos) {
      port_ = port;
      break;
    }
  }
  log_ = log;
  if (port_ == 0) std::fprintf(stderr, "lmc-server did not come up:\n%s\n", log.c_str());
  // From now on its log goes nowhere; keep the pipe drained so it never blocks.
  fcntl(stderr_fd_, F_SETFL, O_NONBLOCK);
}

int ServerProcess::Wait() {
  if (!exited_ && pid_ > 0) {
    char buf[512];
    while (true) {
      const pid_t r = waitpid(pid_, &status_, WNOHANG);
      if (r == pid_) break;
      while (read(stderr_fd_, buf, sizeof buf) > 0) {
      }
      usleep(10000);
    }
    exited_ = true;
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    Wait();
  }
  if (stderr_fd_ >= 0) close(stderr_fd_);
}

}  // namespace lmc
