#include "approvals/approvals.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/encoding.h"
#include "common/ids.h"
#include "crypto/hash.h"
#include "identity/registry.h"
#include "store/policy_store.h"

namespace writ::approvals {
namespace {

constexpr std::string_view kGroupPrefix = "Writ::Group::\"";

std::string ContextHash(const json::Value& context) {
  const std::string text = context.is_null() ? "{}" : json::Serialize(context);
  const crypto::Sha256Digest digest = crypto::Sha256(text);
  return HexEncode(std::span<const uint8_t>(digest.data(), digest.size()));
}

Result<State> ParseState(std::string_view name) {
  for (State state : {State::kPending, State::kGranted, State::kDenied, State::kExpired, State::kUsed}) {
    if (StateName(state) == name) return state;
  }
  return Fail(Code::kDataLoss, fmt::format("unknown approval state `{}`", name.substr(0, 32)));
}

Result<Approval> FromJson(const json::Value& doc) {
  if (!doc.is_object()) return Fail(Code::kDataLoss, "stored approval is not an object");
  auto text = [&](std::string_view key) -> std::string {
    const json::Value* value = doc.Find(key);
    return value != nullptr && value->is_string() ? value->as_string() : std::string();
  };
  auto millis = [&](std::string_view key) -> int64_t {
    const json::Value* value = doc.Find(key);
    return value != nullptr && value->is_int() ? value->as_int() : 0;
  };
  Approval approval;
  approval.id = text("id");
  WRIT_ASSIGN_OR_RETURN(approval.state, ParseState(text("state")));
  approval.principal = text("principal");
  approval.action = text("action");
  approval.resource = text("resource");
  approval.context_hash = text("context_hash");
  approval.approvers = text("approvers");
  if (const json::Value* ids = doc.Find("policy_ids"); ids != nullptr && ids->is_array()) {
    for (const auto& id : ids->as_array()) {
      if (id.is_string()) approval.policy_ids.push_back(id.as_string());
    }
  }
  approval.policy_version = millis("policy_version");
  approval.created_at = FromUnixMillis(millis("created_at_ms"));
  approval.expires_at = FromUnixMillis(millis("expires_at_ms"));
  approval.decided_by = text("decided_by");
  approval.reason = text("reason");
  approval.decided_at = FromUnixMillis(millis("decided_at_ms"));
  approval.grant_ttl = std::chrono::milliseconds(millis("grant_ttl_ms"));
  approval.grant_expires_at = FromUnixMillis(millis("grant_expires_at_ms"));
  return approval;
}

json::Value ToStored(const Approval& approval) {
  json::Value doc = ToJson(approval);
  doc.Set("created_at_ms", ToUnixMillis(approval.created_at));
  doc.Set("expires_at_ms", ToUnixMillis(approval.expires_at));
  doc.Set("decided_at_ms", ToUnixMillis(approval.decided_at));
  doc.Set("grant_ttl_ms", static_cast<int64_t>(approval.grant_ttl.count()));
  doc.Set("grant_expires_at_ms", ToUnixMillis(approval.grant_expires_at));
  return doc;
}

ledger::Event EventFor(const Approval& approval, ledger::EventKind kind, const std::string& actor) {
  ledger::Event event;
  event.kind = kind;
  event.actor = actor;
  event.subject = approval.principal;
  event.action = approval.action;
  event.resource = approval.resource;
  event.policy_ids = approval.policy_ids;
  event.policy_set_version = std::to_string(approval.policy_version);
  event.correlation_id = approval.id;
  event.details = json::Object{{"approval", approval.id}, {"state", StateName(approval.state)},
                               {"context_hash", approval.context_hash}};
  if (!approval.reason.empty()) event.details.Set("reason", approval.reason);
  if (approval.grant_ttl.count() > 0) event.details.Set("ttl", FormatDuration(approval.grant_ttl));
  return event;
}

}  // namespace

std::string_view StateName(State state) {
  switch (state) {
    case State::kPending: return "pending";
    case State::kGranted: return "granted";
    case State::kDenied: return "denied";
    case State::kExpired: return "expired";
    case State::kUsed: return "used";
  }
  return "pending";
}

json::Value ToJson(const Approval& approval) {
  json::Array policies;
  for (const auto& id : approval.policy_ids) policies.emplace_back(id);
  json::Value out = json::Object{{"id", approval.id},
                                 {"state", StateName(approval.state)},
                                 {"principal", approval.principal},
                                 {"action", approval.action},
                                 {"resource", approval.resource},
                                 {"context_hash", approval.context_hash},
                                 {"policy_ids", std::move(policies)},
                                 {"policy_version", approval.policy_version},
                                 {"created_at", FormatRfc3339(approval.created_at)},
                                 {"expires_at", FormatRfc3339(approval.expires_at)}};
  if (!approval.approvers.empty()) out.Set("approvers", approval.approvers);
  if (!approval.decided_by.empty()) {
    out.Set("decided_by", approval.decided_by);
    out.Set("decided_at", FormatRfc3339(approval.decided_at));
  }
  if (!approval.reason.empty()) out.Set("reason", approval.reason);
  if (approval.state == State::kGranted || approval.state == State::kUsed) {
    out.Set("grant", approval.grant_ttl.count() > 0 ? FormatDuration(approval.grant_ttl) : "once");
    if (approval.grant_ttl.count() > 0) out.Set("grant_expires_at", FormatRfc3339(approval.grant_expires_at));
  }
  return out;
}

Approvals::Approvals(const ApprovalsOptions& options, store::PolicyStore& store, authz::Engine& engine)
    : options_(options), store_(store), engine_(engine) {
  waiter_thread_ = std::thread([this] { AnswerWaiters(); });
}

Approvals::~Approvals() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  waiter_thread_.join();
  for (Waiter& waiter : waiters_) waiter.done(Fail(Code::kUnavailable, "writd is stopping"));
}

Result<std::unique_ptr<Approvals>> Approvals::Create(const ApprovalsOptions& options, store::PolicyStore& store,
                                                     authz::Engine& engine) {
  std::unique_ptr<Approvals> approvals(new Approvals(options, store, engine));
  WRIT_ASSIGN_OR_RETURN(const auto records, store.ListApprovals("", 100000));
  for (const auto& record : records) {
    WRIT_ASSIGN_OR_RETURN(const json::Value doc, json::Parse(record.document));
    WRIT_ASSIGN_OR_RETURN(Approval approval, FromJson(doc));
    approvals->by_id_.emplace(approval.id, std::move(approval));
  }
  return approvals;
}

void Approvals::ExpireLocked(Approval& approval) const {
  const TimePoint now = clock().Now();
  if (approval.state == State::kPending && now >= approval.expires_at) approval.state = State::kExpired;
  if (approval.state == State::kGranted && approval.grant_ttl.count() > 0 && now >= approval.grant_expires_at) {
    approval.state = State::kExpired;
  }
}

Status Approvals::SaveLocked(const Approval& approval) {
  return store_.PutApproval({approval.id, json::Serialize(ToStored(approval)), std::string(StateName(approval.state)),
                             ToUnixMillis(approval.created_at)});
}

Result<authz::ApprovalAnswer> Approvals::Resolve(const authz::DecisionRequest& request, const authz::DecisionResult& result) {
  const std::string principal = cedar::ToString(request.principal);
  const std::string action = cedar::ToString(request.action);
  const std::string resource = cedar::ToString(request.resource);
  const std::string hash = ContextHash(request.context);
  std::lock_guard<std::mutex> lock(mu_);
  Approval* pending = nullptr;
  for (auto& [id, approval] : by_id_) {
    if (approval.principal != principal || approval.action != action || approval.resource != resource ||
        approval.context_hash != hash) {
      continue;
    }
    ExpireLocked(approval);
    if (approval.state == State::kGranted) {
      if (approval.grant_ttl.count() == 0) {
        Approval used = approval;
        used.state = State::kUsed;
        WRIT_RETURN_IF_ERROR(engine_.RecordEvent(EventFor(used, ledger::EventKind::kApprovalGranted, principal)));
        WRIT_RETURN_IF_ERROR(SaveLocked(used));
        approval = std::move(used);
        changed_.notify_all();
      }
      return authz::ApprovalAnswer{.allowed = true, .ticket = json::Value()};
    }
    if (approval.state == State::kPending) pending = &approval;
  }
  auto ticket = [](const Approval& approval) {
    return json::Value(json::Object{{"id", approval.id},
                                    {"state", "pending"},
                                    {"expires_at", FormatRfc3339(approval.expires_at)},
                                    {"wait", fmt::format("/v1/approvals/{}/wait", approval.id)}});
  };
  if (pending != nullptr) return authz::ApprovalAnswer{.allowed = false, .ticket = ticket(*pending)};

  Approval approval;
  approval.id = NewUuidV7(clock());
  approval.principal = principal;
  approval.action = action;
  approval.resource = resource;
  approval.context_hash = hash;
  approval.approvers = result.approval.approvers;
  approval.policy_ids = result.policy_ids;
  approval.policy_version = result.policy_version;
  approval.created_at = clock().Now();
  approval.expires_at = approval.created_at + options_.pending_ttl;
  approval.grant_ttl = result.approval.ttl;
  WRIT_RETURN_IF_ERROR(engine_.RecordEvent(EventFor(approval, ledger::EventKind::kApprovalRequested, principal)));
  WRIT_RETURN_IF_ERROR(SaveLocked(approval));
  auto [it, inserted] = by_id_.emplace(approval.id, std::move(approval));
  changed_.notify_all();
  return authz::ApprovalAnswer{.allowed = false, .ticket = ticket(it->second)};
}

std::vector<Approval> Approvals::List(std::optional<State> state) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Approval> out;
  for (const auto& [id, stored] : by_id_) {
    Approval approval = stored;
    ExpireLocked(approval);
    if (!state || approval.state == *state) out.push_back(std::move(approval));
  }
  std::sort(out.begin(), out.end(), [](const Approval& a, const Approval& b) { return a.id > b.id; });
  return out;
}

Result<Approval> Approvals::Get(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return Fail(Code::kNotFound, fmt::format("no approval request `{}`", id.substr(0, 64)));
  Approval approval = it->second;
  ExpireLocked(approval);
  return approval;
}

Status Approvals::CheckApprover(const Approval& approval, const std::string& approver, std::string_view action) {
  const std::string approver_uid = cedar::ToString(cedar::EntityUid{"Writ::Human", approver});
  if (approver_uid == approval.principal) {
    return Fail(Code::kPermissionDenied, "the requesting identity cannot decide its own approval request");
  }
  identity::Registry* registry = engine_.registry();
  if (registry == nullptr) return Fail(Code::kPermissionDenied, "no identity registry to check the approver");
  auto human = registry->Get(identity::Kind::kHuman, approver);
  if (!human) {
    if (human.error().code == Code::kNotFound) {
      return Fail(Code::kPermissionDenied, fmt::format("approver `{}` is not a registered human", approver));
    }
    return Fail(human.error());
  }
  if (human->state != identity::State::kActive) {
    return Fail(Code::kPermissionDenied, fmt::format("approver `{}` is {}", approver, identity::StateName(human->state)));
  }
  if (!approval.approvers.empty()) {
    const std::string& group = approval.approvers;
    if (group.size() <= kGroupPrefix.size() + 1 || group.compare(0, kGroupPrefix.size(), kGroupPrefix) != 0 ||
        group.back() != '"') {
      return Fail(Code::kPermissionDenied, fmt::format("@approvers `{}` is not a Writ::Group uid", group));
    }
    const std::string name = group.substr(kGroupPrefix.size(), group.size() - kGroupPrefix.size() - 1);
    if (std::find(human->groups.begin(), human->groups.end(), name) == human->groups.end()) {
      return Fail(Code::kPermissionDenied, fmt::format("approver `{}` is not in {}", approver, group));
    }
  }
  authz::DecisionRequest check;
  check.principal = {"Writ::Human", approver};
  check.action = {"Writ::Action", std::string(action)};
  check.resource = {"Writ::Approval", approval.id};
  check.context = json::Object{{"requester", approval.principal}, {"action", approval.action}, {"resource", approval.resource}};
  check.correlation_id = approval.id;
  const authz::DecisionResult decided = engine_.Decide(check);
  if (decided.outcome != authz::Outcome::kAllow) {
    return Fail(Code::kPermissionDenied, fmt::format("policy does not permit `{}` to {} approval requests{}", approver,
                                                     action == "approval:grant" ? "grant" : "deny",
                                                     decided.reason.empty() ? "" : ": " + decided.reason));
  }
  return Ok();
}

Result<Approval> Approvals::Decide(const std::string& id, const std::string& approver, bool grant,
                                   std::chrono::milliseconds ttl, const std::string& reason) {
  if (ttl.count() < 0 || ttl > kMaxGrantTtl) {
    return Fail(Code::kInvalidArgument, fmt::format("a grant lasts at most {}", FormatDuration(kMaxGrantTtl)));
  }
  if (reason.size() > 1024) return Fail(Code::kInvalidArgument, "`reason` must be at most 1024 bytes");
  Approval snapshot;
  WRIT_ASSIGN_OR_RETURN(snapshot, Get(id));
  if (snapshot.state != State::kPending) {
    return Fail(Code::kFailedPrecondition, fmt::format("approval request `{}` is {}", id, StateName(snapshot.state)));
  }
  // The policy check runs without the lock (it may record a decision).
  WRIT_RETURN_IF_ERROR(CheckApprover(snapshot, approver, grant ? "approval:grant" : "approval:deny"));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return Fail(Code::kNotFound, fmt::format("no approval request `{}`", id));
  Approval updated = it->second;
  ExpireLocked(updated);
  if (updated.state != State::kPending) {
    return Fail(Code::kFailedPrecondition, fmt::format("approval request `{}` is {}", id, StateName(updated.state)));
  }
  const TimePoint now = clock().Now();
  updated.state = grant ? State::kGranted : State::kDenied;
  updated.decided_by = approver;
  updated.decided_at = now;
  updated.reason = reason;
  if (grant) {
    if (ttl.count() > 0) updated.grant_ttl = ttl;
    updated.grant_expires_at = now + updated.grant_ttl;
  }
  WRIT_RETURN_IF_ERROR(engine_.RecordEvent(
      EventFor(updated, grant ? ledger::EventKind::kApprovalGranted : ledger::EventKind::kApprovalDenied, approver)));
  WRIT_RETURN_IF_ERROR(SaveLocked(updated));
  it->second = updated;
  changed_.notify_all();
  return updated;
}

Result<Approval> Approvals::Grant(const std::string& id, const std::string& approver, std::chrono::milliseconds ttl,
                                  const std::string& reason) {
  return Decide(id, approver, true, ttl, reason);
}

Result<Approval> Approvals::Deny(const std::string& id, const std::string& approver, const std::string& reason) {
  return Decide(id, approver, false, std::chrono::milliseconds(0), reason);
}

bool Approvals::PendingLocked(const std::string& id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return false;
  Approval copy = it->second;
  ExpireLocked(copy);
  return copy.state == State::kPending;
}

void Approvals::WaitAsync(const std::string& id, std::chrono::milliseconds timeout, WaitDone done) const {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) {
    lock.unlock();
    return done(Fail(Code::kNotFound, fmt::format("no approval request `{}`", id.substr(0, 64))));
  }
  if (!PendingLocked(id) || timeout.count() <= 0) {
    Approval approval = it->second;
    ExpireLocked(approval);
    lock.unlock();
    return done(std::move(approval));
  }
  if (waiters_.size() >= kMaxWaiters || stopping_) {
    lock.unlock();
    return done(Fail(Code::kUnavailable, stopping_ ? std::string("writd is stopping")
                                                   : fmt::format("more than {} approval waits at once; retry later", kMaxWaiters)));
  }
  waiters_.push_back({id, std::chrono::steady_clock::now() + timeout, std::move(done)});
  lock.unlock();
  changed_.notify_all();  // the waiter thread may sleep past this deadline
}

void Approvals::AnswerWaiters() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    std::vector<std::pair<WaitDone, Approval>> ready;
    auto next = std::chrono::steady_clock::time_point::max();
    const auto now = std::chrono::steady_clock::now();
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->deadline > now && PendingLocked(it->id)) {
        next = std::min(next, it->deadline);
        ++it;
        continue;
      }
      Approval approval = by_id_.at(it->id);  // approvals are never removed
      ExpireLocked(approval);
      ready.emplace_back(std::move(it->done), std::move(approval));
      it = waiters_.erase(it);
    }
    if (!ready.empty()) {
      lock.unlock();  // a callback answers a client: never under the lock
      for (auto& [done, approval] : ready) done(std::move(approval));
      lock.lock();
      continue;
    }
    if (next == std::chrono::steady_clock::time_point::max()) {
      changed_.wait(lock);
    } else {
      changed_.wait_until(lock, next);
    }
  }
}

Result<Approval> Approvals::Wait(const std::string& id, std::chrono::milliseconds timeout) const {
  std::mutex done_mutex;
  std::condition_variable done_changed;
  std::optional<Result<Approval>> answer;
  WaitAsync(id, timeout, [&](Result<Approval> result) {
    std::lock_guard<std::mutex> lock(done_mutex);
    answer = std::move(result);
    done_changed.notify_all();
  });
  std::unique_lock<std::mutex> lock(done_mutex);
  done_changed.wait(lock, [&] { return answer.has_value(); });
  return std::move(*answer);
}

}  // namespace writ::approvals
