// The transport-independent part of the MCP enforcement point, shared by the stdio proxy
// (gateway/stdio_proxy.h) and the Streamable HTTP proxy (gateway/http_proxy.h): deciding a
// tools/call before it reaches the server (allow, deny, wait for approval, or refuse when there is
// no decision), stamping and recording the server's answer, and filtering a tools/list result.
// Every refusal is a JSON-RPC error message ready to send to the client; nothing here does I/O
// other than through the DecisionClient.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/json.h"
#include "gateway/decision.h"
#include "gateway/json_scan.h"

namespace writ::gateway {

inline constexpr int kJsonRpcParseError = -32700;
inline constexpr int kJsonRpcInvalidRequest = -32600;
inline constexpr int kJsonRpcInvalidParams = -32602;
inline constexpr int kJsonRpcInternalError = -32603;
inline constexpr int kJsonRpcDenied = -32001;  // writ said no (deny, approval denied or timed out)

inline constexpr std::string_view kCorrelationMetaKey = "writ/correlation_id";

// A JSON-RPC error response for request `id` (null when it cannot be read); `data` is left out when null.
std::string JsonRpcError(const json::Value& id, int code, std::string_view message, json::Value data = {});

struct InterceptorOptions {
  std::string server_name;              // Writ::ToolServer::"<server_name>"; tools are "<server_name>/<tool>"
  DecisionClient* decisions = nullptr;  // borrowed; must outlive the Interceptor. REQUIRES: not null
  size_t max_argument_bytes = 64 << 10;  // tools/call arguments larger than this are not decided: denied
  std::chrono::milliseconds approval_timeout{120'000};  // how long a call waits for a grant
  std::chrono::milliseconds approval_poll{1'000};       // one wait request to writd lasts at most this
};

// What to do with one tools/call request.
struct CallCheck {
  enum class Next : uint8_t {
    kForward,        // send the request to the server as it is; `call` is what was decided
    kReply,          // send `reply` (a JSON-RPC error) to the client; the server never sees the call
    kAwaitApproval,  // `decision.approval_id` must be granted first: pass this to AwaitApproval
  };
  Next next = Next::kReply;
  ToolCall call;
  Decision decision;
  std::string reply;
};

// A forwarded call's answer as it goes to the client, and what became of the call.
struct FinishedCall {
  std::string message;
  CallOutcome outcome;
};

// Thread-safe (it only reads its options and calls the thread-safe DecisionClient).
class Interceptor {
 public:
  using SteadyClock = std::chrono::steady_clock;

  explicit Interceptor(InterceptorOptions options) : options_(std::move(options)) {}

  // Decides tools/call request `message` (an object; its id is `id`) for `agent`, whose own token
  // `token` (when not empty) goes with every request to writd about the call. Malformed params,
  // oversized arguments, a deny and a missing decision come back as kReply; blocks for one decision.
  // A refusal by writ (oversized arguments, deny) is recorded as outcome "denied". With `watch`,
  // the decision is asked through DecisionClient::DecideWatching; `watch->on_readable` has then run
  // (at most once) by the time this returns only if its fd turned readable, or the client could not watch it.
  CallCheck CheckCall(std::string_view agent, const json::Value& message, const json::Value& id,
                      std::string_view token = {}, WhileDeciding* watch = nullptr) const;

  // Waits (blocking, at most options.approval_timeout) for the approval of a kAwaitApproval check,
  // then decides again (a grant is consumed; a policy change still wins). Returns kForward or
  // kReply, or nullopt when `abandoned` (asked before each wait and before deciding again) says the
  // client no longer wants the answer (recorded as outcome "cancelled"); every refusal is recorded
  // as outcome "denied".
  std::optional<CallCheck> AwaitApproval(CallCheck check, const json::Value& id,
                                         const std::function<bool()>& abandoned) const;

  // The server's answer `message` to forwarded call `call`: a result gets
  // `_meta["writ/correlation_id"]`; the outcome (status, isError, duration since `forwarded`) is
  // recorded. Returns the message to relay to the client.
  // `approval_id` names the approval the call waited for, if any.
  std::string FinishCall(const ToolCall& call, SteadyClock::time_point forwarded, json::Value message,
                         std::string_view approval_id = {}) const;

  // As FinishCall, for the answer's raw text `message` whose top-level members ScanObject gave:
  // the bytes go out as they came, with only `"writ/correlation_id":"<id>"` spliced into
  // `result._meta` (created when absent); nothing else is re-serialised. An answer this cannot
  // splice safely (`_meta` not an object, or already holding the key) takes FinishCall's path.
  std::string FinishCallRaw(const ToolCall& call, SteadyClock::time_point forwarded, std::string_view message,
                            const std::vector<RawMember>& members, std::string_view approval_id = {}) const;

  // As FinishCallRaw without recording: the caller sends `message` first, then passes `outcome`
  // to RecordOutcome, so that the record's work is never between the server's answer and the client.
  FinishedCall StampCall(const ToolCall& call, SteadyClock::time_point forwarded, std::string_view message,
                         const std::vector<RawMember>& members, std::string_view approval_id = {}) const;

  // Records `outcome` of `call` (DecisionClient::RecordOutcome).
  void RecordOutcome(const ToolCall& call, const CallOutcome& outcome) const;

  // Records that forwarded call `call` got no answer from the server.
  void FailCall(const ToolCall& call, SteadyClock::time_point forwarded, std::string_view approval_id = {}) const;

  // Records that call `call`, allowed, was not forwarded because the client cancelled it meanwhile.
  void CancelCall(const ToolCall& call, std::string_view approval_id = {}) const;

  // The server's tools/list answer `message` to request `id`, keeping only the tools `agent` may
  // call (allow or approval required), decided with `token` as CheckCall. A message without
  // `result.tools` is returned unchanged; no decision gives a -32603 error instead of the list.
  std::string FilterList(std::string_view agent, const json::Value& id, json::Value message,
                         std::string_view token = {}) const;

  const InterceptorOptions& options() const { return options_; }

 private:
  FinishedCall StampParsed(const ToolCall& call, SteadyClock::time_point forwarded, json::Value message,
                           std::string_view approval_id) const;
  std::string Denied(const json::Value& id, const ToolCall& call, const Decision& decision,
                     std::string_view message) const;

  const InterceptorOptions options_;
};

}  // namespace writ::gateway
