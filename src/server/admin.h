// Who may administer writd: a local caller on the Unix socket whose uid is one of the configured
// administrator uids. Every admin route asks RequireAdmin first; anyone else gets 403.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "server/http.h"

namespace writ::identity {
class Registry;
}

namespace writ::server {

struct AdminAccess {
  std::vector<uint32_t> uids;  // administrators; writd's own uid by default (see config)
};

// The author name recorded for changes made by the caller of `request`: the name of the human
// whose `uid` is the caller's, else "uid:<n>".
// Errors: kPermissionDenied unless the caller is a Unix-socket peer with an administrator uid
// (TCP callers have no verified uid, so they are refused until they bring a token).
Result<std::string> RequireAdmin(const Request& request, const AdminAccess& access, identity::Registry& registry);

}  // namespace writ::server
