// Self-governed administration: writd's admin routes ask this guard, a Cedar policy set of its own,
// whether the caller may do an administrative action (`Writ::Action::"policy:activate"`, ...).
// The caller is `Writ::Human::"<name>"` when the uid maps to a human, else `Writ::LocalUser::"<uid>"`;
// callers that are configured administrators are members of `Writ::Group::"administrators"`.
// The shipped default lets the local administrators do everything, and nobody else anything.
//
// Immutable after Create; safe from any thread.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "authz/policy_set.h"
#include "common/json.h"
#include "common/result.h"

namespace writ::authz {

// The default admin policy set (one policy, `@id("local-administrators")`).
extern const std::string_view kDefaultAdminPolicies;

struct AdminCaller {
  std::string name;            // a human's name, or "uid:<n>"
  bool is_human = false;       // name is a registered human
  bool is_administrator = false;  // a configured administrator uid
};

class AdminGuard {
 public:
  // Compiles `policies` (Cedar text with `@id` on every policy). Errors: kInvalidArgument.
  static Result<std::unique_ptr<AdminGuard>> Create(std::string_view policies = kDefaultAdminPolicies);

  // Ok when the admin policies permit `caller` to do `action` (e.g. "policy:activate") on
  // `Writ::Admin::"<resource>"` with `context`. Errors: kPermissionDenied naming the action and
  // the deciding policies (or the evaluation errors).
  Status Authorize(const AdminCaller& caller, std::string_view action, std::string_view resource,
                   const json::Value& context = json::Value()) const;

 private:
  explicit AdminGuard(std::shared_ptr<const Snapshot> snapshot) : snapshot_(std::move(snapshot)) {}
  std::shared_ptr<const Snapshot> snapshot_;
};

}  // namespace writ::authz
