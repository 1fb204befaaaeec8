// The decision service's core: the versioned policy sets (apply, activate, roll back, stage for
// shadow evaluation) and the decision itself (request -> Cedar request -> allow / deny /
// approval-required, with the determining policy ids), recorded before it is returned.
//
// Thread safety: Decide and snapshot() are safe from any thread and take no lock: they read the
// active Snapshot through an atomic shared pointer, swapped whole by Activate. With no shadow set
// staged, Decide pays one relaxed atomic load for shadow evaluation. Apply/Activate/Rollback/
// Stage/Unstage are serialised by an internal mutex.
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
#include "identity/identity.h"
#include "ledger/event.h"

namespace writ::identity {
class Registry;
}
namespace writ::store {
class PolicyStore;
}

namespace writ::authz {

// Where decisions and policy changes are recorded before they take effect. The writd wiring
// appends to the ledger (server::DecisionRecorder); a failure makes the decision a deny.
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
  const Clock* clock = nullptr;            // borrowed; nullptr = SystemClock()
  identity::Registry* registry = nullptr;  // borrowed; principals of type Writ::Agent / Writ::Human
  store::PolicyStore* store = nullptr;     // borrowed; REQUIRED for Apply/Activate/Load
  Recorder* recorder = nullptr;            // borrowed; nullptr = decisions are not recorded
  ValidationHook validate;  // extra checks after the strict Cedar validator (run when the set has a schema)
};

enum class Outcome : uint8_t { kDeny, kAllow, kApprovalRequired };
std::string_view OutcomeName(Outcome outcome);  // "deny", "allow", "approval_required"

struct DecisionRequest {
  cedar::EntityUid principal;
  cedar::EntityUid action;
  cedar::EntityUid resource;
  json::Value context;  // an object, or null (empty)
  // Entities the caller supplies (e.g. AuthZEN `properties`); their attributes override the stored
  // entity's attributes of the same name; parents are added to the stored ones.
  std::vector<cedar::Entity> entities;
  json::Value caller;          // the authenticated caller (token claims), or null: context.writ.caller
  std::string correlation_id;  // e.g. the HTTP request id
  bool record = true;          // false for search candidates (the search itself is recorded)
};

struct DecisionResult {
  Outcome outcome = Outcome::kDeny;
  std::vector<std::string> policy_ids;  // determining policies
  std::vector<std::string> errors;      // "policy `p`: type_error: ..."
  std::string reason;                   // why, for a deny without a forbid (non-active principal, failure)
  int64_t policy_version = 0;
  ApprovalSpec approval;  // set when outcome is kApprovalRequired
};

// A shadow decision that disagreed with the active one (ShadowReport::recent).
struct ShadowDisagreement {
  TimePoint time{};
  std::string principal, action, resource;  // Cedar uids as text
  Outcome active = Outcome::kDeny;
  Outcome shadow = Outcome::kDeny;
  std::vector<std::string> active_policy_ids;
  std::vector<std::string> shadow_policy_ids;
  std::string correlation_id;
};

// What shadow evaluation has seen since the staged version was staged.
struct ShadowReport {
  bool staged = false;
  VersionInfo info;  // the staged version (when staged)
  std::string staged_by;
  TimePoint staged_at{};
  uint64_t agreed = 0;  // same outcome as the active set
  uint64_t disagreed = 0;
  std::vector<ShadowDisagreement> recent;  // the last kShadowRecentKept disagreements, oldest first
};
inline constexpr size_t kShadowRecentKept = 20;
// {"staged", "version", "content_hash", "staged_by", "staged_at", "evaluated", "agreed", "disagreed",
//  "recent":[{"time", "principal", "action", "resource", "correlation_id",
//             "active":{"decision","policy_ids"}, "shadow":{...}}]} (docs/authzen.md).
json::Value ToJson(const ShadowReport& report);

// The registry kind behind a Cedar type: Writ::Agent, Writ::Human, Writ::Group; else nullopt.
std::optional<identity::Kind> RegistryKind(std::string_view type);

// Reserved context member holding what writd adds: `context.writ.time` (datetime) and, with a
// token, `task`, `scope`, `delegation` (see docs/authzen.md).
inline constexpr std::string_view kWritContextKey = "writ";

class Engine {
 public:
  // Errors: kInvalidArgument without a store.
  static Result<std::unique_ptr<Engine>> Create(const EngineOptions& options);
  ~Engine();

  // Activates the last activated stored version (if any), compiling it, and stages again the
  // version staged when writd stopped (its counts start from zero). Call once before serving.
  // Errors: kUnavailable (store), kDataLoss (a stored version no longer compiles).
  Status Load();

  // Compiles `source`, validates it (strict Cedar validation against its schema, when it has one;
  // then the hook), and stores it as a new immutable version. Activate validates again.
  // Errors: kInvalidArgument (parse, message names file:line:col); kFailedPrecondition (validation);
  // kUnavailable (store).
  Result<VersionInfo> Apply(const PolicySource& source, const std::string& author, const std::string& reason);
  // Makes `version` active (recorded first, then stored, then swapped in). Errors: kNotFound;
  // kUnavailable (store or recorder: nothing changes).
  Result<VersionInfo> Activate(int64_t version, const std::string& author, const std::string& reason);
  // Activates the version that was active before the current one. Errors: kFailedPrecondition
  // when there is none; else as Activate.
  Result<VersionInfo> Rollback(const std::string& author, const std::string& reason);

  // Stages `version` for shadow evaluation: every recorded decision is also evaluated against it,
  // without changing the answer; a disagreement (a different outcome) is counted and its decision
  // event carries `details.shadow` (decision and policy ids). Replaces a staged version and resets
  // the counts. Staging is stored: it lasts until Unstage, across restarts (Load). Recorded as a
  // policy change, then stored, then swapped in.
  // Errors: kNotFound; kFailedPrecondition (strict validation); kUnavailable (store or recorder).
  Result<VersionInfo> Stage(int64_t version, const std::string& author, const std::string& reason);
  // Stops shadow evaluation and returns its last report. Recorded as a policy change (with the counts).
  // Errors: kFailedPrecondition when nothing is staged; kUnavailable (recorder or store: still staged).
  Result<ShadowReport> Unstage(const std::string& author, const std::string& reason);
  ShadowReport shadow_report() const;

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
  struct Shadow;  // the staged snapshot and its counts (engine.cpp)

  explicit Engine(const EngineOptions& options);
  // DecideUnchecked, with every exception turned into a deny.
  DecisionResult Evaluate(const DecisionRequest& request, const Snapshot& snapshot) const;
  // Swaps in `compiled` as the staged set, with fresh counts. REQUIRES: admin_mu_ held.
  void StageCompiled(std::shared_ptr<const Snapshot> compiled, const std::string& author, TimePoint at);
  DecisionResult DecideUnchecked(const DecisionRequest& request, const Snapshot& snapshot) const;
  // Evaluates `request` against the staged set (if any) and counts; returns the `details.shadow`
  // member to record when the outcome differs from `active`, else null.
  json::Value ShadowCompare(const DecisionRequest& request, const DecisionResult& active) const;
  Result<std::shared_ptr<const Snapshot>> CompileVersion(int64_t version) const;
  Result<std::shared_ptr<const Snapshot>> CompileValidated(int64_t version) const;

  EngineOptions options_;
  std::atomic<std::shared_ptr<const Snapshot>> active_;
  // Checked (relaxed) before touching shadow_, so decisions without a staged set never load it.
  std::atomic<bool> shadow_staged_{false};
  std::atomic<std::shared_ptr<Shadow>> shadow_;
  Mutex admin_mu_;  // serialises Apply/Activate/Rollback/Stage/Unstage
};

}  // namespace writ::authz
