// Who may administer writd, in two steps. RequireAdmin: a local caller on the Unix socket whose
// uid is one of the configured administrator uids. AuthorizeAdmin: that, and then the admin policy
// set (authz/admin_guard.h) must permit the administrative action. Every admin route asks one of
// them first; anyone else gets 403.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "server/http.h"

namespace writ::identity {
class Registry;
}
namespace writ::authz {
class AdminGuard;
}

namespace writ::server {

struct AdminAccess {
  std::vector<uint32_t> uids;  // administrators; writd's own uid by default (see config)
  // The admin policy set (borrowed; it records its denials). nullptr = the shipped default
  // policies (administrators may do everything), denials not recorded.
  const authz::AdminGuard* guard = nullptr;
};

// The author name recorded for changes made by the caller of `request`: the name of the human
// whose `uid` is the caller's, else "uid:<n>".
// Errors: kPermissionDenied unless the caller is a Unix-socket peer with an administrator uid
// (TCP callers have no verified uid, so they are refused until they bring a token).
Result<std::string> RequireAdmin(const Request& request, const AdminAccess& access, identity::Registry& registry);

// One administrative action: `Writ::Action::"<action>"` on `Writ::Admin::"<resource>"`, with
// `context` (an object, or null) for the policies to see (e.g. the target identity).
struct AdminAction {
  std::string_view action;    // e.g. "identity:revoke"
  std::string_view resource;  // e.g. "identities"
  json::Value context;
};

// RequireAdmin, then the admin policy set on `what`. Returns the author (as RequireAdmin).
// Errors: kPermissionDenied from either step; the policy denial names the determining policies.
Result<std::string> AuthorizeAdmin(const Request& request, const AdminAccess& access, identity::Registry& registry,
                                   const AdminAction& what);
// The second step alone, for `author` as returned by RequireAdmin (when the route must read the
// request between the two steps). Errors: kPermissionDenied; kInternal if the default policies do
// not compile.
Status AuthorizeAdminAs(const std::string& author, const AdminAccess& access, const AdminAction& what);

}  // namespace writ::server
