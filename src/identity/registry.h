// The identity registry: creates identities, changes them, walks them through their lifecycle,
// and keeps every version. Each change is durable before the call returns, and is announced to
// listeners (token revocation, the audit ledger) after it is durable.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "identity/codec.h"
#include "identity/identity.h"

namespace writ::store {
class IdentityStore;
struct IdentityRecord;
}

namespace writ::identity {

struct RegistryOptions {
  std::string trust_domain = "writ.local";  // for SPIFFE IDs
  const Clock* clock = nullptr;             // borrowed; nullptr = SystemClock()
};

// Who changes something, and why. Recorded with the version.
struct ChangeContext {
  std::string author;  // a human's name, or "writd" for automatic changes
  std::string reason;  // free text, may be empty (bounded to 1024 characters)
};

// One entry of an identity's history.
struct Version {
  Identity identity;       // as it was after the change
  std::string change;      // "create", "update", "suspend", "resume", "revoke", "retire"
  std::string author;
  std::string reason;
  TimePoint changed_at;
};

struct ListOptions {
  Kind kind = Kind::kAgent;
  std::optional<State> state;
  std::optional<std::string> owner;
  std::optional<Tier> tier;
  std::string after;  // paging cursor: the last name of the previous page
  int64_t limit = 100;  // 1..1000
};

// Called after every durable change, on the caller's thread, with the new version.
using ChangeListener = std::function<void(const Version&)>;

// Thread-safe.
class Registry {
 public:
  // `store` is borrowed and must outlive the registry. Errors: kInvalidArgument for a bad trust domain.
  static Result<std::unique_ptr<Registry>> Create(store::IdentityStore& store, const RegistryOptions& options);

  // Registers `spec` (from ParseCreateRequest) as version 1, active.
  // Errors: kInvalidArgument for invalid fields or an unknown owner/group (the message names it);
  // kConflict if the name is taken in its kind; kUnavailable if the store failed.
  Result<Identity> CreateIdentity(Identity spec, const ChangeContext& context);

  // The latest version. Errors: kNotFound; kUnavailable; kDataLoss if the stored document is corrupt.
  // Every call asks the store for the latest record (so a store failure is an error, and a change
  // is seen at once); the JSON document is parsed once per version and kept (bounded), since a
  // decision reads its principal and the principal's groups.
  Result<Identity> Get(Kind kind, const std::string& name);

  // Latest versions matching `options`, ordered by name. Errors: kInvalidArgument for a bad limit.
  Result<std::vector<Identity>> List(const ListOptions& options);

  // Applies `patch` as a new version. `expected_version`, when given, must be the current version.
  // Errors: kNotFound; kInvalidArgument (bad owner/group); kConflict (version moved on);
  // kFailedPrecondition if the identity is retired (retired identities are frozen).
  Result<Identity> Update(Kind kind, const std::string& name, const IdentityPatch& patch, const ChangeContext& context,
                          std::optional<int64_t> expected_version = std::nullopt);

  // Moves the identity to `to` (suspend, resume, revoke, retire) as a new version.
  // Errors: kNotFound; kFailedPrecondition for an illegal transition (CheckTransition).
  Result<Identity> Transition(Kind kind, const std::string& name, State to, const ChangeContext& context);

  // Every version, oldest first. Errors: kNotFound if the identity never existed.
  Result<std::vector<Version>> History(Kind kind, const std::string& name);

  // Adds a listener for every later change. Not removable; add before serving.
  void AddListener(ChangeListener listener);

  const std::string& trust_domain() const { return options_.trust_domain; }

 private:
  Registry(store::IdentityStore& store, RegistryOptions options);
  Status CheckReferences(const Identity& identity);
  Result<Identity> Store(Identity identity, std::string_view change, const ChangeContext& context);
  // The identity of `record`, parsed once per stored document.
  Result<Identity> Decode(const store::IdentityRecord& record);
  const Clock& clock() const { return options_.clock != nullptr ? *options_.clock : SystemClock(); }

  store::IdentityStore& store_;
  RegistryOptions options_;
  // Parsed documents by "<kind>/<name>": a hit needs the same version and the same document text.
  struct Decoded {
    int64_t version = 0;
    std::string document;
    Identity identity;
  };
  static constexpr size_t kMaxDecoded = 4096;
  Mutex decoded_mu_;
  std::unordered_map<std::string, std::shared_ptr<const Decoded>> decoded_ WRIT_GUARDED_BY(decoded_mu_);
  Mutex listeners_mu_;
  std::vector<ChangeListener> listeners_ WRIT_GUARDED_BY(listeners_mu_);
};

}  // namespace writ::identity
