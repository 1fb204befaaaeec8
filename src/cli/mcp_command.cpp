#include "cli/mcp_command.h"

#include <signal.h>
#include <unistd.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/connection.h"
#include "common/clock.h"
#include "gateway/agent_auth.h"
#include "gateway/authzen_client.h"
#include "gateway/http_proxy.h"
#include "gateway/stdio_proxy.h"
#include "server/client.h"

namespace writ::cli {
namespace {

struct McpOptions {
  std::string agent;
  std::string server;
  std::vector<std::string> command;
  std::string approval_timeout = "120s";
  size_t max_message_bytes = 4 << 20;
  // Streamable HTTP mode (--listen): the agent comes from each request's token.
  std::string listen;
  std::string upstream;
  std::vector<std::string> allowed_origins;
  std::string audience;
  std::string token_recheck = "5s";
  bool allow_remote = false;
};

// HTTP to writd for the decision client: one kept-alive connection per thread for decisions, a
// fresh one for each long wait (its timeout differs).
gateway::HttpTransport WritdTransport(std::string socket) {
  return [socket = std::move(socket)](std::string_view method, std::string_view path, const json::Value& body,
                                      std::chrono::milliseconds timeout,
                                      std::string_view request_id) -> Result<gateway::HttpReply> {
    thread_local std::unique_ptr<server::Client> kept;
    thread_local std::chrono::milliseconds kept_timeout{0};
    std::unique_ptr<server::Client> own;
    server::Client* client = nullptr;
    if (kept == nullptr || kept_timeout != timeout) {
      auto fresh = std::make_unique<server::Client>(server::ClientOptions{.unix_socket = socket, .timeout = timeout});
      if (kept == nullptr) {
        kept = std::move(fresh);
        kept_timeout = timeout;
        client = kept.get();
      } else {
        own = std::move(fresh);
        client = own.get();
      }
    } else {
      client = kept.get();
    }
    std::optional<json::Value> payload;
    if (!body.is_null()) payload = body;
    server::Headers headers;
    if (!request_id.empty()) headers.Set("X-Request-ID", std::string(request_id));
    WRIT_ASSIGN_OR_RETURN(const server::ClientResponse response, client->Request(method, path, payload, headers));
    gateway::HttpReply reply{.status = response.status};
    if (!response.body.empty()) {
      if (auto parsed = response.Json()) reply.body = std::move(*parsed);
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
  const gateway::HttpTransport transport = WritdTransport(ResolveSocketPath(global.socket));
  auto decisions = gateway::NewAuthzenClient(transport);
  auto authenticator = gateway::NewIntrospectingAuthenticator(
      transport, {.audience = options.audience,
                  .recheck = std::chrono::duration_cast<std::chrono::seconds>(*recheck)});
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
  CLI::App* mcp = app.add_subcommand(
      "mcp",
      "run an MCP server behind writ (stdio: `--as A --server S -- command`; Streamable HTTP: "
      "`--listen 127.0.0.1:PORT --upstream URL --server S`): every tools/call is decided, held for approval or refused");
  mcp->add_option("--as", options->agent, "the agent whose calls these are (stdio)");
  mcp->add_option("--server", options->server, "the tool server's name in policies (Writ::ToolServer)")->required();
  mcp->add_option("--approval-timeout", options->approval_timeout, "how long a call waits for approval (e.g. 120s, 5m)")
      ->capture_default_str();
  mcp->add_option("--max-message-bytes", options->max_message_bytes, "largest JSON-RPC message relayed either way")
      ->capture_default_str();
  mcp->add_option("command", options->command, "the MCP server command, after -- (stdio)");
  mcp->add_option("--listen", options->listen, "serve Streamable HTTP on this host:port (loopback) instead of stdio");
  mcp->add_option("--upstream", options->upstream, "the MCP server's Streamable HTTP URL (with --listen)");
  mcp->add_option("--allow-origin", options->allowed_origins, "also accept browser requests from this Origin (repeatable)");
  mcp->add_option("--audience", options->audience, "agent tokens must carry this audience (with --listen)");
  mcp->add_option("--token-recheck", options->token_recheck,
                  "how long a checked agent token is trusted before writd is asked again (with --listen)")
      ->capture_default_str();
  mcp->add_flag("--allow-remote", options->allow_remote, "allow a non-loopback --listen address");
  mcp->callback([&global, action, options] {
    *action = [&global, options](std::ostream&, std::ostream& err) {
      auto timeout = ParseDuration(options->approval_timeout);
      if (!timeout) {
        err << "writ: --approval-timeout: " << timeout.error().message << '\n';
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
      if (options->agent.empty() || options->command.empty()) {
        err << "writ: mcp needs --as <agent> and the server command after -- (or --listen and --upstream)\n";
        return 2;
      }
      auto decisions = gateway::NewAuthzenClient(WritdTransport(ResolveSocketPath(global.socket)));
      auto exit_code = gateway::RunStdioProxy({.agent = options->agent,
                                               .server_name = options->server,
                                               .command = options->command,
                                               .decisions = decisions.get(),
                                               .max_message_bytes = options->max_message_bytes,
                                               .approval_timeout = *timeout},
                                              STDIN_FILENO, STDOUT_FILENO);
      if (!exit_code) {
        err << "writ: " << exit_code.error().message << '\n';
        return 1;
      }
      return *exit_code;
    };
  });
}

}  // namespace writ::cli
