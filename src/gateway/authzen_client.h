// DecisionClient over writd's HTTP API (docs/authzen.md on branch authz): decisions through
// OpenID AuthZEN `POST /access/v1/evaluation(s)`, approval waits through
// `POST /v1/approvals/{id}/wait`. HTTP itself is injected (the CLI passes writd's Unix-socket
// client), so this module stays free of Asio and of the server module.
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

// Sends `method path` with a JSON body (null = no body) and returns the reply. `timeout` bounds the
// whole exchange; `request_id`, when not empty, goes out as X-Request-ID (writd records the decision
// under it). Must be callable from several threads at once.
// Errors: kUnavailable / kDeadlineExceeded when writd cannot be reached or does not answer.
using HttpTransport = std::function<Result<HttpReply>(std::string_view method, std::string_view path,
                                                      const json::Value& body, std::chrono::milliseconds timeout,
                                                      std::string_view request_id)>;

struct AuthzenClientOptions {
  std::chrono::milliseconds decision_timeout{10'000};  // per evaluation request
  size_t max_list_batch = 1000;                        // tools per /access/v1/evaluations request
};

// The AuthZEN request body for `call` (exposed for tests and the docs).
json::Value EvaluationRequest(const ToolCall& call);

std::unique_ptr<DecisionClient> NewAuthzenClient(HttpTransport transport, AuthzenClientOptions options = {});

}  // namespace writ::gateway
