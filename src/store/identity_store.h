// Storage of the identity registry: every version of every identity (agent, human, group),
// append-only. The identity module owns the meaning of a record's document; the store keeps the
// few columns it filters on. A PostgreSQL backend implements the same interface.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace writ::store {

// One version of one identity.
struct IdentityRecord {
  std::string kind;      // "agent" | "human" | "group"
  std::string name;      // unique within kind
  int64_t version = 0;   // 1 for the creation, +1 for every change
  std::string state;     // lifecycle state after this change ("active", "suspended", ...)
  std::string owner;     // owning human (agents), else empty
  std::string tier;      // risk tier (agents), else empty
  std::string document;  // JSON of the identity at this version
  std::string change;    // what happened: "create", "update", "suspend", ...
  std::string author;    // who made the change
  std::string reason;    // why (may be empty)
  int64_t changed_at_ms = 0;
};

// "<kind>/<name>": one identity's key in the in-memory maps kept above the store (names never
// hold '/', identity::ValidateName).
inline std::string IdentityKey(std::string_view kind, std::string_view name) {
  std::string key;
  key.reserve(kind.size() + 1 + name.size());
  key.append(kind).push_back('/');
  key.append(name);
  return key;
}

struct IdentityQuery {
  std::string kind;                  // required
  std::optional<std::string> state;  // filters, all optional
  std::optional<std::string> owner;
  std::optional<std::string> tier;
  std::string after_name;            // paging cursor: names strictly greater than this
  int64_t limit = 100;               // at most this many, ordered by name
};

// Thread-safe. Every write returns only once durable.
class IdentityStore {
 public:
  virtual ~IdentityStore() = default;

  // Records version 1 of a new identity. Errors: kConflict if (kind, name) exists (in any state);
  // kInvalidArgument unless record.version == 1; kUnavailable on storage failure.
  virtual Status Create(const IdentityRecord& record) = 0;

  // Records version record.version, atomically checking that the latest stored version is
  // record.version - 1 (optimistic concurrency). Errors: kNotFound if the identity does not exist;
  // kConflict if another change got there first; kUnavailable on storage failure.
  virtual Status Append(const IdentityRecord& record) = 0;

  // The latest version, or nullopt if there is none. Errors: kUnavailable.
  virtual Result<std::optional<IdentityRecord>> Latest(const std::string& kind, const std::string& name) = 0;

  // Latest versions matching `query`, ordered by name. Errors: kUnavailable.
  virtual Result<std::vector<IdentityRecord>> List(const IdentityQuery& query) = 0;

  // Every version of one identity, oldest first; empty if it never existed. Errors: kUnavailable.
  virtual Result<std::vector<IdentityRecord>> History(const std::string& kind, const std::string& name) = 0;
};

}  // namespace writ::store
