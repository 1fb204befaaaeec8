// The audit ledger over HTTP:
//   GET /v1/audit/checkpoint                       latest signed checkpoint (C2SP note, text/plain)
//   GET /v1/audit/key                              the checkpoint verifier key (text/plain)
//   GET /v1/audit/proof/inclusion?id=…[&tree_size=N]   inclusion proof of one event
//   GET /v1/audit/proof/consistency?from=M&to=N     consistency proof between two tree sizes
//   GET /v1/audit/events?subject=&kind=&correlation_id=&from=&to=&after=&limit=   events (admin)
//   GET /v1/audit/export?…same filters…            every matching event as OCSF JSON lines (admin)
//   POST /v1/traces                                an agent attaches its reasoning to a correlation id
//                                                  (Authorization: Bearer <writ token>; body
//                                                  {"correlation_id","reasoning","trace_id"?}, ≤ 64 KiB)
// Checkpoints, the key and proofs carry only hashes and are open to any caller; events are for
// administrators. Hashes are standard base64 (as in checkpoints). Formats: docs/audit.md.
#pragma once
#include <functional>
#include <string>
#include <string_view>

#include "server/admin.h"
#include "server/router.h"

namespace writ::ledger {
class Ledger;
class NoteSigner;
}  // namespace writ::ledger

namespace writ::server {

// Checks a bearer token and returns the SPIFFE ID of the agent it was issued to.
// Errors: kUnauthenticated for any token that does not verify (expired, revoked, inactive agent…).
using AgentAuthenticator = std::function<Result<std::string>(std::string_view bearer_token)>;

// Adds the routes above. Everything is borrowed and must outlive `router`.
void AddAuditRoutes(Router& router, ledger::Ledger& ledger, const ledger::NoteSigner& signer,
                    identity::Registry& registry, const AdminAccess& access, AgentAuthenticator authenticate);

}  // namespace writ::server
