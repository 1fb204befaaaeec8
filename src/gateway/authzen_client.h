// DecisionClient over writd's HTTP API (docs/authzen.md, docs/mcp.md): decisions through
// OpenID AuthZEN `POST /access/v1/evaluation(s)`, approval waits through
// `POST /v1/approvals/{id}/wait`, call outcomes through `POST /v1/mcp/outcomes`. HTTP itself is
// injected (the CLI passes writd's Unix-socket client), so this module stays free of Asio and of
// the server module.
//
// Outcomes leave the caller's thread at once: a sender thread posts them in batches (what queued
// within options.outcome_linger, or while the previous request was in flight), retries a failed
// request, and logs every
// outcome it could not record (with its correlation id) as an error. Destroying the client sends
// what is still queued, waiting at most options.outcome_flush_timeout. A batch holds the outcomes of
// one token only (ToolCall::token); a batch writd refuses as unauthenticated (the token expired or
// was revoked after its call ran) is sent once more with the transport's own credentials, so a call
// that ran is still recorded.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/decision.h"

namespace writ::gateway {

struct HttpReply {
  int status = 0;
  json::Value body;  // parsed JSON; null when the body was empty or not JSON
};

// Sends `method path` with `body`, JSON text (empty = no body), and returns the reply. `timeout` bounds the
// whole exchange; `request_id`, when not empty, goes out as X-Request-ID (writd records the decision
// under it); `token`, when not empty, goes out as `Authorization: Bearer <token>` instead of the
// transport's own credentials. Must be callable from several threads at once.
// Errors: kUnavailable / kDeadlineExceeded when writd cannot be reached or does not answer.
using HttpTransport = std::function<Result<HttpReply>(std::string_view method, std::string_view path,
                                                      std::string_view body, std::chrono::milliseconds timeout,
                                                      std::string_view request_id, std::string_view token)>;

struct AuthzenClientOptions {
  std::chrono::milliseconds decision_timeout{10'000};  // per evaluation request (and per outcome request)
  size_t max_list_batch = 1000;                        // tools per /access/v1/evaluations request
  size_t max_outcome_batch = 256;       // outcomes per /v1/mcp/outcomes request (writd's limit)
  size_t max_queued_outcomes = 10'000;  // beyond this, new outcomes are logged as lost, not queued
  int outcome_attempts = 3;             // tries per batch before its outcomes are logged as lost
  std::chrono::milliseconds outcome_retry_delay{200};     // before the second try; doubles after
  std::chrono::milliseconds outcome_flush_timeout{5'000};  // on destruction
  // How long the first queued outcome waits for others to share its request (fewer requests and
  // wake-ups for writd under load; the ledger gets the outcome this much later).
  std::chrono::milliseconds outcome_linger{10};
  // The transport waits through UnixHttpConnection, which serves a ScopedReadableWatch: then
  // DecideWatching hands its watch to the transport instead of running it at once.
  bool transport_serves_watch = false;
};

// The AuthZEN request body for `call` (exposed for tests and the docs).
json::Value EvaluationRequest(const ToolCall& call);

// The same body as JSON text, written directly (what Decide sends: no tree is built).
std::string EvaluationRequestText(const ToolCall& call);

// One item of a `POST /v1/mcp/outcomes` body, as JSON text written directly (no tree is built).
std::string OutcomeItemText(const ToolCall& call, const CallOutcome& outcome);

std::unique_ptr<DecisionClient> NewAuthzenClient(HttpTransport transport, AuthzenClientOptions options = {});

}  // namespace writ::gateway
