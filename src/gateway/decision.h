// The gateway's view of the decision service: what the MCP proxy asks before a tool runs, and what
// it reports once the tool has answered. The real implementation speaks AuthZEN to writd
// (gateway/authzen_client.h); tests use a fake of this interface.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/result.h"

namespace writ::gateway {

enum class Verdict : uint8_t { kAllow, kDeny, kApprovalRequired };

// "allow", "deny" or "approval_required".
std::string_view VerdictName(Verdict verdict);

// One MCP tools/call as the decision service sees it: principal Writ::Agent::"<agent>", action
// Writ::Action::"mcp:call", resource Writ::Tool::"<server>/<tool>" (server Writ::ToolServer::"<server>").
struct ToolCall {
  std::string agent;
  std::string server;
  std::string tool;
  json::Value arguments;       // the call's arguments (an object), already bounded by the proxy
  // The same arguments as JSON text, when the proxy has already written them (it measures them
  // against its limit): the decision request then carries this text instead of writing them again.
  // Empty: written from `arguments`.
  std::string arguments_json;
  std::string correlation_id;  // UUIDv7; the same for the decision, the wait and the outcome
  // The calling agent's writ token (a secret: never logged, never in the ledger). When set, every
  // request to writd about this call (decision, approval wait, outcome) carries it, so writd holds
  // the call to that token's agent; the Streamable HTTP proxy sets it per call because it serves
  // several agents. Empty: the client's own credentials (the stdio proxy's token source).
  std::string token;
};

struct Decision {
  Verdict verdict = Verdict::kDeny;  // fail closed
  std::string reason;                // a human sentence; may be empty for an allow
  std::vector<std::string> policies;  // the determining policy ids
  std::string approval_id;           // set when verdict is kApprovalRequired
};

// What happened to an approval request while waiting on it.
enum class ApprovalState : uint8_t { kPending, kGranted, kDenied, kExpired };

// What became of an intercepted call, for the audit record (ledger kind `tool_call_outcome`).
struct CallOutcome {
  // "ok" (the server answered with a result), "error" (a JSON-RPC error), "failed" (no answer),
  // "denied" (not called: denied, approval denied or timed out) or "cancelled" (the client gave up
  // while the call waited for approval).
  std::string status;
  bool is_error = false;  // the result's isError
  std::chrono::microseconds duration{0};  // from forwarding the call to the server's answer
  std::string approval_id;                // set when the call waited for an approval
};

// What the caller of DecideWatching also waits for while its decision is on the way: when `fd` turns
// readable (or hangs up), `on_readable` runs once, on the deciding thread. The stdio proxy uses it to
// let another thread read the client only when the client has sent more, instead of waking one for
// every call.
struct WhileDeciding {
  int fd = -1;
  std::function<void()> on_readable;
};

// Thread-safe: the proxy calls it from several threads.
class DecisionClient {
 public:
  virtual ~DecisionClient() = default;

  // The decision for `call`. A deny is a Decision, not an error.
  // Errors: kUnavailable when writd cannot be reached or fails; the caller must not forward.
  virtual Result<Decision> Decide(const ToolCall& call) = 0;

  // As Decide, and runs `watch.on_readable` (at most once) if `watch.fd` turns readable before the
  // decision is in. This default runs it at once, then decides.
  virtual Result<Decision> DecideWatching(const ToolCall& call, WhileDeciding& watch) {
    if (watch.on_readable) watch.on_readable();
    return Decide(call);
  }

  // Decisions for listing `tools` of `server` to `agent` (no arguments; context {"tools_list":true}),
  // in the order of `tools`; `token`, when not empty, is the agent's own (as ToolCall::token).
  // Errors: as Decide.
  virtual Result<std::vector<Decision>> DecideList(std::string_view agent, std::string_view server,
                                                   const std::vector<std::string>& tools, std::string_view token) = 0;

  // Waits at most `timeout` for approval request `approval_id` of `call` to be decided and returns
  // its state (kPending when the time ran out). Errors: kUnavailable, kNotFound.
  virtual Result<ApprovalState> WaitForApproval(const ToolCall& call, std::string_view approval_id,
                                                std::chrono::milliseconds timeout) = 0;

  // Records what became of `call` under its correlation id. Must not delay the caller (the call's
  // answer goes to the client right after); an outcome that cannot be recorded is logged as an error.
  virtual void RecordOutcome(const ToolCall& call, const CallOutcome& outcome) = 0;
};

}  // namespace writ::gateway
