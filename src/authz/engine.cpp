#include "authz/engine.h"

#include <exception>
#include <unordered_set>

#include <fmt/format.h>

#include "cedar/validator.h"
#include "identity/registry.h"
#include "store/policy_store.h"

namespace writ::authz {
namespace {

constexpr std::string_view kAgentType = "Writ::Agent";
constexpr std::string_view kHumanType = "Writ::Human";
constexpr std::string_view kGroupType = "Writ::Group";

// The Cedar entity of a registry identity (attributes per docs/authzen.md, groups as parents).
cedar::Entity ToEntity(const identity::Identity& identity, std::string_view type) {
  cedar::Entity entity;
  entity.uid = {std::string(type), identity.name};
  cedar::RecordFields attrs;
  attrs.emplace_back("name", cedar::Value::String(identity.name));
  attrs.emplace_back("state", cedar::Value::String(std::string(identity::StateName(identity.state))));
  cedar::RecordFields labels;
  for (const auto& [key, value] : identity.labels) labels.emplace_back(key, cedar::Value::String(value));
  attrs.emplace_back("labels", cedar::Value::Record(std::move(labels)));
  if (identity.kind == identity::Kind::kAgent) {
    attrs.emplace_back("owner", cedar::Value::Entity({std::string(kHumanType), identity.owner}));
    attrs.emplace_back("tier", cedar::Value::String(std::string(identity::TierName(identity.tier))));
    attrs.emplace_back("max_ttl", cedar::Value::Long(identity.max_ttl.count()));
  }
  if (!identity.spiffe_id.empty()) attrs.emplace_back("spiffe_id", cedar::Value::String(identity.spiffe_id));
  if (!identity.email.empty()) attrs.emplace_back("email", cedar::Value::String(identity.email));
  entity.attrs = cedar::Value::Record(std::move(attrs));
  for (const auto& group : identity.groups) entity.parents.push_back({std::string(kGroupType), group});
  return entity;
}

// Groups may belong to groups: loads the registry groups reachable from `groups`, breadth first,
// each once, at most kMaxRegistryGroups of them. A group the registry does not know is skipped (its
// uid still stands as a parent, as in Cedar); a store failure is an error, because a membership left
// out could hide a forbid.
constexpr size_t kMaxRegistryGroups = 256;

Status AddRegistryGroups(identity::Registry& registry, const std::vector<std::string>& groups,
                         std::vector<cedar::Entity>& out) {
  std::vector<std::string> queue(groups.begin(), groups.end());
  std::unordered_set<std::string> seen(groups.begin(), groups.end());
  for (size_t next = 0; next < queue.size(); ++next) {
    if (next == kMaxRegistryGroups) {
      return Fail(Code::kResourceExhausted,
                  fmt::format("the principal is in more than {} registry groups", kMaxRegistryGroups));
    }
    auto group = registry.Get(identity::Kind::kGroup, queue[next]);
    if (!group) {
      if (group.error().code == Code::kNotFound) continue;
      return Fail(group.error().code, fmt::format("identity store unavailable: {}", group.error().message));
    }
    for (const auto& parent : group->groups) {
      if (seen.insert(parent).second) queue.push_back(parent);
    }
    out.push_back(ToEntity(*group, kGroupType));
  }
  return Ok();
}

DecisionResult DenyWith(std::string reason, int64_t version) {
  DecisionResult result;
  result.outcome = Outcome::kDeny;
  result.reason = std::move(reason);
  result.policy_version = version;
  return result;
}

ledger::Decision ToLedgerDecision(Outcome outcome) {
  switch (outcome) {
    case Outcome::kAllow:
      return ledger::Decision::kAllow;
    case Outcome::kApprovalRequired:
      return ledger::Decision::kApprovalRequired;
    case Outcome::kDeny:
      break;
  }
  return ledger::Decision::kDeny;
}

VersionInfo InfoFrom(const store::PolicyVersionRecord& record) {
  return {record.version, record.content_hash, record.author, record.reason, FromUnixMillis(record.created_at_ms)};
}

// Strict validation against the set's schema (sets without a schema are not validated), then the
// optional extra hook. Errors: kFailedPrecondition naming the first validation error.
Status Validate(const PolicySource& source, const Snapshot& compiled, const ValidationHook& hook) {
  if (compiled.schema)
    WRIT_RETURN_IF_ERROR(cedar::CheckPolicySetValid(compiled.authorizer->policies(), *compiled.schema));
  if (hook) WRIT_RETURN_IF_ERROR(hook(source, compiled));
  return Ok();
}

// A `policy_changed` event about `version` with `details` (an object with at least "change").
ledger::Event PolicyChanged(const std::string& author, int64_t version, json::Value details) {
  ledger::Event event;
  event.kind = ledger::EventKind::kPolicyChanged;
  event.actor = author;
  event.policy_set_version = std::to_string(version);
  event.details = std::move(details);
  return event;
}

json::Value StringsJson(const std::vector<std::string>& ids) {
  json::Array out;
  out.reserve(ids.size());
  for (const auto& id : ids) out.emplace_back(id);
  return json::Value(std::move(out));
}

}  // namespace

// One staged version. Counters are atomics (bumped on the decision path, no lock); the list of
// recent disagreements takes a mutex, only when the two sets disagree.
struct Engine::Shadow {
  std::shared_ptr<const Snapshot> snapshot;
  std::string staged_by;
  TimePoint staged_at{};
  std::atomic<uint64_t> agreed{0};
  std::atomic<uint64_t> disagreed{0};
  mutable Mutex mu;
  std::vector<ShadowDisagreement> recent WRIT_GUARDED_BY(mu);  // ring of kShadowRecentKept
  size_t next WRIT_GUARDED_BY(mu) = 0;                         // ring write position once full
};

std::optional<identity::Kind> RegistryKind(std::string_view type) {
  if (type == kAgentType) return identity::Kind::kAgent;
  if (type == kHumanType) return identity::Kind::kHuman;
  if (type == kGroupType) return identity::Kind::kGroup;
  return std::nullopt;
}

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kAllow:
      return "allow";
    case Outcome::kApprovalRequired:
      return "approval_required";
    case Outcome::kDeny:
      break;
  }
  return "deny";
}

Engine::Engine(const EngineOptions& options) : options_(options), active_(EmptySnapshot()) {}
Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::Create(const EngineOptions& options) {
  if (options.store == nullptr) return Fail(Code::kInvalidArgument, "the decision engine needs a policy store");
  return std::unique_ptr<Engine>(new Engine(options));
}

Result<std::shared_ptr<const Snapshot>> Engine::CompileVersion(int64_t version) const {
  WRIT_ASSIGN_OR_RETURN(auto record, options_.store->GetVersion(version));
  if (!record) return Fail(Code::kNotFound, fmt::format("no policy set version {}", version));
  WRIT_ASSIGN_OR_RETURN(const json::Value files, json::Parse(record->source, {.max_bytes = kMaxSourceBytes * 2}));
  WRIT_ASSIGN_OR_RETURN(const PolicySource source, SourceFromJson(files));
  return Compile(source, InfoFrom(*record));
}

Status Engine::Load() {
  MutexLock lock(admin_mu_);
  WRIT_ASSIGN_OR_RETURN(const auto activations, options_.store->Activations());
  if (activations.empty()) return Ok();
  auto compiled = CompileVersion(activations.back().version);
  if (!compiled) {
    if (compiled.error().code == Code::kUnavailable) return Fail(compiled.error());
    return Fail(Code::kDataLoss, fmt::format("active policy set version {} no longer compiles: {}",
                                             activations.back().version, compiled.error().message));
  }
  active_.store(*compiled, std::memory_order_release);
  // A version staged before a restart is staged again (its counts start over).
  WRIT_ASSIGN_OR_RETURN(const auto staging, options_.store->Staging());
  if (!staging) return Ok();
  // Compiled as the active version is on load: it was validated when staged.
  auto staged = CompileVersion(staging->version);
  if (!staged) {
    if (staged.error().code == Code::kUnavailable) return Fail(staged.error());
    return Fail(Code::kDataLoss, fmt::format("staged policy set version {} no longer compiles: {}", staging->version,
                                             staged.error().message));
  }
  StageCompiled(std::move(*staged), staging->author, FromUnixMillis(staging->at_ms));
  return Ok();
}

void Engine::StageCompiled(std::shared_ptr<const Snapshot> compiled, const std::string& author, TimePoint at) {
  auto shadow = std::make_shared<Shadow>();
  shadow->snapshot = std::move(compiled);
  shadow->staged_by = author;
  shadow->staged_at = at;
  shadow_.store(std::move(shadow), std::memory_order_release);
  shadow_staged_.store(true, std::memory_order_release);
}

Result<VersionInfo> Engine::Apply(const PolicySource& source, const std::string& author, const std::string& reason) {
  MutexLock lock(admin_mu_);
  VersionInfo info{0, ContentHash(source), author, reason, clock().Now()};
  WRIT_ASSIGN_OR_RETURN(const auto compiled, Compile(source, info));
  WRIT_RETURN_IF_ERROR(Validate(source, *compiled, options_.validate));
  store::PolicyVersionRecord record{
      0, info.content_hash, author, reason, ToUnixMillis(info.created_at), json::Serialize(SourceToJson(source))};
  WRIT_ASSIGN_OR_RETURN(info.version, options_.store->AddVersion(record));
  WRIT_RETURN_IF_ERROR(RecordEvent(PolicyChanged(
      author, info.version,
      json::Object{
          {"change", "apply"}, {"version", info.version}, {"content_hash", info.content_hash}, {"reason", reason}})));
  return info;
}

Result<std::shared_ptr<const Snapshot>> Engine::CompileValidated(int64_t version) const {
  WRIT_ASSIGN_OR_RETURN(auto compiled, CompileVersion(version));
  if (compiled->schema) {
    WRIT_RETURN_IF_ERROR(cedar::CheckPolicySetValid(compiled->authorizer->policies(), *compiled->schema));
  }
  return compiled;
}

Result<VersionInfo> Engine::Activate(int64_t version, const std::string& author, const std::string& reason) {
  MutexLock lock(admin_mu_);
  WRIT_ASSIGN_OR_RETURN(const auto compiled, CompileValidated(version));
  WRIT_RETURN_IF_ERROR(RecordEvent(PolicyChanged(author, version,
                                                 json::Object{{"change", "activate"},
                                                              {"version", version},
                                                              {"previous", active_version()},
                                                              {"content_hash", compiled->info.content_hash},
                                                              {"reason", reason}})));
  WRIT_RETURN_IF_ERROR(options_.store->AddActivation({version, author, reason, ToUnixMillis(clock().Now())}));
  active_.store(compiled, std::memory_order_release);
  return compiled->info;
}

Result<VersionInfo> Engine::Rollback(const std::string& author, const std::string& reason) {
  int64_t target = 0;
  {
    WRIT_ASSIGN_OR_RETURN(const auto activations, options_.store->Activations());
    const int64_t current = active_version();
    for (auto it = activations.rbegin(); it != activations.rend(); ++it) {
      if (it->version != current) {
        target = it->version;
        break;
      }
    }
  }
  if (target == 0) return Fail(Code::kFailedPrecondition, "no earlier active policy set version to roll back to");
  return Activate(target, author, reason.empty() ? "rollback" : reason);
}

Result<VersionInfo> Engine::Stage(int64_t version, const std::string& author, const std::string& reason) {
  MutexLock lock(admin_mu_);
  WRIT_ASSIGN_OR_RETURN(auto compiled, CompileValidated(version));
  WRIT_RETURN_IF_ERROR(RecordEvent(PolicyChanged(author, version,
                                                 json::Object{{"change", "stage"},
                                                              {"version", version},
                                                              {"active", active_version()},
                                                              {"content_hash", compiled->info.content_hash},
                                                              {"reason", reason}})));
  const TimePoint now = clock().Now();
  WRIT_RETURN_IF_ERROR(options_.store->PutStaging(store::StagingRecord{version, author, reason, ToUnixMillis(now)}));
  const VersionInfo info = compiled->info;
  StageCompiled(std::move(compiled), author, now);
  return info;
}

Result<ShadowReport> Engine::Unstage(const std::string& author, const std::string& reason) {
  MutexLock lock(admin_mu_);
  ShadowReport report = shadow_report();
  if (!report.staged) return Fail(Code::kFailedPrecondition, "no policy set version is staged");
  WRIT_RETURN_IF_ERROR(RecordEvent(PolicyChanged(author, report.info.version,
                                                 json::Object{{"change", "unstage"},
                                                              {"version", report.info.version},
                                                              {"agreed", static_cast<int64_t>(report.agreed)},
                                                              {"disagreed", static_cast<int64_t>(report.disagreed)},
                                                              {"reason", reason}})));
  WRIT_RETURN_IF_ERROR(options_.store->PutStaging(std::nullopt));
  shadow_staged_.store(false, std::memory_order_release);
  shadow_.store(nullptr, std::memory_order_release);
  return report;
}

ShadowReport Engine::shadow_report() const {
  ShadowReport report;
  const std::shared_ptr<Shadow> shadow = shadow_.load(std::memory_order_acquire);
  if (shadow == nullptr) return report;
  report.staged = true;
  report.info = shadow->snapshot->info;
  report.staged_by = shadow->staged_by;
  report.staged_at = shadow->staged_at;
  report.agreed = shadow->agreed.load(std::memory_order_relaxed);
  report.disagreed = shadow->disagreed.load(std::memory_order_relaxed);
  MutexLock lock(shadow->mu);
  const size_t kept = shadow->recent.size();
  report.recent.reserve(kept);
  for (size_t i = 0; i < kept; ++i) report.recent.push_back(shadow->recent[(shadow->next + i) % kept]);
  return report;
}

json::Value ToJson(const ShadowReport& report) {
  json::Value out = json::Object{{"staged", report.staged}};
  if (!report.staged) return out;
  auto side = [](Outcome outcome, const std::vector<std::string>& ids) {
    return json::Value(json::Object{{"decision", OutcomeName(outcome)}, {"policy_ids", StringsJson(ids)}});
  };
  json::Array recent;
  for (const ShadowDisagreement& seen : report.recent) {
    recent.push_back(json::Object{{"time", FormatRfc3339(seen.time)},
                                  {"principal", seen.principal},
                                  {"action", seen.action},
                                  {"resource", seen.resource},
                                  {"correlation_id", seen.correlation_id},
                                  {"active", side(seen.active, seen.active_policy_ids)},
                                  {"shadow", side(seen.shadow, seen.shadow_policy_ids)}});
  }
  out.Set("version", report.info.version);
  out.Set("content_hash", report.info.content_hash);
  out.Set("staged_by", report.staged_by);
  out.Set("staged_at", FormatRfc3339(report.staged_at));
  out.Set("evaluated", static_cast<int64_t>(report.agreed + report.disagreed));
  out.Set("agreed", static_cast<int64_t>(report.agreed));
  out.Set("disagreed", static_cast<int64_t>(report.disagreed));
  out.Set("recent", std::move(recent));
  return out;
}

json::Value Engine::ShadowCompare(const DecisionRequest& request, const DecisionResult& active) const {
  if (!shadow_staged_.load(std::memory_order_relaxed)) return json::Value();
  const std::shared_ptr<Shadow> shadow = shadow_.load(std::memory_order_acquire);
  if (shadow == nullptr) return json::Value();
  const DecisionResult staged = Evaluate(request, *shadow->snapshot);
  if (staged.outcome == active.outcome) {
    shadow->agreed.fetch_add(1, std::memory_order_relaxed);
    return json::Value();
  }
  shadow->disagreed.fetch_add(1, std::memory_order_relaxed);
  ShadowDisagreement seen{clock().Now(),
                          cedar::ToString(request.principal),
                          cedar::ToString(request.action),
                          cedar::ToString(request.resource),
                          active.outcome,
                          staged.outcome,
                          active.policy_ids,
                          staged.policy_ids,
                          request.correlation_id};
  {
    MutexLock lock(shadow->mu);
    if (shadow->recent.size() < kShadowRecentKept) {
      shadow->recent.push_back(std::move(seen));
    } else {
      shadow->recent[shadow->next] = std::move(seen);
      shadow->next = (shadow->next + 1) % kShadowRecentKept;
    }
  }
  json::Value out = json::Object{{"version", staged.policy_version},
                                 {"decision", OutcomeName(staged.outcome)},
                                 {"policy_ids", StringsJson(staged.policy_ids)}};
  if (!staged.reason.empty()) out.Set("reason", staged.reason);
  return out;
}

Result<std::vector<VersionInfo>> Engine::List() const {
  WRIT_ASSIGN_OR_RETURN(const auto records, options_.store->ListVersions());
  std::vector<VersionInfo> out;
  out.reserve(records.size());
  for (const auto& record : records) out.push_back(InfoFrom(record));
  return out;
}

Result<PolicySource> Engine::Source(int64_t version) const {
  WRIT_ASSIGN_OR_RETURN(auto record, options_.store->GetVersion(version));
  if (!record) return Fail(Code::kNotFound, fmt::format("no policy set version {}", version));
  WRIT_ASSIGN_OR_RETURN(const json::Value files, json::Parse(record->source, {.max_bytes = kMaxSourceBytes * 2}));
  return SourceFromJson(files);
}

Status Engine::RecordEvent(ledger::Event event) const {
  if (options_.recorder == nullptr) return Ok();
  return options_.recorder->Record(std::move(event));
}

DecisionResult Engine::Decide(const DecisionRequest& request) const {
  const auto snapshot = this->snapshot();
  return Decide(request, *snapshot);
}

DecisionResult Engine::Evaluate(const DecisionRequest& request, const Snapshot& snapshot) const {
  try {
    return DecideUnchecked(request, snapshot);
  } catch (const std::exception& e) {
    return DenyWith(fmt::format("internal error while deciding: {}", e.what()), snapshot.info.version);
  } catch (...) {
    return DenyWith("internal error while deciding", snapshot.info.version);
  }
}

DecisionResult Engine::Decide(const DecisionRequest& request, const Snapshot& snapshot) const {
  DecisionResult result = Evaluate(request, snapshot);
  if (!request.record) return result;
  json::Value shadow = ShadowCompare(request, result);
  if (options_.recorder == nullptr) return result;
  ledger::Event event;
  event.kind = ledger::EventKind::kDecision;
  event.actor = cedar::ToString(request.principal);
  event.subject = event.actor;
  event.action = cedar::ToString(request.action);
  event.resource = cedar::ToString(request.resource);
  event.decision = ToLedgerDecision(result.outcome);
  event.policy_ids = result.policy_ids;
  event.policy_set_version = std::to_string(result.policy_version);
  event.correlation_id = request.correlation_id;
  if (!result.reason.empty() || !result.errors.empty() || !shadow.is_null()) {
    json::Value details = json::Object{};
    if (!result.reason.empty()) details.Set("reason", result.reason);
    if (!result.errors.empty()) details.Set("errors", StringsJson(result.errors));
    if (!shadow.is_null()) details.Set("shadow", std::move(shadow));
    event.details = std::move(details);
  }
  const Status recorded = options_.recorder->Record(std::move(event));
  if (!recorded) {
    // No action without a record: whatever the policies said, the answer is now a deny.
    return DenyWith(fmt::format("the decision could not be recorded: {}", recorded.error().message),
                    result.policy_version);
  }
  return result;
}

DecisionResult Engine::DecideUnchecked(const DecisionRequest& request, const Snapshot& snapshot) const {
  const int64_t version = snapshot.info.version;
  const std::vector<cedar::Entity>* extra = &request.entities;
  std::vector<cedar::Entity> with_registry;
  if (const auto kind = RegistryKind(request.principal.type); kind && *kind != identity::Kind::kGroup) {
    if (options_.registry == nullptr) return DenyWith("no identity registry to check the principal", version);
    auto identity = options_.registry->Get(*kind, request.principal.id);
    if (!identity) {
      if (identity.error().code == Code::kNotFound) {
        return DenyWith(fmt::format("unknown principal `{}`", cedar::ToString(request.principal)), version);
      }
      return DenyWith(fmt::format("identity store unavailable: {}", identity.error().message), version);
    }
    if (identity->state != identity::State::kActive) {
      return DenyWith(
          fmt::format("principal `{}` is {}", cedar::ToString(request.principal), identity::StateName(identity->state)),
          version);
    }
    with_registry = request.entities;
    with_registry.push_back(ToEntity(*identity, request.principal.type));
    if (auto groups = AddRegistryGroups(*options_.registry, identity->groups, with_registry); !groups) {
      return DenyWith(groups.error().message, version);
    }
    extra = &with_registry;
  }

  const cedar::Entities* entities = &snapshot.entities;
  // The request's entities over the shared snapshot, without copying it (O(request), not O(store)).
  cedar::Entities merged = cedar::Entities::Over(snapshot.entities);
  if (!extra->empty()) {
    for (const cedar::Entity& given : *extra) {
      cedar::Entity entity = given;
      if (const cedar::Entity* stored = snapshot.entities.Find(given.uid);
          stored != nullptr && stored->attrs.kind() == cedar::ValueKind::kRecord &&
          given.attrs.kind() == cedar::ValueKind::kRecord) {
        cedar::RecordFields fields = stored->attrs.as_record();
        for (const auto& field : given.attrs.as_record()) fields.push_back(field);  // given wins
        entity.attrs = cedar::Value::Record(std::move(fields));
      }
      merged.Add(std::move(entity), /*replace=*/true);
    }
    if (auto finalized = merged.Finalize(); !finalized) {
      return DenyWith(fmt::format("request entities refused: {}", finalized.error().message), version);
    }
    entities = &merged;
  }

  cedar::RecordFields context_fields;
  if (!request.context.is_null()) {
    if (!request.context.is_object()) return DenyWith("the request context must be an object", version);
    auto value = cedar::ValueFromJson(request.context);
    if (!value) return DenyWith(fmt::format("bad context: {}", value.error().message), version);
    if (value->kind() != cedar::ValueKind::kRecord) return DenyWith("the request context must be an object", version);
    context_fields = value->as_record();
  }
  cedar::ExtValue now{.kind = cedar::ExtKind::kDatetime, .num = ToUnixMillis(clock().Now())};
  cedar::RecordFields writ_fields{{"time", cedar::Value::Ext(now)}};
  if (request.caller.is_object()) {
    auto caller = cedar::ValueFromJson(request.caller);
    if (!caller) return DenyWith(fmt::format("bad caller claims: {}", caller.error().message), version);
    writ_fields.emplace_back("caller", std::move(*caller));
  }
  context_fields.emplace_back(std::string(kWritContextKey), cedar::Value::Record(std::move(writ_fields)));
  const cedar::Request cedar_request = cedar::Request::Make(request.principal, request.action, request.resource,
                                                            cedar::Value::Record(std::move(context_fields)));

  const cedar::Response response = snapshot.authorizer->Authorize(cedar_request, *entities);
  DecisionResult result;
  result.policy_version = version;
  result.policy_ids.reserve(response.reasons.size());
  for (const auto id : response.reasons) result.policy_ids.emplace_back(id);
  for (const auto& error : response.errors) {
    result.errors.push_back(
        fmt::format("policy `{}`: {}: {}", error.policy_id, cedar::ErrorKindName(error.kind), error.message));
  }
  if (response.decision == cedar::Decision::kAllow) {
    // Approval-required only when every satisfied permit asks for approval.
    const ApprovalSpec* spec = nullptr;
    bool all_need_approval = !result.policy_ids.empty();
    for (const auto& id : result.policy_ids) {
      auto it = snapshot.approval_policies.find(id);
      if (it == snapshot.approval_policies.end()) {
        all_need_approval = false;
        break;
      }
      if (spec == nullptr) spec = &it->second;
    }
    if (all_need_approval && spec != nullptr) {
      result.outcome = Outcome::kApprovalRequired;
      result.approval = *spec;
    } else {
      result.outcome = Outcome::kAllow;
    }
  } else {
    result.outcome = Outcome::kDeny;
    if (result.policy_ids.empty()) {
      result.reason = result.errors.empty() ? "no policy permits the request" : "policy evaluation failed";
    }
  }
  return result;
}

}  // namespace writ::authz
