// A real writd in a temporary data directory, restartable (for kill -9 tests), and the real
// `writ` CLI run against it.
#pragma once
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "server/client.h"

namespace writ::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `command` through /bin/sh with WRIT_SOCKET set; captures both streams.
inline CommandResult RunShell(const std::string& command, const std::string& socket) {
  const std::string full = "WRIT_SOCKET='" + socket + "' " + command + " 2>&1";
  CommandResult result;
  FILE* pipe = ::popen(full.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, got);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class RunningWritd {
 public:
  // `extra_args` are appended to writd's command line (e.g. {"--config", path}).
  explicit RunningWritd(std::filesystem::path data_dir, std::vector<std::string> extra_args = {})
      : data_dir_(std::move(data_dir)), extra_args_(std::move(extra_args)) {}
  ~RunningWritd() { Kill(SIGKILL); }
  RunningWritd(const RunningWritd&) = delete;
  RunningWritd& operator=(const RunningWritd&) = delete;

  std::string socket() const { return (data_dir_ / "writd.sock").string(); }
  std::string log_path() const { return (data_dir_.parent_path() / "writd.log").string(); }

  // Starts writd and waits (at most 20 s) until /healthz answers. False if it did not come up.
  bool Start() {
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string data_dir = data_dir_.string();
      if (std::freopen(log_path().c_str(), "a", stderr) == nullptr) ::_exit(126);
      std::vector<std::string> args = {"writd", "--data-dir", data_dir, "--listen-tcp", "127.0.0.1:0"};
      args.insert(args.end(), extra_args_.begin(), extra_args_.end());
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execv(WRITD_BINARY, argv.data());
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      server::Client client({.unix_socket = socket(), .timeout = std::chrono::milliseconds(500)});
      auto health = client.Request("GET", "/healthz");
      if (health && health->status == 200) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // Sends `signal`, reaps the process and returns its wait status (-1 if none was running).
  int Kill(int signal) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

  server::Client Client() const { return server::Client({.unix_socket = socket()}); }

 private:
  std::filesystem::path data_dir_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
};

}  // namespace writ::testing
