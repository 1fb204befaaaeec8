// The MCP stdio enforcement point behind `writ mcp --as <agent> --server <name> -- <command...>`.
// It starts the MCP server as a child process and relays newline-delimited JSON-RPC both ways
// (requests, responses, notifications, and server-to-client requests such as roots/list, sampling
// and elicitation), except that:
//   - tools/call is decided first (DecisionClient): allow -> forwarded; deny -> JSON-RPC error
//     -32001 with the reason and policy ids; approval required -> held until the approval is
//     granted (then re-decided and forwarded), denied or timed out; no decision -> -32603, never
//     forwarded. The result of a forwarded call carries `_meta["writ/correlation_id"]`.
//   - a tools/list result keeps only the tools the agent may call (allow or approval-required).
// Up to options.max_concurrent_calls tools/call are decided at once; other messages from the client
// keep their order. A call cancelled (notifications/cancelled) before it was forwarded is not
// forwarded. Every intercepted call's outcome goes to DecisionClient::RecordOutcome once the client
// has its answer. Errors from the proxy itself use the request's id, or null when it cannot be read.
#pragma once
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "common/result.h"
#include "gateway/decision.h"
#include "gateway/interceptor.h"  // the JSON-RPC error codes and kCorrelationMetaKey

namespace writ::gateway {

struct StdioProxyOptions {
  std::string agent;                 // the principal: Writ::Agent::"<agent>"
  std::string server_name;           // Writ::ToolServer::"<server_name>"; tools are "<server_name>/<tool>"
  std::vector<std::string> command;  // the MCP server to start (argv)
  DecisionClient* decisions = nullptr;  // borrowed; must outlive the call. REQUIRES: not null
  size_t max_message_bytes = 4 << 20;   // a longer line either way is refused (client) or dropped (server)
  size_t max_argument_bytes = 64 << 10;  // tools/call arguments larger than this are not decided: denied
  std::chrono::milliseconds approval_timeout{120'000};  // how long a call waits for a grant
  std::chrono::milliseconds approval_poll{1'000};       // one wait request to writd lasts at most this
  std::chrono::milliseconds shutdown_grace{2'000};      // after stdin closes, then after SIGTERM
  size_t max_concurrent_calls = 4;  // tools/call decided at once (each thread keeps its own writd connection)
};

// Runs the proxy between the client (`client_in` to read, `client_out` to write; not closed) and
// the server it starts, until the client closes its side or the server exits. Either way the
// server is stopped (stdin closed, then SIGTERM, then SIGKILL) and reaped before returning.
// Returns the server's exit code (128 + signal when it was killed).
// Errors: kInvalidArgument for bad options; kFailedPrecondition when the server cannot be started.
Result<int> RunStdioProxy(const StdioProxyOptions& options, int client_in, int client_out);

}  // namespace writ::gateway
