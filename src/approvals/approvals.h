// Human in the loop: approval requests created when a decision is approval-required, bound to
// (principal, action, resource, SHA-256 of the context); granted or denied by an allowed human
// (never the requesting identity); a grant lets the next matching request through once, or every
// matching request until its TTL ends. Pending requests expire. Every change is recorded through
// the engine's recorder (the ledger) and stored (store::PolicyStore approvals table).
//
// Thread-safe. Wait blocks the calling thread (at most the timeout it is given); WaitAsync does not
// (one internal thread answers every waiter), so a server's I/O threads never wait on a human.
#pragma once
#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "authz/authzen.h"
#include "authz/engine.h"
#include "common/clock.h"
#include "common/result.h"

namespace writ::store {
class PolicyStore;
}

namespace writ::approvals {

// Stored and shown by name: never rename.
enum class State : uint8_t { kPending, kGranted, kDenied, kExpired, kUsed };
std::string_view StateName(State state);

inline constexpr std::chrono::milliseconds kMaxGrantTtl{std::chrono::hours(24)};

struct Approval {
  std::string id;                 // UUIDv7
  State state = State::kPending;
  std::string principal;          // Cedar uids as text: `Writ::Agent::"triage-bot"`
  std::string action;
  std::string resource;
  std::string context_hash;       // hex SHA-256 of the request context's JSON
  std::string approvers;          // from @approvers: a Cedar group uid, or "" (any allowed human)
  std::vector<std::string> policy_ids;
  int64_t policy_version = 0;
  TimePoint created_at;
  TimePoint expires_at;           // pending requests expire then
  std::string decided_by;
  std::string reason;
  TimePoint decided_at;
  std::chrono::milliseconds grant_ttl{0};  // 0: allowed once
  TimePoint grant_expires_at;
};

json::Value ToJson(const Approval& approval);

struct ApprovalsOptions {
  const Clock* clock = nullptr;                                   // borrowed; nullptr = SystemClock()
  std::chrono::milliseconds pending_ttl{std::chrono::minutes(15)};  // a pending request expires after this
};

class Approvals final : public authz::ApprovalGate {
 public:
  // `store` and `engine` are borrowed and must outlive the object. Loads stored approvals.
  // Errors: kUnavailable (store).
  static Result<std::unique_ptr<Approvals>> Create(const ApprovalsOptions& options, store::PolicyStore& store,
                                                   authz::Engine& engine);

  // ApprovalGate: uses a matching grant (a once-grant becomes used), else returns the matching
  // pending request, else creates one. Errors: kUnavailable (store or ledger): the caller denies.
  Result<authz::ApprovalAnswer> Resolve(const authz::DecisionRequest& request, const authz::DecisionResult& result) override;

  // Newest first; only those in `state` when set.
  std::vector<Approval> List(std::optional<State> state) const;
  // Errors: kNotFound.
  Result<Approval> Get(const std::string& id) const;

  // `approver` is the name of a Writ::Human. Errors: kNotFound; kFailedPrecondition unless pending
  // (or it expired); kPermissionDenied if the approver is the requester, not an active human, not
  // in the request's approvers group, or not permitted `Writ::Action::"approval:grant"` by policy;
  // kInvalidArgument for a TTL above kMaxGrantTtl; kUnavailable (store, ledger: nothing changes).
  Result<Approval> Grant(const std::string& id, const std::string& approver, std::chrono::milliseconds ttl,
                         const std::string& reason);
  Result<Approval> Deny(const std::string& id, const std::string& approver, const std::string& reason);

  // Waits until the request is no longer pending, or `timeout` (real time) passes; returns it as it is then.
  // Errors: kNotFound; kUnavailable as WaitAsync.
  Result<Approval> Wait(const std::string& id, std::chrono::milliseconds timeout) const;

  // The same without blocking: calls `done` once with the request as it is when it is no longer
  // pending or `timeout` (real time) has passed. `done` runs on an internal thread, or on the
  // caller's before WaitAsync returns when the answer is already known; it must not call back into
  // this object's waits. Errors passed to `done`: kNotFound; kUnavailable when kMaxWaiters waits
  // are already under way (each holds a client connection: bounded, so no one can pile them up; the
  // client retries later) and for the waits still under way when the object is destroyed.
  using WaitDone = std::function<void(Result<Approval>)>;
  void WaitAsync(const std::string& id, std::chrono::milliseconds timeout, WaitDone done) const;
  static constexpr size_t kMaxWaiters = 1024;

  ~Approvals() override;
  Approvals(const Approvals&) = delete;
  Approvals& operator=(const Approvals&) = delete;

 private:
  struct Waiter {
    std::string id;
    std::chrono::steady_clock::time_point deadline;
    WaitDone done;
  };
  // Answers waiters whose request was decided or whose time ran out; sleeps until the next
  // deadline or change.
  void AnswerWaiters();
  bool PendingLocked(const std::string& id) const;  // REQUIRES: mu_ held
  Approvals(const ApprovalsOptions& options, store::PolicyStore& store, authz::Engine& engine);
  const Clock& clock() const { return options_.clock != nullptr ? *options_.clock : SystemClock(); }
  void ExpireLocked(Approval& approval) const;  // REQUIRES: mu_ held
  Status SaveLocked(const Approval& approval);  // REQUIRES: mu_ held
  Status CheckApprover(const Approval& approval, const std::string& approver, std::string_view action);
  Result<Approval> Decide(const std::string& id, const std::string& approver, bool grant,
                          std::chrono::milliseconds ttl, const std::string& reason);

  ApprovalsOptions options_;
  store::PolicyStore& store_;
  authz::Engine& engine_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::map<std::string, Approval> by_id_;  // guarded by mu_
  mutable std::list<Waiter> waiters_;       // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  std::thread waiter_thread_;               // runs AnswerWaiters; started last, joined first
};

}  // namespace writ::approvals
