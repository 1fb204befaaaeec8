#include "cli/run_command.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ostream>

#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/connection.h"

extern char** environ;

namespace writ::cli {
namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitCannotRun = 127;
constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

struct RunOptions {
  std::string agent, ttl, task;
  std::vector<std::string> audience, strip, keep, command;
};

bool MatchesPattern(std::string_view name, std::string_view pattern) {
  if (!pattern.empty() && pattern.back() == '*') return name.substr(0, pattern.size() - 1) == pattern.substr(0, pattern.size() - 1);
  return name == pattern;
}

// The private directory holding the token file: $XDG_RUNTIME_DIR or /tmp, mode 0700.
Result<std::string> MakeTokenDir() {
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  std::string pattern = fmt::format("{}/writ-run-XXXXXX", runtime != nullptr && *runtime != '\0' ? runtime : "/tmp");
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Fail(Code::kUnavailable, fmt::format("cannot create a token directory: {}", std::strerror(errno)));
  }
  return pattern;
}

// Writes `token` to `path` atomically with mode 0600.
Status WriteTokenFile(const std::string& path, const std::string& token) {
  const std::string temp = path + ".new";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Fail(Code::kUnavailable, fmt::format("cannot write the token file: {}", std::strerror(errno)));
  const std::string line = token + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fchmod(fd, 0600) == 0;
  ::close(fd);
  if (!written || ::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    return Fail(Code::kUnavailable, "cannot write the token file");
  }
  return Ok();
}

struct Token {
  std::string value;
  std::string agent;
  std::string jti;
  int64_t lifetime_s = 0;
};

Result<Token> RequestToken(Connection& connection, const RunOptions& options, pid_t child) {
  json::Value body;
  body.Set("pid", std::to_string(child));
  if (!options.ttl.empty()) body.Set("ttl", options.ttl);
  if (!options.task.empty()) body.Set("task", options.task);
  if (!options.audience.empty()) {
    json::Value audience = json::Array{};
    for (const auto& item : options.audience) audience.Append(item);
    body.Set("audience", std::move(audience));
  }
  WRIT_ASSIGN_OR_RETURN(const json::Value answer, connection.Call("POST", "/v1/token", &body));
  Token token;
  const json::Value* value = answer.Find("access_token");
  const json::Value* agent = answer.Find("agent");
  const json::Value* jti = answer.Find("jti");
  const json::Value* expires_in = answer.Find("expires_in");
  if (value == nullptr || !value->is_string() || agent == nullptr || !agent->is_string() || expires_in == nullptr ||
      !expires_in->is_int()) {
    return Fail(Code::kDataLoss, "writd's token answer is incomplete");
  }
  token.value = value->as_string();
  token.agent = agent->as_string();
  token.jti = jti != nullptr && jti->is_string() ? jti->as_string() : "";
  token.lifetime_s = expires_in->as_int();
  if (token.agent != options.agent) {
    return Fail(Code::kPermissionDenied,
                fmt::format("the command attests as agent `{}`, not `{}`", token.agent, options.agent));
  }
  return token;
}

int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return kExitError;
}

int Run(const GlobalOptions& global, const RunOptions& options, std::ostream& err) {
  if (options.command.empty()) {
    err << "writ run: give the command after --, e.g. writ run --as bot -- python agent.py\n";
    return kExitUsage;
  }
  // What the command gets: the environment minus ambient credentials.
  std::vector<std::string> patterns(std::begin(kAmbientCredentials), std::end(kAmbientCredentials));
  patterns.insert(patterns.end(), options.strip.begin(), options.strip.end());
  if (const char* extra = std::getenv("WRIT_STRIP_ENV"); extra != nullptr) {
    std::string_view list(extra);
    while (!list.empty()) {
      const size_t comma = list.find(',');
      if (comma != 0) patterns.emplace_back(list.substr(0, comma));
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
  }
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) environment.emplace_back(*entry);
  FilteredEnvironment filtered = FilterEnvironment(environment, patterns, options.keep);
  if (!filtered.removed.empty()) {
    std::string names;
    for (const auto& name : filtered.removed) names += (names.empty() ? "" : ", ") + name;
    err << "writ run: removed ambient credentials from the command's environment: " << names
        << " (keep one with --keep-env NAME)\n";
  }
  auto token_dir = MakeTokenDir();
  if (!token_dir) {
    err << "writ run: " << token_dir.error().message << '\n';
    return kExitError;
  }
  const std::string token_file = *token_dir + "/token";
  const std::string socket = ResolveSocketPath(global.socket);
  filtered.kept.push_back("WRIT_TOKEN_FILE=" + token_file);
  filtered.kept.push_back("WRIT_AGENT=" + options.agent);
  filtered.kept.push_back("WRIT_SOCKET=" + socket);
  std::vector<char*> envp;
  for (auto& entry : filtered.kept) envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_storage = options.command;
  std::vector<char*> argv;
  for (auto& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);

  // Signals are collected with sigtimedwait in this process; the command gets the original mask.
  sigset_t forwarded, original;
  sigemptyset(&forwarded);
  for (const int sig : kForwardedSignals) sigaddset(&forwarded, sig);
  sigaddset(&forwarded, SIGCHLD);
  sigprocmask(SIG_BLOCK, &forwarded, &original);

  int exec_error_pipe[2];
  if (::pipe2(exec_error_pipe, O_CLOEXEC) != 0) {
    err << "writ run: cannot create a pipe\n";
    return kExitError;
  }
  const pid_t child = ::fork();
  if (child < 0) {
    err << "writ run: cannot fork: " << std::strerror(errno) << '\n';
    return kExitError;
  }
  if (child == 0) {
    ::close(exec_error_pipe[0]);
    sigprocmask(SIG_SETMASK, &original, nullptr);
    // Stop right after exec so writd attests the command's executable before it runs.
    ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    ::execvpe(argv[0], argv.data(), envp.data());
    const int error = errno;
    [[maybe_unused]] const ssize_t ignored = ::write(exec_error_pipe[1], &error, sizeof(error));
    ::_exit(kExitCannotRun);
  }
  ::close(exec_error_pipe[1]);
  auto cleanup = [&] {
    ::unlink(token_file.c_str());
    ::rmdir(token_dir->c_str());
  };
  int exec_errno = 0;
  const bool exec_failed = ::read(exec_error_pipe[0], &exec_errno, sizeof(exec_errno)) == sizeof(exec_errno);
  ::close(exec_error_pipe[0]);
  if (exec_failed) {
    int status = 0;
    ::waitpid(child, &status, 0);
    cleanup();
    err << "writ run: cannot run `" << options.command.front() << "`: " << std::strerror(exec_errno) << '\n';
    return kExitCannotRun;
  }
  // Exec succeeded: the child is stopped (SIGTRAP) in the new program.
  int status = 0;
  if (::waitpid(child, &status, 0) != child || !WIFSTOPPED(status)) {
    cleanup();
    err << "writ run: the command ended before it could be attested\n";
    return WIFEXITED(status) || WIFSIGNALED(status) ? ExitCodeOf(status) : kExitError;
  }
  Connection connection(socket);
  auto token = RequestToken(connection, options, child);
  if (!token) {
    ::kill(child, SIGKILL);
    ::ptrace(PTRACE_DETACH, child, nullptr, nullptr);
    ::waitpid(child, &status, 0);
    cleanup();
    err << "writ run: no token for agent `" << options.agent << "`: " << token.error().message << '\n';
    return kExitError;
  }
  if (auto written = WriteTokenFile(token_file, token->value); !written) {
    ::kill(child, SIGKILL);
    ::ptrace(PTRACE_DETACH, child, nullptr, nullptr);
    ::waitpid(child, &status, 0);
    cleanup();
    err << "writ run: " << written.error().message << '\n';
    return kExitError;
  }
  ::ptrace(PTRACE_DETACH, child, nullptr, nullptr);

  using Clock = std::chrono::steady_clock;
  // Renew at two thirds of the lifetime, leaving a third for retries.
  auto renew_at = Clock::now() + std::chrono::seconds(token->lifetime_s * 2 / 3);
  auto expires_at = Clock::now() + std::chrono::seconds(token->lifetime_s);
  int exit_code = kExitError;
  while (true) {
    const auto now = Clock::now();
    const auto wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(renew_at - now),
                                 std::chrono::milliseconds(0), std::chrono::milliseconds(1000));
    timespec timeout{static_cast<time_t>(wait.count() / 1000), static_cast<long>((wait.count() % 1000) * 1'000'000)};
    const int sig = ::sigtimedwait(&forwarded, nullptr, &timeout);
    if (sig > 0 && sig != SIGCHLD) ::kill(child, sig);
    const pid_t done = ::waitpid(child, &status, WNOHANG);
    if (done == child && (WIFEXITED(status) || WIFSIGNALED(status))) {
      exit_code = ExitCodeOf(status);
      break;
    }
    if (Clock::now() >= renew_at) {
      auto renewed = RequestToken(connection, options, child);
      if (renewed && WriteTokenFile(token_file, renewed->value)) {
        renew_at = Clock::now() + std::chrono::seconds(renewed->lifetime_s * 2 / 3);
        expires_at = Clock::now() + std::chrono::seconds(renewed->lifetime_s);
      } else {
        const std::string why = renewed ? "cannot write the token file" : renewed.error().message;
        err << "writ run: token renewal failed: " << why << '\n';
        // Retry soon, but never past expiry: then the file is removed (fail closed).
        renew_at = Clock::now() + std::chrono::seconds(5);
        if (Clock::now() >= expires_at) ::unlink(token_file.c_str());
      }
    }
  }
  cleanup();
  sigprocmask(SIG_SETMASK, &original, nullptr);
  return exit_code;
}

}  // namespace

FilteredEnvironment FilterEnvironment(const std::vector<std::string>& environment,
                                      const std::vector<std::string>& patterns, const std::vector<std::string>& keep) {
  FilteredEnvironment filtered;
  for (const std::string& entry : environment) {
    const std::string_view name = std::string_view(entry).substr(0, entry.find('='));
    bool remove = false;
    for (const auto& pattern : patterns) remove = remove || MatchesPattern(name, pattern);
    for (const auto& kept : keep) remove = remove && name != kept;
    // The parent's own token settings never leak into the command.
    if (name == "WRIT_TOKEN_FILE" || name == "WRIT_AGENT") continue;
    if (remove) {
      filtered.removed.emplace_back(name);
    } else {
      filtered.kept.push_back(entry);
    }
  }
  return filtered;
}

void AddRunCommand(CLI::App& app, const GlobalOptions& global, Action* action) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* run = app.add_subcommand("run", "run a command as an agent with a short-lived token (WRIT_TOKEN_FILE)");
  run->add_option("--as", options->agent, "the agent the command runs as (it must attest as this agent)")->required();
  run->add_option("--ttl", options->ttl, "token lifetime, e.g. 10m (capped by the agent's max_ttl)");
  run->add_option("--task", options->task, "task claim");
  run->add_option("--audience", options->audience, "token audience (repeatable; default writ)");
  run->add_option("--strip-env", options->strip, "also remove this variable (NAME or PREFIX*; repeatable)");
  run->add_option("--keep-env", options->keep, "keep this variable even if it is on the list (repeatable)");
  run->add_option("command", options->command, "the command and its arguments, after --")->required();
  run->callback([options, action, &global] {
    *action = [options, &global](std::ostream&, std::ostream& err) { return Run(global, *options, err); };
  });
}

}  // namespace writ::cli
