// The decision service's HTTP API.
// AuthZEN Authorization API 1.0 (any authenticated caller: a Unix-socket peer, or a TCP caller
// presenting the configured PDP API key or a valid writ token; docs/authzen.md). A caller that
// presents a writ token (on either transport) must present a valid one, and may ask only about its
// own agent as a `Writ::Agent` subject (403 otherwise):
//   POST /access/v1/evaluation          POST /access/v1/evaluations
//   POST /access/v1/search/subject      POST /access/v1/search/resource     POST /access/v1/search/action
//   GET  /.well-known/authzen-configuration
// With AuthzenServing::recorder, evaluation and evaluations are asynchronous routes: the decisions
// are queued in the ledger and the answer is sent once they are durable, without holding an I/O
// thread (server/decision_recorder.h); a decision the ledger refuses is answered deny.
// With AuthzenServing::metrics, also (same callers as AuthZEN; docs/metrics.md):
//   GET  /metrics                       Prometheus text: decisions by outcome, time per decision
// Policy sets (administrators only, server/admin.h, then the admin policy set: authz/admin_guard.h,
// actions `Writ::Action::"policy:apply"`, `"policy:read"`, `"policy:activate"` (context
// `version_author`, for a two-person rule), `"policy:rollback"` on `Writ::Admin::"policies"`):
//   POST /v1/policies                   {files:{name:text}, reason?, activate?} -> new version
//   GET  /v1/policies                   versions and the active one
//   GET  /v1/policies/{version}         one version with its files
//   GET  /v1/policies/diff?from=&to=    unified diff of two versions
//   POST /v1/policies/{version}/activate {reason?}
//   POST /v1/policies/rollback          {reason?}
// Shadow evaluation (`"policy:stage"`; the report is `"policy:read"`; apply takes `stage?` too):
//   POST /v1/policies/{version}/stage   {reason?}  evaluate beside the active set -> report
//   POST /v1/policies/unstage           {reason?}  stop -> the final report
//   GET  /v1/policies/shadow            agree/disagree counts and recent disagreements
#pragma once
#include <functional>
#include <string>
#include <string_view>

#include "server/admin.h"
#include "server/decision_recorder.h"
#include "server/metrics.h"
#include "server/router.h"

namespace writ::authz {
class Engine;
class ApprovalGate;
class AdminGuard;
}  // namespace writ::authz
namespace writ::identity {
class Registry;
}

namespace writ::server {

struct PdpAccess {
  // TCP callers must send `Authorization: <key>` or `Authorization: Bearer <key>`. Empty: TCP
  // callers are refused (writ tokens are not accepted yet), Unix-socket peers are always accepted.
  std::string api_key;
  // Verifies a writ token sent as `Authorization: Bearer <token>` and returns what policies see as
  // `context.writ.caller` (agent, sub, jti, task, scope, delegation). Empty: tokens are refused.
  std::function<Result<json::Value>(std::string_view token)> verify_token;
};

struct AuthzenServing {
  // The engine's recorder, when it is this DecisionRecorder: decisions are deferred (above).
  DecisionRecorder* recorder = nullptr;
  // Where the time per decision is observed, and what GET /metrics shows.
  DecisionMetrics* metrics = nullptr;
};

// Adds the routes above. Everything passed is borrowed and must outlive `router`.
void AddAuthzRoutes(Router& router, authz::Engine& engine, authz::ApprovalGate* gate, identity::Registry& registry,
                    const AdminAccess& admin, const authz::AdminGuard& guard, const PdpAccess& pdp,
                    AuthzenServing serving = {});

}  // namespace writ::server
