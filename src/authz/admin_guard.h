// Self-governed administration: writd's admin routes ask this guard, a Cedar policy set of its own,
// whether the caller may do an administrative action (`Writ::Action::"policy:activate"`, ...).
// The caller is `Writ::Human::"<name>"` when the uid maps to a human, else `Writ::LocalUser::"<uid>"`;
// callers that are configured administrators are members of `Writ::Group::"administrators"`.
// The shipped default lets the local administrators do everything, and nobody else anything.
// Actions and resources: docs/authzen.md ("Self-governed administration"). Denials are recorded
// (a `decision` event with the determining policy ids) when a Recorder is given.
//
// Immutable after Create; safe from any thread.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "authz/engine.h"
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
  // Compiles `policies` (Cedar text with `@id` on every policy). `recorder` (borrowed, may be
  // null) receives an event for every denial. Errors: kInvalidArgument.
  static Result<std::unique_ptr<AdminGuard>> Create(std::string_view policies = kDefaultAdminPolicies,
                                                    Recorder* recorder = nullptr);

  // Ok when the admin policies permit `caller` to do `action` (e.g. "policy:activate") on
  // `Writ::Admin::"<resource>"` with `context` (an object, or null). Errors: kPermissionDenied
  // naming the action and the determining policies (or the evaluation errors); the denial is
  // recorded first (a recorder failure does not turn it into an allow).
  Status Authorize(const AdminCaller& caller, std::string_view action, std::string_view resource,
                   const json::Value& context = json::Value()) const;

 private:
  AdminGuard(std::shared_ptr<const Snapshot> snapshot, Recorder* recorder)
      : snapshot_(std::move(snapshot)), recorder_(recorder) {}
  Status Deny(const AdminCaller& caller, std::string_view action, std::string_view resource,
              const json::Value& context, std::vector<std::string> policy_ids, std::string why) const;

  std::shared_ptr<const Snapshot> snapshot_;
  Recorder* recorder_;
};

}  // namespace writ::authz
