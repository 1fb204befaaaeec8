// What MCP enforcement points (`writ mcp`) report to writd besides decisions:
//   POST /v1/mcp/outcomes   {"outcomes":[{correlation_id, agent, server, tool, status, is_error?,
//                           duration_us?, approval_id?}, ...]}  (1 to kMaxOutcomesPerRequest items)
//                           -> 202 {"accepted":N} once every event is queued in the ledger (it is
//                           committed with the next batch; a later store failure is logged by writd).
// Each item becomes one `tool_call_outcome` ledger event under the call's correlation id, beside
// the decision writd recorded for it: actor and subject Writ::Agent::"<agent>", action
// Writ::Action::"mcp:call", resource Writ::Tool::"<server>/<tool>", details {status, is_error,
// duration_us, approval_id?}. `status` is one of "ok" (the server answered with a result), "error"
// (a JSON-RPC error), "failed" (no answer: crash, oversized answer), "denied" (not called) and
// "cancelled" (the client gave up while the call waited for approval).
// Callers: a writ token (`Authorization: Bearer`, any transport) whose agent must be every item's
// agent; or, without a token, a Unix-socket peer (the same trust as the AuthZEN routes).
// Format and errors: docs/mcp.md.
#pragma once
#include <cstddef>

#include "server/authz_api.h"
#include "server/router.h"

namespace writ::ledger {
class Ledger;
}

namespace writ::server {

inline constexpr size_t kMaxOutcomesPerRequest = 256;

// Adds the route above. `ledger` and `pdp` are borrowed and must outlive `router`.
void AddMcpRoutes(Router& router, ledger::Ledger& ledger, const PdpAccess& pdp);

}  // namespace writ::server
