// The latest record of each recently read or written identity, kept by the SQLite identity store
// (identity_store.cpp) so that a decision, which reads its principal and the principal's groups,
// costs no SQL and does not wait for the database's lock while the ledger commits.
//
// Rules (the store keeps them; see identity_store.cpp): writd is the only writer of its database,
// and every write goes through the store, which puts the committed record before Create/Append
// return, so a suspension or revocation is seen by the very next read; a write that fails drops its
// entry, so the next read goes to the database. Entries only move forward in version: a fill that
// read an older version never replaces a newer entry. Misses (not found) are not kept.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/mutex.h"
#include "store/identity_store.h"

namespace writ::store::sqlite {

// Thread-safe. Bounded: past `capacity` entries, an arbitrary one gives way.
class IdentityCache {
 public:
  static constexpr size_t kDefaultCapacity = 4096;
  explicit IdentityCache(size_t capacity = kDefaultCapacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // The kept record of (kind, name), or nullptr.
  std::shared_ptr<const IdentityRecord> Find(const std::string& kind, const std::string& name) WRIT_EXCLUDES(mu_);

  // Keeps `record` unless the entry already holds a newer version.
  void Put(const IdentityRecord& record) WRIT_EXCLUDES(mu_);

  // Forgets (kind, name).
  void Drop(const std::string& kind, const std::string& name) WRIT_EXCLUDES(mu_);

  size_t size() WRIT_EXCLUDES(mu_);

 private:
  const size_t capacity_;
  Mutex mu_;
  // Key: IdentityKey(kind, name).
  std::unordered_map<std::string, std::shared_ptr<const IdentityRecord>> entries_ WRIT_GUARDED_BY(mu_);
};

}  // namespace writ::store::sqlite
