#include "server/admin.h"

#include <algorithm>

#include <fmt/format.h>

#include "identity/registry.h"

namespace writ::server {
namespace {

constexpr int64_t kHumansScannedForUid = 1000;

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

}  // namespace writ::server
