// A child process with pipes on its stdin and stdout (stderr is inherited): the MCP server the
// stdio proxy starts. The child gets SIGTERM if the proxy dies (PR_SET_PDEATHSIG), so it is never
// left behind even when the proxy is killed with SIGKILL.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace writ::gateway {

class ChildProcess {
 public:
  // Starts `argv` (argv[0] looked up in PATH). Errors: kInvalidArgument for an empty argv;
  // kFailedPrecondition when the program cannot be executed (the message names it).
  static Result<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv);

  ~ChildProcess();  // closes the pipes; stops the child (Stop with a short grace) if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  int stdin_fd() const { return stdin_fd_; }    // write end of the child's stdin; -1 once closed
  int stdout_fd() const { return stdout_fd_; }  // read end of the child's stdout
  pid_t pid() const { return pid_; }

  // Closes the child's stdin (the MCP way to ask a stdio server to exit). Idempotent.
  void CloseStdin();

  // Waits until the child exits, at most `grace`; then SIGTERM and another `grace`; then SIGKILL.
  // Returns the exit code (128 + signal number when killed by a signal). Idempotent.
  int Stop(std::chrono::milliseconds grace);

  // True once the child has exited (reaps it). exit_code() is valid then.
  bool Exited();
  int exit_code() const { return exit_code_; }

 private:
  ChildProcess() = default;
  bool WaitFor(std::chrono::milliseconds timeout);
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  bool reaped_ = false;
  int exit_code_ = -1;
};

}  // namespace writ::gateway
