// The admin JSON API of the identity registry:
//   POST   /v1/identities                              create   (body: identity, optional "reason")
//   GET    /v1/identities?kind=&state=&owner=&tier=&after=&limit=   list (paged: "next" cursor)
//   GET    /v1/identities/{kind}/{name}                 get
//   PATCH  /v1/identities/{kind}/{name}                 update   (body: fields, optional "reason",
//                                                                 "expected_version")
//   POST   /v1/identities/{kind}/{name}/{transition}    suspend | resume | revoke | retire
//                                                                (optional body {"reason"})
//   GET    /v1/identities/{kind}/{name}/history         every version, oldest first
// Every route requires an administrator whom the admin policy set permits the action
// (server/admin.h): `Writ::Action::"identity:create"`, `"identity:read"`, `"identity:update"`,
// `"identity:suspend"`, `"identity:resume"`, `"identity:revoke"`, `"identity:retire"` on
// `Writ::Admin::"identities"`, context {kind, name} (not for list). Formats: docs/identity.md.
#pragma once
#include "server/admin.h"
#include "server/router.h"

namespace writ::identity {
class Registry;
}

namespace writ::server {

// Adds the routes above. `registry` and `access` are borrowed: they must outlive `router`.
void AddIdentityRoutes(Router& router, identity::Registry& registry, const AdminAccess& access);

}  // namespace writ::server
