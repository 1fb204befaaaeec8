#include "gateway/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

namespace writ::gateway {
namespace {

constexpr std::chrono::milliseconds kPollStep{5};

int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

void CloseFd(int* fd) {
  if (*fd >= 0) ::close(*fd);
  *fd = -1;
}

}  // namespace

Result<std::unique_ptr<ChildProcess>> ChildProcess::Start(const std::vector<std::string>& argv) {
  if (argv.empty()) return Fail(Code::kInvalidArgument, "no mcp server command given");
  int in_pipe[2];
  int out_pipe[2];
  int exec_pipe[2];  // reports an exec failure from the child
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) return Fail(Code::kUnavailable, "cannot create a pipe");
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    ::close(in_pipe[0]), ::close(in_pipe[1]);
    return Fail(Code::kUnavailable, "cannot create a pipe");
  }
  if (::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    ::close(in_pipe[0]), ::close(in_pipe[1]), ::close(out_pipe[0]), ::close(out_pipe[1]);
    return Fail(Code::kUnavailable, "cannot create a pipe");
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(in_pipe[0]), ::close(in_pipe[1]), ::close(out_pipe[0]), ::close(out_pipe[1]);
    ::close(exec_pipe[0]), ::close(exec_pipe[1]);
    return Fail(Code::kUnavailable, "cannot fork");
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);  // its own group, so Stop reaches helpers it starts (npx, sh)
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(in_pipe[0], STDIN_FILENO);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    // Nothing else of ours leaks into the server (a kept write end would hide the client's EOF).
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execvp(args[0], args.data());
    const int error = errno;
    [[maybe_unused]] const ssize_t written = ::write(exec_pipe[1], &error, sizeof(error));
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(exec_pipe[1]);
  auto child = std::unique_ptr<ChildProcess>(new ChildProcess());
  child->pid_ = pid;
  child->stdin_fd_ = in_pipe[1];
  child->stdout_fd_ = out_pipe[0];
  int exec_error = 0;
  ssize_t got = 0;
  do {
    got = ::read(exec_pipe[0], &exec_error, sizeof(exec_error));
  } while (got < 0 && errno == EINTR);
  ::close(exec_pipe[0]);
  if (got == static_cast<ssize_t>(sizeof(exec_error))) {
    child->Stop(std::chrono::milliseconds(100));
    return Fail(Code::kFailedPrecondition,
                fmt::format("cannot start mcp server `{}`: {}", argv[0], std::strerror(exec_error)));
  }
  return child;
}

ChildProcess::~ChildProcess() {
  CloseStdin();
  Stop(std::chrono::milliseconds(500));
  CloseFd(&stdout_fd_);
}

void ChildProcess::CloseStdin() { CloseFd(&stdin_fd_); }

bool ChildProcess::Exited() {
  if (reaped_) return true;
  int status = 0;
  const pid_t got = ::waitpid(pid_, &status, WNOHANG);
  if (got == pid_) {
    reaped_ = true;
    exit_code_ = ExitCodeOf(status);
  } else if (got < 0 && errno == ECHILD) {
    reaped_ = true;
  }
  return reaped_;
}

bool ChildProcess::WaitFor(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!Exited()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPollStep);
  }
  return true;
}

int ChildProcess::Stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return exit_code_;
  if (WaitFor(grace)) return exit_code_;
  ::kill(-pid_, SIGTERM);
  ::kill(pid_, SIGTERM);
  if (WaitFor(grace)) return exit_code_;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  WaitFor(std::chrono::milliseconds(5'000));
  return exit_code_;
}

}  // namespace writ::gateway
