// The embedded backend: every store interface on one SQLite database file (WAL, synchronous=FULL).
#pragma once
#include <memory>
#include <string>

#include "common/result.h"
#include "store/identity_store.h"
#include "store/policy_store.h"
#include "store/token_store.h"

namespace writ::store {

namespace sqlite {
class Database;
}

class SqliteStore {
 public:
  // Opens or creates `<path>` and applies pending migrations of every component.
  // Errors: kUnavailable if the file cannot be opened; kFailedPrecondition if it was written by a
  // newer writ (schema version above this binary's).
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  ~SqliteStore();

  IdentityStore& identities() { return *identities_; }
  PolicyStore& policies() { return *policies_; }
  TokenStore& tokens() { return *tokens_; }
  // The connection, for other components' SQLite backends (ledger). Lives as long as this store.
  sqlite::Database& database() { return *database_; }

 private:
  SqliteStore() = default;
  std::unique_ptr<sqlite::Database> database_;
  std::unique_ptr<IdentityStore> identities_;
  std::unique_ptr<PolicyStore> policies_;
  std::unique_ptr<TokenStore> tokens_;
};

}  // namespace writ::store
