#include "cli/mcp_command.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/connection.h"
#include "common/clock.h"
#include "common/log.h"
#include "gateway/agent_auth.h"
#include "gateway/authzen_client.h"
#include "gateway/http_proxy.h"
#include "gateway/stdio_proxy.h"
#include "gateway/token_file.h"
#include "gateway/unix_http.h"

namespace writ::cli {
namespace {

constexpr std::chrono::seconds kRenewRetry{5};

struct McpOptions {
  std::string agent;
  std::string server;
  std::vector<std::string> command;
  std::string approval_timeout = "120s";
  size_t max_message_bytes = 4 << 20;
  size_t max_argument_bytes = 64 << 10;
  // Streamable HTTP mode (--listen): the agent comes from each request's token.
  std::string listen;
  std::string upstream;
  std::string upstream_ca;
  std::vector<std::string> allowed_origins;
  std::string audience;
  std::string token_recheck = "5s";
  bool allow_remote = false;
};

// Where the proxy's writ token comes from. Current() is called before every request to writd.
// Thread-safe. Errors: kUnauthenticated when there is no usable token (the request is not sent,
// so the call is refused: fail closed).
class TokenSource {
 public:
  virtual ~TokenSource() = default;
  virtual Result<std::string> Current() = 0;
  // After writd refused the token Current() gave: a token from the source itself, not a kept one.
  virtual Result<std::string> Reread() { return Current(); }
  virtual std::string Describe() const = 0;  // for messages: where the token comes from
};

// The token `writ run` keeps in $WRIT_TOKEN_FILE (gateway/token_file.h: looked at once a second,
// and at once when writd refuses the token).
class FileTokenSource final : public TokenSource {
 public:
  explicit FileTokenSource(std::string path) : file_(std::move(path)) {}
  Result<std::string> Current() override { return file_.Current(); }
  Result<std::string> Reread() override { return file_.Reread(); }
  std::string Describe() const override { return fmt::format("the token in WRIT_TOKEN_FILE `{}`", file_.path()); }

 private:
  gateway::TokenFile file_;
};

// A token writd issues to this very process by attestation (its uid, gid and executable matched
// against the agents' selectors), renewed at two thirds of its lifetime.
class AttestedTokenSource final : public TokenSource {
 public:
  explicit AttestedTokenSource(std::string socket) : socket_(std::move(socket)) {}

  // Asks writd for the first token. Returns the agent it was issued to.
  Result<std::string> Start() {
    std::lock_guard lock(mu_);
    WRIT_RETURN_IF_ERROR(RenewLocked());
    return agent_;
  }

  Result<std::string> Current() override {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (now >= renew_at_) {
      if (auto renewed = RenewLocked(); !renewed) {
        log::Warn("writ mcp: token renewal failed", {{"error", renewed.error().message}});
        renew_at_ = now + kRenewRetry;
      }
    }
    if (now >= expires_at_) return Fail(Code::kUnauthenticated, "the attested token expired and could not be renewed");
    return token_;
  }

  std::string Describe() const override { return "attestation of this process"; }

 private:
  Status RenewLocked() {
    Connection connection(socket_);
    const json::Value body = json::Object{};
    WRIT_ASSIGN_OR_RETURN(const json::Value answer, connection.Call("POST", "/v1/token", &body));
    const json::Value* token = answer.Find("access_token");
    const json::Value* agent = answer.Find("agent");
    const json::Value* expires_in = answer.Find("expires_in");
    if (token == nullptr || !token->is_string() || agent == nullptr || !agent->is_string() || expires_in == nullptr ||
        !expires_in->is_int() || expires_in->as_int() <= 0) {
      return Fail(Code::kDataLoss, "writd's token answer is incomplete");
    }
    if (!agent_.empty() && agent->as_string() != agent_) {
      return Fail(Code::kPermissionDenied,
                  fmt::format("this process now attests as agent `{}`, not `{}`", agent->as_string(), agent_));
    }
    const auto now = std::chrono::steady_clock::now();
    const std::chrono::seconds lifetime(expires_in->as_int());
    token_ = token->as_string();
    agent_ = agent->as_string();
    renew_at_ = now + lifetime * 2 / 3;
    expires_at_ = now + lifetime;
    return Ok();
  }

  const std::string socket_;
  std::mutex mu_;
  std::string token_;  // guarded by mu_, like the fields below
  std::string agent_;
  std::chrono::steady_clock::time_point renew_at_{};
  std::chrono::steady_clock::time_point expires_at_{};
};

// The agent named by a verified token's `sub` (spiffe://<trust domain>/agent/<name>).
Result<std::string> IntrospectAgent(const std::string& socket, const std::string& token, std::string_view source) {
  Connection connection(socket);
  const json::Value body = json::Object{{"token", token}};
  WRIT_ASSIGN_OR_RETURN(const json::Value answer, connection.Call("POST", "/v1/introspect", &body));
  const json::Value* active = answer.Find("active");
  if (active == nullptr || !active->is_bool() || !active->as_bool()) {
    return Fail(Code::kUnauthenticated,
                fmt::format("{} is not valid (expired, revoked or its agent is not active)", source));
  }
  const json::Value* sub = answer.Find("sub");
  constexpr std::string_view kAgentPath = "/agent/";
  const size_t at = sub != nullptr && sub->is_string() ? sub->as_string().rfind(kAgentPath) : std::string::npos;
  if (at == std::string::npos) return Fail(Code::kUnauthenticated, fmt::format("{} names no agent", source));
  return sub->as_string().substr(at + kAgentPath.size());
}

struct Principal {
  std::string agent;
  std::shared_ptr<TokenSource> tokens;
};

// The verified principal: from $WRIT_TOKEN_FILE (started under `writ run`), else by attestation.
// `claimed` (--as), when given, must be that principal.
Result<Principal> ResolvePrincipal(const std::string& socket, const std::string& claimed) {
  Principal principal;
  const char* token_file = std::getenv("WRIT_TOKEN_FILE");
  if (token_file != nullptr && *token_file != '\0') {
    auto source = std::make_shared<FileTokenSource>(token_file);
    WRIT_ASSIGN_OR_RETURN(const std::string token, source->Current());
    WRIT_ASSIGN_OR_RETURN(principal.agent, IntrospectAgent(socket, token, source->Describe()));
    principal.tokens = std::move(source);
  } else {
    auto source = std::make_shared<AttestedTokenSource>(socket);
    auto agent = source->Start();
    if (!agent) {
      return Fail(agent.error().code,
                  fmt::format("no principal: WRIT_TOKEN_FILE is not set (start under `writ run`) and writd did not "
                              "attest this process as an agent: {}",
                              agent.error().message));
    }
    principal.agent = std::move(*agent);
    principal.tokens = std::move(source);
  }
  if (!claimed.empty() && claimed != principal.agent) {
    return Fail(Code::kPermissionDenied, fmt::format("--as `{}` does not match the agent `{}` verified from {}",
                                                     claimed, principal.agent, principal.tokens->Describe()));
  }
  return principal;
}

// HTTP to writd for the decision client, on one kept-alive connection per thread (the proxy's
// threads: call deciders, approval waiters, the outcome sender). A request's own `token` (HTTP mode:
// the calling agent's, per call) goes out as its Authorization; else, with `tokens` (stdio mode), the
// proxy's agent's token; else (HTTP mode's introspection) the proxy asks as a Unix-socket peer.
gateway::HttpTransport WritdTransport(std::string socket, std::shared_ptr<TokenSource> tokens) {
  return [socket = std::move(socket), tokens = std::move(tokens)](
             std::string_view method, std::string_view path, std::string_view body, std::chrono::milliseconds timeout,
             std::string_view request_id, std::string_view token) -> Result<gateway::HttpReply> {
    std::string authorization;
    std::string own;  // the source's token, when it is the one sent
    if (!token.empty()) {
      authorization = fmt::format("Bearer {}", token);
    } else if (tokens != nullptr) {
      WRIT_ASSIGN_OR_RETURN(own, tokens->Current());
      authorization = "Bearer " + own;
    }
    thread_local std::unique_ptr<gateway::UnixHttpConnection> connection;
    if (connection == nullptr) connection = std::make_unique<gateway::UnixHttpConnection>(socket);
    std::vector<std::pair<std::string_view, std::string_view>> headers;
    if (!authorization.empty()) headers.emplace_back("Authorization", authorization);
    if (!request_id.empty()) headers.emplace_back("X-Request-ID", request_id);
    WRIT_ASSIGN_OR_RETURN(gateway::RawHttpReply raw, connection->Request(method, path, body, headers, timeout));
    if (raw.status == 401 && !own.empty()) {
      // writd refused the token before doing anything: if `writ run` has put a new one on disk
      // since it was read, send the request once more with it.
      auto fresh = tokens->Reread();
      if (fresh && *fresh != own) {
        authorization = "Bearer " + *fresh;
        headers.front().second = authorization;
        WRIT_ASSIGN_OR_RETURN(raw, connection->Request(method, path, body, headers, timeout));
      }
    }
    gateway::HttpReply reply{.status = raw.status};
    if (!raw.body.empty()) {
      if (auto parsed = json::Parse(raw.body)) reply.body = std::move(*parsed);
    }
    return reply;
  };
}

// `writ mcp --listen ... --upstream ...`: serves until SIGINT or SIGTERM.
int RunHttpMode(const GlobalOptions& global, const McpOptions& options, std::chrono::milliseconds approval_timeout,
                std::ostream& err) {
  auto recheck = ParseDuration(options.token_recheck);
  if (!recheck || recheck->count() < 0) {
    err << "writ: --token-recheck: " << (recheck ? "must not be negative" : recheck.error().message) << '\n';
    return 2;
  }
  const gateway::HttpTransport transport = WritdTransport(ResolveSocketPath(global.socket), nullptr);
  auto decisions = gateway::NewAuthzenClient(transport);
  auto authenticator = gateway::NewIntrospectingAuthenticator(
      transport, {.audience = options.audience, .recheck = std::chrono::duration_cast<std::chrono::seconds>(*recheck)});
  // Blocked before the proxy's threads start, so that only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  auto proxy = gateway::HttpProxy::Start({.listen = options.listen,
                                          .allow_remote = options.allow_remote,
                                          .upstream = options.upstream,
                                          .upstream_ca_file = options.upstream_ca,
                                          .server_name = options.server,
                                          .decisions = decisions.get(),
                                          .authenticator = authenticator.get(),
                                          .allowed_origins = options.allowed_origins,
                                          .max_message_bytes = options.max_message_bytes,
                                          .approval_timeout = approval_timeout});
  if (!proxy) {
    err << "writ: " << proxy.error().message << '\n';
    return proxy.error().code == Code::kInvalidArgument ? 2 : 1;
  }
  err << "writ mcp: listening on " << (*proxy)->url() << " for " << options.upstream << std::endl;
  int received = 0;
  sigwait(&stop_signals, &received);
  (*proxy)->Stop();
  return 0;
}

}  // namespace

void AddMcpCommand(CLI::App& app, const GlobalOptions& global, Action* action) {
  auto options = std::make_shared<McpOptions>();
  CLI::App* mcp = app.add_subcommand("mcp",
                                     "run an MCP server behind writ (stdio: `--server S -- command`; Streamable HTTP: "
                                     "`--listen 127.0.0.1:PORT --upstream URL --server S`): every tools/call is "
                                     "decided, held for approval or refused");
  mcp->add_option("--as", options->agent,
                  "the agent you expect these calls to be of; the proxy refuses to start unless it is the agent of "
                  "$WRIT_TOKEN_FILE (under `writ run`) or the one writd attests this process as");
  mcp->add_option("--server", options->server, "the tool server's name in policies (Writ::ToolServer)")->required();
  mcp->add_option("--approval-timeout", options->approval_timeout, "how long a call waits for approval (e.g. 120s, 5m)")
      ->capture_default_str();
  mcp->add_option("--max-message-bytes", options->max_message_bytes, "largest JSON-RPC message relayed either way")
      ->capture_default_str();
  mcp->add_option("--max-argument-bytes", options->max_argument_bytes,
                  "largest tools/call arguments sent for a decision (larger: denied)")
      ->capture_default_str();
  mcp->add_option("command", options->command, "the MCP server command, after -- (stdio)");
  mcp->add_option("--listen", options->listen, "serve Streamable HTTP on this host:port (loopback) instead of stdio");
  mcp->add_option("--upstream", options->upstream,
                  "the MCP server's Streamable HTTP URL, http:// or https:// (with --listen)");
  mcp->add_option("--upstream-ca", options->upstream_ca,
                  "PEM file of the CAs an https:// upstream's certificate must chain to (default: the system's)");
  mcp->add_option("--allow-origin", options->allowed_origins,
                  "also accept browser requests from this Origin (repeatable)");
  mcp->add_option("--audience", options->audience, "agent tokens must carry this audience (with --listen)");
  mcp->add_option("--token-recheck", options->token_recheck,
                  "how long a checked agent token is trusted before writd is asked again (with --listen)")
      ->capture_default_str();
  mcp->add_flag("--allow-remote", options->allow_remote, "allow a non-loopback --listen address");
  mcp->callback([&global, action, options] {
    *action = [&global, options](std::ostream&, std::ostream& err) {
      auto timeout = ParseDuration(options->approval_timeout);
      if (!timeout) {
        err << "writ mcp: --approval-timeout: " << timeout.error().message << '\n';
        return 2;
      }
      if (!options->listen.empty() || !options->upstream.empty()) {
        if (options->listen.empty() || options->upstream.empty() || !options->agent.empty() ||
            !options->command.empty()) {
          err << "writ: mcp over HTTP takes --listen and --upstream, and neither --as (the agent comes from its "
                 "token) nor a command\n";
          return 2;
        }
        return RunHttpMode(global, *options, *timeout, err);
      }
      if (options->command.empty()) {
        err << "writ: mcp needs the server command after -- (or --listen and --upstream)\n";
        return 2;
      }
      const std::string socket = ResolveSocketPath(global.socket);
      auto principal = ResolvePrincipal(socket, options->agent);
      if (!principal) {
        err << "writ mcp: refusing to start: " << principal.error().message << '\n';
        return 1;
      }
      auto decisions =
          gateway::NewAuthzenClient(WritdTransport(socket, principal->tokens), {.transport_serves_watch = true});
      auto exit_code = gateway::RunStdioProxy({.agent = principal->agent,
                                               .server_name = options->server,
                                               .command = options->command,
                                               .decisions = decisions.get(),
                                               .max_message_bytes = options->max_message_bytes,
                                               .max_argument_bytes = options->max_argument_bytes,
                                               .approval_timeout = *timeout},
                                              STDIN_FILENO, STDOUT_FILENO);
      if (!exit_code) {
        err << "writ mcp: " << exit_code.error().message << '\n';
        return 1;
      }
      return *exit_code;
    };
  });
}

}  // namespace writ::cli
