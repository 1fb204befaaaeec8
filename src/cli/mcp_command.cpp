#include "cli/mcp_command.h"

#include <unistd.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/connection.h"
#include "common/clock.h"
#include "gateway/authzen_client.h"
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

}  // namespace

void AddMcpCommand(CLI::App& app, const GlobalOptions& global, Action* action) {
  auto options = std::make_shared<McpOptions>();
  CLI::App* mcp = app.add_subcommand(
      "mcp", "run an MCP server (stdio) behind writ: every tools/call is decided, held for approval or refused");
  mcp->add_option("--as", options->agent, "the agent whose calls these are")->required();
  mcp->add_option("--server", options->server, "the tool server's name in policies (Writ::ToolServer)")->required();
  mcp->add_option("--approval-timeout", options->approval_timeout, "how long a call waits for approval (e.g. 120s, 5m)")
      ->capture_default_str();
  mcp->add_option("--max-message-bytes", options->max_message_bytes, "largest JSON-RPC message relayed either way")
      ->capture_default_str();
  mcp->add_option("command", options->command, "the MCP server command, after --")->required();
  mcp->callback([&global, action, options] {
    *action = [&global, options](std::ostream&, std::ostream& err) {
      auto timeout = ParseDuration(options->approval_timeout);
      if (!timeout) {
        err << "writ: --approval-timeout: " << timeout.error().message << '\n';
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
