// The approvals HTTP API (docs/authzen.md, "Approvals"):
//   GET  /v1/approvals?state=           administrators: approval requests, newest first
//   GET  /v1/approvals/{id}             administrators
//   POST /v1/approvals/{id}/grant       {for?: "15m", reason?}  the caller (a human mapped to an
//   POST /v1/approvals/{id}/deny        {reason?}                administrator uid) decides
//   POST /v1/approvals/{id}/wait        {timeout?: "30s"}  long-poll until decided (any local peer)
#pragma once
#include "server/admin.h"
#include "server/router.h"

namespace writ::approvals {
class Approvals;
}
namespace writ::identity {
class Registry;
}

namespace writ::server {

// Everything passed is borrowed and must outlive `router`.
void AddApprovalsRoutes(Router& router, approvals::Approvals& approvals, identity::Registry& registry,
                        const AdminAccess& admin);

}  // namespace writ::server
