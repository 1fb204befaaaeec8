#include "server/admin.h"

#include <algorithm>

#include <fmt/format.h>

#include "authz/admin_guard.h"
#include "identity/registry.h"

namespace writ::server {
namespace {

constexpr int64_t kHumansScannedForUid = 1000;

// The shipped default policies, compiled once. Errors: kInternal if they do not compile (a bug).
Result<const authz::AdminGuard*> DefaultGuard() {
  static const Result<std::unique_ptr<authz::AdminGuard>> guard = authz::AdminGuard::Create();
  if (!guard) return Fail(Code::kInternal, fmt::format("the default admin policies do not compile: {}", guard.error().message));
  return guard->get();
}

}  // namespace

Result<std::string> RequireAdmin(const Request& request, const AdminAccess& access, identity::Registry& registry) {
  if (request.peer.transport != Transport::kUnix || !request.peer.uid) {
    return Fail(Code::kPermissionDenied, "administration needs a local caller on writd's Unix socket");
  }
  const uint32_t uid = *request.peer.uid;
  if (std::find(access.uids.begin(), access.uids.end(), uid) == access.uids.end()) {
    return Fail(Code::kPermissionDenied, fmt::format("uid {} is not a writ administrator", uid));
  }
  // Administrators are few and humans are a small table: one page is enough to find the mapping.
  auto humans = registry.List({.kind = identity::Kind::kHuman, .state = identity::State::kActive,
                               .limit = kHumansScannedForUid});
  if (humans) {
    for (const identity::Identity& human : *humans) {
      if (human.uid == uid) return human.name;
    }
  }
  return fmt::format("uid:{}", uid);
}

Result<std::string> AuthorizeAdmin(const Request& request, const AdminAccess& access, identity::Registry& registry,
                                   const AdminAction& what) {
  WRIT_ASSIGN_OR_RETURN(std::string author, RequireAdmin(request, access, registry));
  WRIT_RETURN_IF_ERROR(AuthorizeAdminAs(author, access, what));
  return author;
}

Status AuthorizeAdminAs(const std::string& author, const AdminAccess& access, const AdminAction& what) {
  const authz::AdminGuard* guard = access.guard;
  if (guard == nullptr) {
    WRIT_ASSIGN_OR_RETURN(guard, DefaultGuard());
  }
  return guard->Authorize({.name = author, .is_human = author.rfind("uid:", 0) != 0, .is_administrator = true},
                          what.action, what.resource, what.context);
}

}  // namespace writ::server
