// The decision service's core: the versioned policy sets (apply, activate, roll back) and the
// decision itself (request -> Cedar request -> allow / deny / approval-required, with the
// determining policy ids), recorded before it is returned.
//
// Thread safety: Decide and snapshot() are safe from any thread and take no lock: they read the
// active Snapshot through an atomic shared pointer, swapped whole by Activate. Apply/Activate/
// Rollback are serialised by an internal mutex.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "authz/policy_set.h"
#include "cedar/entities.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/mutex.h"
#include "common/result.h"
#include "ledger/event.h"

namespace writ::identity {
class Registry;
}
namespace writ::store {
class PolicyStore;
}

namespace writ::authz {

// Where decisions and policy changes are recorded before they take effect. The writd wiring
// appends to the ledger (LedgerRecorder); a failure makes the decision a deny.
class Recorder {
 public:
  virtual ~Recorder() = default;
  // Returns once `event` is recorded with the configured durability. Errors: any; the caller denies.
  virtual Status Record(ledger::Event event) = 0;
};

// Checks a policy set before it can be activated (the strict Cedar validator, when wired).
// Errors: kInvalidArgument with the validator's message.
using ValidationHook = std::function<Status(const PolicySource& source, const Snapshot& compiled)>;

struct EngineOptions {
  const Clock* clock = nullptr;             // borrowed; nullptr = SystemClock()
  identity::Registry* registry = nullptr;   // borrowed; principals of type Writ::Agent / Writ::Human
  store::PolicyStore* store = nullptr;      // borrowed; REQUIRED for Apply/Activate/Load
  Recorder* recorder = nullptr;             // borrowed; nullptr = decisions are not recorded
  ValidationHook validate;                  // empty = only parse checks
};

enum class Outcome : uint8_t { kDeny, kAllow, kApprovalRequired };
std::string_view OutcomeName(Outcome outcome);  // "deny", "allow", "approval_required"

struct DecisionRequest {
  cedar::EntityUid principal;
  cedar::EntityUid action;
  cedar::EntityUid resource;
  json::Value context;                 // an object, or null (empty)
  // Entities the caller supplies (e.g. AuthZEN `properties`); their attributes override the stored
  // entity's attributes of the same name; parents are added to the stored ones.
  std::vector<cedar::Entity> entities;
  json::Value caller;                  // the authenticated caller (token claims), or null: context.writ.caller
  std::string correlation_id;          // e.g. the HTTP request id
  bool record = true;                  // false for search candidates (the search itself is recorded)
};

struct DecisionResult {
  Outcome outcome = Outcome::kDeny;
  std::vector<std::string> policy_ids;  // determining policies
  std::vector<std::string> errors;      // "policy `p`: type_error: ..."
  std::string reason;                   // why, for a deny without a forbid (non-active principal, failure)
  int64_t policy_version = 0;
  ApprovalSpec approval;                // set when outcome is kApprovalRequired
};

// Reserved context member holding what writd adds: `context.writ.time` (datetime) and, with a
// token, `task`, `scope`, `delegation` (see docs/authzen.md).
inline constexpr std::string_view kWritContextKey = "writ";

class Engine {
 public:
  // Errors: kInvalidArgument without a store.
  static Result<std::unique_ptr<Engine>> Create(const EngineOptions& options);
  ~Engine();

  // Activates the last activated stored version (if any), compiling it. Call once before serving.
  // Errors: kUnavailable (store), kDataLoss (a stored version no longer compiles).
  Status Load();

  // Compiles `source`, runs the validation hook, and stores it as a new immutable version.
  // Errors: kInvalidArgument (parse/validation, message names file:line:col); kUnavailable (store).
  Result<VersionInfo> Apply(const PolicySource& source, const std::string& author, const std::string& reason);
  // Makes `version` active (recorded first, then stored, then swapped in). Errors: kNotFound;
  // kUnavailable (store or recorder: nothing changes).
  Result<VersionInfo> Activate(int64_t version, const std::string& author, const std::string& reason);
  // Activates the version that was active before the current one. Errors: kFailedPrecondition
  // when there is none; else as Activate.
  Result<VersionInfo> Rollback(const std::string& author, const std::string& reason);

  Result<std::vector<VersionInfo>> List() const;
  Result<PolicySource> Source(int64_t version) const;  // Errors: kNotFound; kUnavailable
  // The active version's number (0 before the first activation).
  int64_t active_version() const { return snapshot()->info.version; }

  // The decision. Never fails: every failure is a deny with a reason.
  DecisionResult Decide(const DecisionRequest& request) const;
  // The same against a given snapshot (search evaluates many candidates on one snapshot).
  DecisionResult Decide(const DecisionRequest& request, const Snapshot& snapshot) const;

  std::shared_ptr<const Snapshot> snapshot() const { return active_.load(std::memory_order_acquire); }
  const Clock& clock() const { return options_.clock != nullptr ? *options_.clock : SystemClock(); }
  identity::Registry* registry() const { return options_.registry; }

  // Records a non-decision event through the recorder (policy changes, approvals). Ok when no
  // recorder is configured. Errors: from the recorder.
  Status RecordEvent(ledger::Event event) const;

 private:
  explicit Engine(const EngineOptions& options);
  DecisionResult DecideUnchecked(const DecisionRequest& request, const Snapshot& snapshot) const;
  Result<std::shared_ptr<const Snapshot>> CompileVersion(int64_t version) const;

  EngineOptions options_;
  std::atomic<std::shared_ptr<const Snapshot>> active_;
  Mutex admin_mu_;  // serialises Apply/Activate/Rollback
};

}  // namespace writ::authz
