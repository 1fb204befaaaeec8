#include "identity/registry.h"

#include <fmt/format.h>

#include "store/identity_store.h"

namespace writ::identity {
namespace {

constexpr size_t kMaxReasonLength = 1024;
constexpr int64_t kMaxListLimit = 1000;

std::string_view ChangeName(State to) {
  switch (to) {
    case State::kActive: return "resume";
    case State::kSuspended: return "suspend";
    case State::kRevoked: return "revoke";
    case State::kRetired: return "retire";
  }
  return "update";
}

Result<Version> ToVersion(const store::IdentityRecord& record) {
  WRIT_ASSIGN_OR_RETURN(Identity identity, ParseStoredDocument(record.document));
  identity.version = record.version;
  return Version{std::move(identity), record.change, record.author, record.reason, FromUnixMillis(record.changed_at_ms)};
}

}  // namespace

Registry::Registry(store::IdentityStore& store, RegistryOptions options) : store_(store), options_(std::move(options)) {}

Result<std::unique_ptr<Registry>> Registry::Create(store::IdentityStore& store, const RegistryOptions& options) {
  WRIT_RETURN_IF_ERROR(ValidateTrustDomain(options.trust_domain));
  return std::unique_ptr<Registry>(new Registry(store, options));
}

void Registry::AddListener(ChangeListener listener) {
  MutexLock lock(listeners_mu_);
  listeners_.push_back(std::move(listener));
}

Status Registry::CheckReferences(const Identity& identity) {
  if (identity.kind == Kind::kAgent) {
    WRIT_ASSIGN_OR_RETURN(const auto owner, store_.Latest("human", identity.owner));
    if (!owner) {
      return Fail(Code::kInvalidArgument,
                  fmt::format("owner `{}` is not a registered human; create it first with kind `human`", identity.owner));
    }
    if (owner->state == "retired" || owner->state == "revoked") {
      return Fail(Code::kInvalidArgument, fmt::format("owner `{}` is {} and cannot own agents", identity.owner, owner->state));
    }
  }
  for (const std::string& group : identity.groups) {
    if (identity.kind == Kind::kGroup && group == identity.name) {
      return Fail(Code::kInvalidArgument, fmt::format("group `{}` cannot contain itself", group));
    }
    WRIT_ASSIGN_OR_RETURN(const auto record, store_.Latest("group", group));
    if (!record) return Fail(Code::kInvalidArgument, fmt::format("group `{}` does not exist", group));
    if (record->state == "retired") return Fail(Code::kInvalidArgument, fmt::format("group `{}` is retired", group));
  }
  return Ok();
}

Result<Identity> Registry::Store(Identity identity, std::string_view change, const ChangeContext& context) {
  if (context.reason.size() > kMaxReasonLength) {
    return Fail(Code::kInvalidArgument, fmt::format("reason is longer than {} characters", kMaxReasonLength));
  }
  if (context.author.empty()) return Fail(Code::kInvalidArgument, "a change needs an author");
  const TimePoint now = clock().Now();
  identity.updated_at = now;
  if (identity.version == 1) identity.created_at = now;
  identity.spiffe_id = identity.kind == Kind::kAgent ? SpiffeId(options_.trust_domain, identity.kind, identity.name) : "";
  store::IdentityRecord record;
  record.kind = KindName(identity.kind);
  record.name = identity.name;
  record.version = identity.version;
  record.state = StateName(identity.state);
  record.owner = identity.owner;
  record.tier = identity.kind == Kind::kAgent ? std::string(TierName(identity.tier)) : "";
  record.document = json::Serialize(ToJson(identity));
  record.change = change;
  record.author = context.author;
  record.reason = context.reason;
  record.changed_at_ms = ToUnixMillis(now);
  if (identity.version == 1) {
    WRIT_RETURN_IF_ERROR(store_.Create(record));
  } else {
    WRIT_RETURN_IF_ERROR(store_.Append(record));
  }
  const Version version{identity, std::string(change), context.author, context.reason, now};
  std::vector<ChangeListener> listeners;
  {
    MutexLock lock(listeners_mu_);
    listeners = listeners_;
  }
  for (const ChangeListener& listener : listeners) listener(version);
  return identity;
}

Result<Identity> Registry::CreateIdentity(Identity spec, const ChangeContext& context) {
  WRIT_RETURN_IF_ERROR(ValidateName(spec.name));
  WRIT_RETURN_IF_ERROR(CheckReferences(spec));
  spec.state = State::kActive;
  spec.version = 1;
  return Store(std::move(spec), "create", context);
}

Result<Identity> Registry::Get(Kind kind, const std::string& name) {
  WRIT_RETURN_IF_ERROR(ValidateName(name));
  WRIT_ASSIGN_OR_RETURN(const auto record, store_.Latest(std::string(KindName(kind)), name));
  if (!record) return Fail(Code::kNotFound, fmt::format("{} `{}` not found", KindName(kind), name));
  return Decode(*record);
}

Result<Identity> Registry::Decode(const store::IdentityRecord& record) {
  std::string key = store::IdentityKey(record.kind, record.name);
  std::shared_ptr<const Decoded> known;
  {
    MutexLock lock(decoded_mu_);
    if (const auto found = decoded_.find(key); found != decoded_.end()) known = found->second;
  }
  if (known != nullptr && known->version == record.version && known->document == record.document) {
    return known->identity;
  }
  WRIT_ASSIGN_OR_RETURN(Identity identity, ParseStoredDocument(record.document));
  identity.version = record.version;
  auto decoded = std::make_shared<const Decoded>(Decoded{record.version, record.document, identity});
  MutexLock lock(decoded_mu_);
  const auto found = decoded_.find(key);
  if (found == decoded_.end()) {
    if (decoded_.size() >= kMaxDecoded) decoded_.erase(decoded_.begin());
    decoded_.emplace(std::move(key), std::move(decoded));
  } else if (found->second->version <= record.version) {
    found->second = std::move(decoded);
  }
  return identity;
}

Result<std::vector<Identity>> Registry::List(const ListOptions& options) {
  if (options.limit < 1 || options.limit > kMaxListLimit) {
    return Fail(Code::kInvalidArgument, fmt::format("limit must be between 1 and {}", kMaxListLimit));
  }
  store::IdentityQuery query;
  query.kind = KindName(options.kind);
  if (options.state) query.state = std::string(StateName(*options.state));
  query.owner = options.owner;
  if (options.tier) query.tier = std::string(TierName(*options.tier));
  query.after_name = options.after;
  query.limit = options.limit;
  WRIT_ASSIGN_OR_RETURN(const auto records, store_.List(query));
  std::vector<Identity> identities;
  identities.reserve(records.size());
  for (const auto& record : records) {
    WRIT_ASSIGN_OR_RETURN(Version version, ToVersion(record));
    identities.push_back(std::move(version.identity));
  }
  return identities;
}

Result<Identity> Registry::Update(Kind kind, const std::string& name, const IdentityPatch& patch,
                                  const ChangeContext& context, std::optional<int64_t> expected_version) {
  WRIT_ASSIGN_OR_RETURN(Identity identity, Get(kind, name));
  if (expected_version && *expected_version != identity.version) {
    return Fail(Code::kConflict, fmt::format("{} `{}` is at version {}, not {}", KindName(kind), name,
                                             identity.version, *expected_version));
  }
  if (identity.state == State::kRetired) {
    return Fail(Code::kFailedPrecondition, fmt::format("{} `{}` is retired and cannot change", KindName(kind), name));
  }
  ApplyPatch(patch, identity);
  WRIT_RETURN_IF_ERROR(CheckReferences(identity));
  ++identity.version;
  return Store(std::move(identity), "update", context);
}

Result<Identity> Registry::Transition(Kind kind, const std::string& name, State to, const ChangeContext& context) {
  WRIT_ASSIGN_OR_RETURN(Identity identity, Get(kind, name));
  const Status allowed = CheckTransition(identity.state, to);
  if (!allowed) {
    return Fail(Code::kFailedPrecondition, fmt::format("{} `{}`: {}", KindName(kind), name, allowed.error().message));
  }
  identity.state = to;
  ++identity.version;
  return Store(std::move(identity), ChangeName(to), context);
}

Result<std::vector<Version>> Registry::History(Kind kind, const std::string& name) {
  WRIT_RETURN_IF_ERROR(ValidateName(name));
  WRIT_ASSIGN_OR_RETURN(const auto records, store_.History(std::string(KindName(kind)), name));
  if (records.empty()) return Fail(Code::kNotFound, fmt::format("{} `{}` not found", KindName(kind), name));
  std::vector<Version> versions;
  versions.reserve(records.size());
  for (const auto& record : records) {
    WRIT_ASSIGN_OR_RETURN(Version version, ToVersion(record));
    versions.push_back(std::move(version));
  }
  return versions;
}

}  // namespace writ::identity
